/**
 * The agent's database part: open it (embedded PGlite or PostgreSQL), migrate, register this
 * device, close runs a crash left `running`. A PostgreSQL server that is merely unreachable at
 * start (refused, time-out) is no error: the agent gets a DeferredDatabase and runs from the
 * last-known-good config until `connectInBackground` (src/db/deferred-database.ts) attaches it.
 */
import os from 'node:os';
import type { LocalConfig } from '../config/local-config.js';
import type { ResticVersion } from '../restic/version.js';
import { markInterruptedRuns, migrate, upsertDevice, usesServer, type Database } from '../db/index.js';
import { isTransientConnectError } from '../db/db-errors.js';
import { DeferredDatabase } from '../db/deferred-database.js';
import { sharedRoleWarning } from '../db/shared-role.js';
import { AppError, errorMessage } from '../errors.js';
import type { Logger } from '../logging.js';
import { ownerGone } from '../runs/run-owner.js';
import { deviceMetadata } from './device-facts.js';

/** A run a crash left `running`, now marked interrupted (the scheduler owes its job one catch-up, C07). */
export type InterruptedRun = { id: number; jobId: string };

const INTERRUPTED_MESSAGE =
  'The agent stopped (crash, kill or power loss) while this backup ran; it will catch up once.';

export interface AgentDatabase {
  db: Database;
  /** Set when the server was unreachable at start: connect it in the background. */
  deferred: DeferredDatabase | null;
  /** Runs closed as interrupted by this start (empty while deferred). */
  interrupted: InterruptedRun[];
}

/**
 * Await `opening` (started by the caller, so it overlaps restic discovery) and prepare the
 * database. Throws DB_CONNECT / DB_LOCKED and migration errors as user errors; closes the
 * database when preparing it fails.
 */
export async function startDatabase(
  opening: Promise<Database>,
  local: LocalConfig,
  restic: { version: ResticVersion } | null,
  logger: Logger,
): Promise<AgentDatabase> {
  let db: Database;
  try {
    db = await opening;
  } catch (err) {
    if (!usesServer(local.database) || !isUnreachable(err)) throw err;
    logger.error(
      { err: errorMessage(err) },
      'database unreachable at start: running from the last-known-good config and connecting in the background',
    );
    const deferred = new DeferredDatabase('postgres', errorMessage(err));
    return { db: deferred, deferred, interrupted: [] };
  }
  try {
    return { db, deferred: null, interrupted: await prepareDatabase(db, local, restic, logger) };
  } catch (err) {
    await db.close();
    throw err;
  }
}

/** A failure to open PostgreSQL that is an outage (refused, time-out, server starting), not a config error. */
function isUnreachable(err: unknown): boolean {
  return (
    err instanceof AppError &&
    err.code === 'DB_CONNECT' &&
    err.cause !== undefined &&
    isTransientConnectError(err.cause)
  );
}

/** Migrate, register this device, close runs a crash left `running`; throws the database's error. */
export async function prepareDatabase(
  db: Database,
  local: LocalConfig,
  restic: { version: ResticVersion } | null,
  logger: Logger,
): Promise<InterruptedRun[]> {
  const migrated = await migrate(db);
  if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'database migrated');
  await upsertDevice(db, {
    id: local.device.id,
    name: local.device.name,
    platform: process.platform,
    hostname: os.hostname(),
    metadata: deviceMetadata(restic),
  });
  const shared = await sharedRoleWarning(db);
  if (shared) logger.warn(shared);
  // C33: a run whose owner still lives (a `rbackup2 backup` of this device) is left alone.
  const interrupted = await markInterruptedRuns(db, local.device.id, INTERRUPTED_MESSAGE, (o) => ownerGone(o));
  for (const r of interrupted)
    logger.warn(
      { runId: r.id, jobId: r.jobId, operation: r.operation },
      'run left running by a crash marked interrupted',
    );
  // Only an interrupted backup is caught up once (C07); a forget or check waits for its next turn.
  return interrupted.flatMap((r) => (r.operation === 'backup' && r.jobId ? [{ id: r.id, jobId: r.jobId }] : []));
}

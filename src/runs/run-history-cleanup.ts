/**
 * Run-history cleanup: finished `runs` rows older than `run_retention_days` (a device's own
 * setting, else the global one, else 90) are deleted about once a day, by ONE agent of the whole
 * fleet at a time.
 *
 * How one agent is chosen, on PostgreSQL and PGlite alike (plain SQL, no server feature beyond
 * advisory locks, which PGlite has too):
 * - every agent checks every `checkIntervalSeconds` (default 1 h), starting `firstDelaySeconds`
 *   after start;
 * - a check is one transaction that first takes `pg_try_advisory_xact_lock(RUN_HISTORY_CLEANUP_LOCK_KEY)`:
 *   an agent that does not get it skips (another one is cleaning up right now);
 * - then it reads the global settings row `retention_last_run`: its `updated_at` is when the
 *   history was last cleaned up (database clock). Not due yet -> skip. Due -> delete in bounded
 *   batches, then `UPDATE settings SET updated_at = now()` on that row and commit. That UPDATE
 *   changes only `updated_at`, which the config-change trigger ignores (migration 004): no
 *   config reload across the fleet.
 * - The marker row is created once (`INSERT ... ON CONFLICT DO NOTHING`; that one INSERT does
 *   bump the global config version). A role that may not insert into `settings` (backup_client,
 *   doc/roles.sql creates the row for it) falls back to "due on every check of this agent, one
 *   agent at a time", logged once.
 * Runs still `running` are never deleted. Invalid setting values (not a whole number 1..36500)
 * fall back to the global value, then 90 days.
 */
import { every, type Clock, type Repeating } from '../clock.js';
import { errorMessage } from '../errors.js';
import { tryAdvisoryXactLock } from '../db/advisory-lock.js';
import type { Database, Queryable } from '../db/database.js';
import { sqlState } from '../db/db-errors.js';
import { deleteExpiredRunsBatch } from '../db/queries/runs.js';
import {
  cleanupMarkerDue,
  hasGlobalSetting,
  insertCleanupMarker,
  RUN_HISTORY_CLEANUP_MARKER_KEY,
  touchSetting,
} from '../db/queries/settings.js';

/** Advisory lock key of the run-history cleanup (MIGRATION_LOCK_KEY + 1; any fixed bigint works). */
export const RUN_HISTORY_CLEANUP_LOCK_KEY = 72225873;
/** Global settings row whose `updated_at` records the last cleanup (key name kept: migration 006 and doc/grants.sql create the row). */
export { RUN_HISTORY_CLEANUP_MARKER_KEY };

/** The logger calls the cleanup makes (a pino Logger fits). */
export interface CleanupLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface CleanupOptions {
  /** Minimum seconds between two cleanups fleet-wide (default 86 400 = daily). */
  periodSeconds?: number;
  /** Rows per DELETE statement (default 5000). */
  batchSize?: number;
  /** DELETE statements per cleanup (default 100: at most 500 000 rows a day). */
  maxBatches?: number;
}

export interface CleanupResult {
  /** 'deleted': this call deleted (possibly 0 rows); 'busy': another agent holds the lock; 'not-due'. */
  outcome: 'deleted' | 'busy' | 'not-due';
  /** Rows deleted by this call. */
  deleted: number;
  /** False when the marker row is missing and could not be created (see module doc). */
  marker: boolean;
}

/** Create the marker row when missing; false when it is missing and may not be created (42501). */
export async function ensureCleanupMarker(db: Queryable): Promise<boolean> {
  if (await hasGlobalSetting(db, RUN_HISTORY_CLEANUP_MARKER_KEY)) return true;
  try {
    await insertCleanupMarker(db);
    return true;
  } catch (err) {
    if (isPermissionDenied(err)) return false;
    throw err;
  }
}

/**
 * One cleanup check (see the module doc). Throws AppError DB_QUERY when the database fails;
 * then nothing of this call is kept and the next check tries again.
 */
export async function deleteOldRuns(db: Database, opts: CleanupOptions = {}): Promise<CleanupResult> {
  const periodSeconds = Math.max(0, opts.periodSeconds ?? 86_400);
  const batchSize = Math.min(Math.max(Math.trunc(opts.batchSize ?? 5000), 1), 100_000);
  const maxBatches = Math.min(Math.max(Math.trunc(opts.maxBatches ?? 100), 1), 10_000);
  const marker = await ensureCleanupMarker(db);
  return db.transaction(async (tx) => {
    if (!(await tryAdvisoryXactLock(tx, RUN_HISTORY_CLEANUP_LOCK_KEY))) return { outcome: 'busy', deleted: 0, marker };
    const row = await cleanupMarkerDue(tx, periodSeconds);
    if (row && !row.due) return { outcome: 'not-due', deleted: 0, marker: true };
    let deleted = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await deleteExpiredRunsBatch(tx, batchSize);
      deleted += n;
      if (n < batchSize) break;
    }
    if (row) await touchSetting(tx, row.id);
    return { outcome: 'deleted', deleted, marker: row !== null };
  });
}

export interface RunHistoryCleanupOptions extends CleanupOptions {
  db: Database;
  clock: Clock;
  logger: CleanupLogger;
  /** Seconds between checks (default 3600; clamped to 1..86 400). */
  checkIntervalSeconds?: number;
  /** Seconds after start() before the first check (default 60). */
  firstDelaySeconds?: number;
}

/** The agent's run-history cleanup timer: start() schedules checks, stop() ends them (waits for one in flight). */
export class RunHistoryCleanup {
  private loop: Repeating | null = null;
  private stopped = false;
  private markerWarned = false;

  constructor(private readonly opts: RunHistoryCleanupOptions) {}

  /** Schedule the first check after firstDelaySeconds, then one every checkIntervalSeconds. */
  start(): void {
    if (this.stopped || this.loop) return;
    this.loop = every(
      this.opts.clock,
      () => clampInterval(this.opts.checkIntervalSeconds ?? 3600) * 1000,
      () => this.checkNow(),
      {
        firstDelayMs: Math.max(this.opts.firstDelaySeconds ?? 60, 0) * 1000,
      },
    );
  }

  /** Stop the timer; resolves when a check in progress has ended. Never throws. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop?.stop();
  }

  /** One check now (used by the timer and tests). Never throws: failures are logged. */
  async checkNow(): Promise<CleanupResult | null> {
    try {
      const r = await deleteOldRuns(this.opts.db, this.opts);
      if (!r.marker && !this.markerWarned) {
        this.markerWarned = true;
        this.opts.logger.info(
          { key: RUN_HISTORY_CLEANUP_MARKER_KEY },
          'run history cleanup: the settings row retention_last_run is missing and this database role may not create it; each agent cleans up on its own (see doc/roles.sql)',
        );
      }
      if (r.outcome === 'deleted')
        this.opts.logger.info({ deleted: r.deleted }, 'run history cleanup: old runs deleted');
      else this.opts.logger.debug({ outcome: r.outcome }, 'run history cleanup: nothing to do');
      return r;
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err) }, 'run history cleanup failed; retrying at the next check');
      return null;
    }
  }
}

function clampInterval(s: number): number {
  return Number.isFinite(s) ? Math.min(Math.max(s, 1), 86_400) : 3600;
}

function isPermissionDenied(err: unknown): boolean {
  return sqlState(err) === '42501' || sqlState((err as { cause?: unknown } | null)?.cause) === '42501';
}

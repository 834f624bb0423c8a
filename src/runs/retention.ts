/**
 * Run-history retention: finished `runs` rows older than `run_retention_days` (a device's own
 * setting, else the global one, else 90) are deleted about once a day, by ONE agent of the whole
 * fleet at a time.
 *
 * How one agent is chosen, on PostgreSQL and PGlite alike (plain SQL, no server feature beyond
 * advisory locks, which PGlite has too):
 * - every agent checks every `checkIntervalSeconds` (default 1 h), starting `firstDelaySeconds`
 *   after start;
 * - a check is one transaction that first takes `pg_try_advisory_xact_lock(RETENTION_LOCK_KEY)`:
 *   an agent that does not get it skips (another one is pruning right now);
 * - then it reads the global settings row `retention_last_run`: its `updated_at` is when the
 *   history was last pruned (database clock). Not due yet -> skip. Due -> delete in bounded
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
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Database, Queryable } from '../db/database.js';
import { sqlState } from '../db/db-errors.js';
import { RETENTION_MARKER_KEY } from '../db/queries/settings.js';

/** Advisory lock key of retention (MIGRATION_LOCK_KEY + 1; any fixed bigint works). */
export const RETENTION_LOCK_KEY = 72225873;
/** Global settings row whose `updated_at` records the last prune. */
export { RETENTION_MARKER_KEY };
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The logger calls retention makes (a pino Logger fits). */
export interface RetentionLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface PruneOptions {
  /** Minimum seconds between two prunes fleet-wide (default 86 400 = daily). */
  periodSeconds?: number;
  /** Rows per DELETE statement (default 5000). */
  batchSize?: number;
  /** DELETE statements per prune (default 100: at most 500 000 rows a day). */
  maxBatches?: number;
}

export interface PruneResult {
  /** 'pruned': this call deleted (possibly 0 rows); 'busy': another agent holds the lock; 'not-due'. */
  outcome: 'pruned' | 'busy' | 'not-due';
  /** Rows deleted by this call. */
  deleted: number;
  /** False when the marker row is missing and could not be created (see module doc). */
  marker: boolean;
}

const DELETE_BATCH_SQL = `
WITH days AS (
  SELECT device_id,
         CASE WHEN value ~ '^\\s*[0-9]{1,5}\\s*$' AND trim(value)::int BETWEEN 1 AND 36500 THEN trim(value)::int END AS d
  FROM settings WHERE key = 'run_retention_days'
), victims AS (
  SELECT r.id FROM runs r
  WHERE r.status <> 'running'
    AND r.start_time < now() - make_interval(days => COALESCE(
          (SELECT d FROM days WHERE days.device_id = r.device_id),
          (SELECT d FROM days WHERE days.device_id IS NULL),
          90))
  LIMIT $1
)
DELETE FROM runs WHERE id IN (SELECT id FROM victims)`;

/** Create the marker row when missing; false when it is missing and may not be created (42501). */
export async function ensureRetentionMarker(db: Queryable): Promise<boolean> {
  const { rows } = await db.query('SELECT id FROM settings WHERE device_id IS NULL AND key = $1', [RETENTION_MARKER_KEY]);
  if (rows.length > 0) return true;
  try {
    await db.query(
      `INSERT INTO settings (device_id, key, value, description, updated_at)
       VALUES (NULL, $1, '', 'Maintained by the agents: updated_at is when old run history was last deleted', '-infinity')
       ON CONFLICT (key) WHERE device_id IS NULL DO NOTHING`,
      [RETENTION_MARKER_KEY],
    );
    return true;
  } catch (err) {
    if (isPermissionDenied(err)) return false;
    throw err;
  }
}

/**
 * One retention check (see the module doc). Throws AppError DB_QUERY when the database fails;
 * then nothing of this call is kept and the next check tries again.
 */
export async function pruneRunHistory(db: Database, opts: PruneOptions = {}): Promise<PruneResult> {
  const periodSeconds = Math.max(0, opts.periodSeconds ?? 86_400);
  const batchSize = Math.min(Math.max(Math.trunc(opts.batchSize ?? 5000), 1), 100_000);
  const maxBatches = Math.min(Math.max(Math.trunc(opts.maxBatches ?? 100), 1), 10_000);
  const marker = await ensureRetentionMarker(db);
  return db.transaction(async (tx) => {
    const lock = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [RETENTION_LOCK_KEY]);
    if (lock.rows[0]?.ok !== true) return { outcome: 'busy', deleted: 0, marker };
    const m = await tx.query<{ id: number; due: boolean }>(
      'SELECT id, updated_at <= now() - make_interval(secs => $2) AS due FROM settings WHERE device_id IS NULL AND key = $1',
      [RETENTION_MARKER_KEY, periodSeconds],
    );
    const row = m.rows[0];
    if (row && row.due !== true) return { outcome: 'not-due', deleted: 0, marker: true };
    let deleted = 0;
    for (let i = 0; i < maxBatches; i++) {
      const { rowCount } = await tx.query(DELETE_BATCH_SQL, [batchSize]);
      deleted += rowCount;
      if (rowCount < batchSize) break;
    }
    if (row) await tx.query('UPDATE settings SET updated_at = now() WHERE id = $1', [row.id]);
    return { outcome: 'pruned', deleted, marker: row !== undefined };
  });
}

export interface RunRetentionOptions extends PruneOptions {
  db: Database;
  clock: Clock;
  logger: RetentionLogger;
  /** Seconds between checks (default 3600; clamped to 1..86 400). */
  checkIntervalSeconds?: number;
  /** Seconds after start() before the first check (default 60). */
  firstDelaySeconds?: number;
}

/** The agent's retention timer: start() schedules checks, stop() ends them (waits for one in flight). */
export class RunRetention {
  private cancelTimer: (() => void) | null = null;
  private inFlight: Promise<void> | null = null;
  private stopped = false;
  private markerWarned = false;

  constructor(private readonly opts: RunRetentionOptions) {}

  /** Schedule the first check after firstDelaySeconds, then one every checkIntervalSeconds. */
  start(): void {
    if (this.stopped || this.cancelTimer) return;
    this.schedule(this.opts.firstDelaySeconds ?? 60);
  }

  /** Stop the timer; resolves when a check in progress has ended. Never throws. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    await this.inFlight;
  }

  /** One check now (used by the timer and tests). Never throws: failures are logged. */
  async checkNow(): Promise<PruneResult | null> {
    try {
      const r = await pruneRunHistory(this.opts.db, this.opts);
      if (!r.marker && !this.markerWarned) {
        this.markerWarned = true;
        this.opts.logger.info({ key: RETENTION_MARKER_KEY }, 'run history retention: the settings row retention_last_run is missing and this database role may not create it; each agent prunes on its own (see doc/roles.sql)');
      }
      if (r.outcome === 'pruned') this.opts.logger.info({ deleted: r.deleted }, 'run history retention: old runs deleted');
      else this.opts.logger.debug({ outcome: r.outcome }, 'run history retention: nothing to do');
      return r;
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err) }, 'run history retention failed; retrying at the next check');
      return null;
    }
  }

  private schedule(seconds: number): void {
    const ms = Math.min(Math.max(seconds, 0) * 1000, MAX_TIMER_MS);
    this.cancelTimer = this.opts.clock.setTimer(() => {
      this.inFlight = this.checkNow().then(() => {
        this.inFlight = null;
        if (!this.stopped) this.schedule(clampInterval(this.opts.checkIntervalSeconds ?? 3600));
      });
    }, ms);
  }
}

function clampInterval(s: number): number {
  return Number.isFinite(s) ? Math.min(Math.max(s, 1), 86_400) : 3600;
}

function isPermissionDenied(err: unknown): boolean {
  return sqlState(err) === '42501' || sqlState((err as { cause?: unknown } | null)?.cause) === '42501';
}

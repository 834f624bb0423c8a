/**
 * Repository leases and the fleet's repository state (migration 011, issue 18). A lease is a row
 * with an owner and an expiry on the database's clock (one clock for the whole fleet), renewed
 * while the work runs; an expired row is dead. Every decision is taken in one short transaction
 * that first locks the repository's `repository_state` row (`SELECT ... FOR UPDATE`), so two agents
 * never both see "free": no session advisory lock, so it works behind a transaction-mode pooler and
 * survives a discarded connection.
 */
import type { Database, Queryable } from '../database.js';
import { toIso, toNumber, toStr } from '../rows.js';

export type LeaseMode = 'shared' | 'exclusive' | 'waiting';

export interface LeaseRequest {
  /** restic's repository id (`restic cat config`). */
  resticId: string;
  /** A name for people (the repository's name); stored in repository_state.name. */
  name: string;
  /** repositories.id when the repository has a row. */
  repositoryId: string | null;
  deviceId: string;
  /** Who holds it: `<host>:<pid>:<random>`; unique per lease holder. */
  owner: string;
  operation: string;
  /** Life without renewal, seconds. */
  seconds: number;
}

export interface Lease {
  id: number;
  resticId: string;
  mode: LeaseMode;
  operation: string;
  deviceId: string;
  owner: string;
  acquiredAt: string;
  expiresAt: string;
}

function mapLease(r: Record<string, unknown>): Lease {
  return {
    id: toNumber(r.id) ?? 0,
    resticId: String(r.restic_id),
    mode: String(r.mode) as LeaseMode,
    operation: String(r.operation),
    deviceId: String(r.device_id),
    owner: String(r.owner),
    acquiredAt: toIso(r.acquired_at) ?? '',
    expiresAt: toIso(r.expires_at) ?? '',
  };
}

/** Lock the repository's state row (creating it) and drop its dead leases; inside a transaction. */
async function lockRepository(tx: Queryable, req: LeaseRequest): Promise<void> {
  await tx.query(
    `INSERT INTO repository_state (restic_id, name, repository_id) VALUES ($1, $2, $3::uuid)
     ON CONFLICT (restic_id) DO UPDATE SET name = EXCLUDED.name,
       repository_id = COALESCE(EXCLUDED.repository_id, repository_state.repository_id)
     WHERE repository_state.name IS DISTINCT FROM EXCLUDED.name
        OR (EXCLUDED.repository_id IS NOT NULL AND repository_state.repository_id IS DISTINCT FROM EXCLUDED.repository_id)`,
    [req.resticId, req.name, req.repositoryId],
  );
  await tx.query('SELECT restic_id FROM repository_state WHERE restic_id = $1 FOR UPDATE', [req.resticId]);
  await tx.query('DELETE FROM repository_leases WHERE restic_id = $1 AND expires_at < now()', [req.resticId]);
}

async function insertLease(tx: Queryable, req: LeaseRequest, mode: LeaseMode): Promise<number> {
  const { rows } = await tx.query<{ id: unknown }>(
    `INSERT INTO repository_leases (restic_id, mode, operation, device_id, owner, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING id`,
    [req.resticId, mode, req.operation, req.deviceId, req.owner, req.seconds],
  );
  return toNumber(rows[0]?.id) ?? 0;
}

/** The result of an attempt: the lease's id, or the live leases in the way. */
export type LeaseAttempt = { ok: true; id: number } | { ok: false; blockers: Lease[] };

/**
 * Take a shared lease (a backup) unless a live exclusive or waiting lease of another owner exists;
 * with `force` take it anyway (the bounded wait is over: the backup runs). One transaction.
 */
export async function tryAcquireShared(db: Database, req: LeaseRequest, force = false): Promise<LeaseAttempt> {
  return db.transaction(async (tx) => {
    await lockRepository(tx, req);
    const { rows } = await tx.query(
      `SELECT * FROM repository_leases WHERE restic_id = $1 AND mode IN ('exclusive', 'waiting') AND owner <> $2 ORDER BY id`,
      [req.resticId, req.owner],
    );
    if (rows.length > 0 && !force) return { ok: false, blockers: rows.map(mapLease) };
    return { ok: true, id: await insertLease(tx, req, 'shared') };
  });
}

/**
 * Take the exclusive lease (prune, check, forget, unlock) when no other live lease exists. When
 * blocked, records (or renews) this owner's 'waiting' lease so new backups hold back, and returns
 * the blockers. On success the owner's waiting lease becomes the exclusive one. One transaction.
 */
export async function tryAcquireExclusive(db: Database, req: LeaseRequest): Promise<LeaseAttempt> {
  return db.transaction(async (tx) => {
    await lockRepository(tx, req);
    const { rows } = await tx.query(
      `SELECT * FROM repository_leases WHERE restic_id = $1 AND owner <> $2 AND mode IN ('shared', 'exclusive')
       ORDER BY id`,
      [req.resticId, req.owner],
    );
    const mine = await tx.query<{ id: unknown }>(
      `SELECT id FROM repository_leases WHERE restic_id = $1 AND owner = $2 AND mode = 'waiting'`,
      [req.resticId, req.owner],
    );
    const waitingId = toNumber(mine.rows[0]?.id);
    if (rows.length > 0) {
      if (waitingId === null) await insertLease(tx, req, 'waiting');
      else await renew(tx, waitingId, req.seconds);
      return { ok: false, blockers: rows.map(mapLease) };
    }
    if (waitingId !== null) {
      await tx.query(
        `UPDATE repository_leases SET mode = 'exclusive', acquired_at = now(), expires_at = now() + make_interval(secs => $2)
         WHERE id = $1`,
        [waitingId, req.seconds],
      );
      return { ok: true, id: waitingId };
    }
    return { ok: true, id: await insertLease(tx, req, 'exclusive') };
  });
}

async function renew(db: Queryable, id: number, seconds: number): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE repository_leases SET expires_at = now() + make_interval(secs => $2) WHERE id = $1 AND expires_at >= now()',
    [id, seconds],
  );
  return rowCount > 0;
}

/** Extend a live lease by `seconds` from now; false when it is gone or already expired (lost). */
export async function renewLease(db: Queryable, id: number, seconds: number): Promise<boolean> {
  return renew(db, id, seconds);
}

/** Drop a lease (work done, or a waiting lease given up). */
export async function releaseLease(db: Queryable, id: number): Promise<void> {
  await db.query('DELETE FROM repository_leases WHERE id = $1', [id]);
}

/** Drop every lease of `owner` (the waiting lease of a task that gave up). */
export async function releaseOwnerLeases(db: Queryable, owner: string): Promise<void> {
  await db.query('DELETE FROM repository_leases WHERE owner = $1', [owner]);
}

/** Live leases of a repository (all when resticId is null), oldest first. */
export async function liveLeases(db: Queryable, resticId: string | null): Promise<Lease[]> {
  const { rows } = await db.query(
    `SELECT * FROM repository_leases WHERE expires_at >= now() AND ($1::varchar IS NULL OR restic_id = $1) ORDER BY id`,
    [resticId],
  );
  return rows.map(mapLease);
}

export type MaintenanceOperation = 'prune' | 'check';

/**
 * Claim this period's prune or check of a repository for `deviceId`: succeeds when nobody claimed
 * it at or after `notBefore` (ISO). One device at a time maintains a repository fleet-wide:
 * whichever agent is due first claims, the others skip this period. Returns null on success, else
 * who claimed it and when.
 */
export async function claimMaintenance(
  db: Database,
  req: Pick<LeaseRequest, 'resticId' | 'name' | 'repositoryId' | 'deviceId'>,
  operation: MaintenanceOperation,
  notBefore: Date,
): Promise<{ by: string; at: string } | null> {
  const col = operation === 'prune' ? 'prune' : 'check';
  return db.transaction(async (tx) => {
    await lockRepository(tx, { ...req, owner: '', operation, seconds: 0 });
    const { rows } = await tx.query(
      `SELECT ${col}_claimed_at AS at, ${col}_claimed_by AS by FROM repository_state WHERE restic_id = $1`,
      [req.resticId],
    );
    const at = rows[0]?.at ? new Date(toIso(rows[0].at) ?? 0) : null;
    if (at && at.getTime() >= notBefore.getTime()) return { by: toStr(rows[0]?.by) ?? '?', at: at.toISOString() };
    await tx.query(
      `UPDATE repository_state SET ${col}_claimed_at = now(), ${col}_claimed_by = $2, updated_at = now() WHERE restic_id = $1`,
      [req.resticId, req.deviceId],
    );
    return null;
  });
}

/** Store a repository's size and snapshot count (restic stats --mode raw-data, after a prune). */
export async function recordRepositoryStats(
  db: Queryable,
  resticId: string,
  stats: { sizeBytes: number; snapshotCount: number },
): Promise<void> {
  await db.query(
    `UPDATE repository_state SET size_bytes = $2, snapshot_count = $3, stats_at = now(), updated_at = now() WHERE restic_id = $1`,
    [resticId, stats.sizeBytes, stats.snapshotCount],
  );
}

export interface RepositoryState {
  resticId: string;
  name: string;
  repositoryId: string | null;
  sizeBytes: number | null;
  snapshotCount: number | null;
  statsAt: string | null;
  pruneClaimedAt: string | null;
  pruneClaimedBy: string | null;
  checkClaimedAt: string | null;
  checkClaimedBy: string | null;
}

/** The state rows (all, or those of the given restic ids). */
export async function listRepositoryState(db: Queryable, resticIds?: readonly string[]): Promise<RepositoryState[]> {
  const { rows } = await db.query(
    `SELECT * FROM repository_state WHERE $1::varchar[] IS NULL OR restic_id = ANY($1::varchar[]) ORDER BY name, restic_id`,
    [resticIds ? [...resticIds] : null],
  );
  return rows.map((r) => ({
    resticId: String(r.restic_id),
    name: String(r.name),
    repositoryId: toStr(r.repository_id),
    sizeBytes: toNumber(r.size_bytes),
    snapshotCount: toNumber(r.snapshot_count),
    statsAt: toIso(r.stats_at),
    pruneClaimedAt: toIso(r.prune_claimed_at),
    pruneClaimedBy: toStr(r.prune_claimed_by),
    checkClaimedAt: toIso(r.check_claimed_at),
    checkClaimedBy: toStr(r.check_claimed_by),
  }));
}

export interface LastOperation {
  operation: string;
  status: string;
  startTime: string;
  endTime: string | null;
  deviceId: string;
  errorMessage: string | null;
  /** The latest success of this operation (ISO), or null. */
  lastSuccessAt: string | null;
}

/**
 * The latest forget, prune and check run of a repository (by restic id) with the time of the latest
 * success of each. Forgets are job runs: they count when they name the repository's restic id.
 */
export async function lastMaintenanceRuns(db: Queryable, resticId: string): Promise<LastOperation[]> {
  const { rows } = await db.query(
    `SELECT DISTINCT ON (operation) operation, status, start_time, end_time, device_id, error_message,
       (SELECT max(end_time) FROM runs s WHERE s.restic_repository_id = $1 AND s.operation = r.operation
          AND s.status = 'success') AS last_success
     FROM runs r WHERE restic_repository_id = $1 AND operation IN ('forget', 'prune', 'check')
     ORDER BY operation, start_time DESC, id DESC`,
    [resticId],
  );
  return rows.map((r) => ({
    operation: String(r.operation),
    status: String(r.status),
    startTime: toIso(r.start_time) ?? '',
    endTime: toIso(r.end_time),
    deviceId: String(r.device_id),
    errorMessage: toStr(r.error_message),
    lastSuccessAt: toIso(r.last_success),
  }));
}

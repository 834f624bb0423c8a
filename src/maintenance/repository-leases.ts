/**
 * Fleet-wide coordination of the work on one restic repository through database leases (issue 18
 * point 3; SQL in src/db/queries/leases.ts). restic 0.14 has no `--retry-lock`: a prune that meets
 * any backup's lock fails at once, and so does a backup that meets prune's lock. So:
 * - every backup holds a shared lease while it runs; it waits (bounded by `lease_wait_seconds`,
 *   then runs anyway) while an exclusive task holds or waits for the repository;
 * - a prune, check, forget or unlock takes the exclusive lease only when no other live lease
 *   exists; while it waits its 'waiting' lease holds new backups back, so it is not starved; it
 *   gives up after `lease_wait_seconds` (the run fails saying why, the next turn tries again);
 * - a lease is renewed every third of `lease_seconds`; an agent that dies leaves a lease that
 *   expires after `lease_seconds`;
 * - while the database is away no exclusive task starts (it fails saying so); a backup runs without
 *   a lease (backups never depend on the database).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import {
  releaseLease,
  releaseOwnerLeases,
  renewLease,
  tryAcquireExclusive,
  tryAcquireShared,
  type Lease,
  type LeaseRequest,
} from '../db/queries/leases.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging.js';

/** The repository a lease is about. */
export interface LeaseTarget {
  /** restic's repository id. */
  resticId: string;
  name: string;
  repositoryId: string | null;
}

export interface LeaseTimes {
  /** Life of a lease without renewal, seconds. */
  leaseSeconds: number;
  /** Longest wait for a lease, seconds. */
  leaseWaitSeconds: number;
}

export interface RepositoryLeasesOptions {
  db: Database;
  deviceId: string;
  clock: Clock;
  logger: Logger;
  times: () => LeaseTimes;
  /** How often a waiting task asks again, ms (default 2000). */
  pollMs?: number;
}

/** The outcome of an exclusive attempt. */
export type ExclusiveResult<T> = { ok: true; value: T } | { ok: false; reason: string };

function describe(blockers: readonly Lease[]): string {
  const parts = blockers.slice(0, 5).map((l) => `${l.operation} of device ${l.deviceId} (${l.mode})`);
  return parts.join(', ') + (blockers.length > 5 ? ` and ${blockers.length - 5} more` : '');
}

/**
 * Longest wait for one lease statement, seconds. A database that is away behind PgBouncer does not
 * refuse: the statement waits in the pooler's queue (query_wait_timeout, 120 s by default), which
 * must never hold a backup's start or its recorded outcome. Past this the backup goes on without
 * the lease (it expires by itself).
 */
export const LEASE_STATEMENT_SECONDS = 10;

/** `p`, or a rejection naming `what` after `seconds` on `clock`. */
function within<T>(clock: Clock, p: Promise<T>, seconds: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = clock.setTimer(
      () => reject(new Error(`${what}: no answer from the database within ${seconds} s`)),
      seconds * 1000,
    );
    p.then(
      (v) => {
        cancel();
        resolve(v);
      },
      (err: unknown) => {
        cancel();
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export class RepositoryLeases {
  private readonly pollMs: number;

  constructor(private readonly o: RepositoryLeasesOptions) {
    this.pollMs = Math.max(50, o.pollMs ?? 2000);
  }

  private request(target: LeaseTarget, operation: string): LeaseRequest {
    return {
      resticId: target.resticId,
      name: target.name,
      repositoryId: target.repositoryId,
      deviceId: this.o.deviceId,
      owner: `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      operation,
      seconds: this.o.times().leaseSeconds,
    };
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.o.clock.setTimer(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        cancel();
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Renew lease `id` every third of its life until the returned function is called. */
  private keepAlive(id: number, target: LeaseTarget): () => void {
    const seconds = this.o.times().leaseSeconds;
    let cancel: (() => void) | null = null;
    let stopped = false;
    const tick = () => {
      renewLease(this.o.db, id, seconds)
        .then((alive) => {
          if (!alive) this.o.logger.warn({ repository: target.name, lease: id }, 'repository lease lost (expired)');
        })
        .catch((err: unknown) =>
          this.o.logger.warn({ repository: target.name, err: errorMessage(err) }, 'repository lease not renewed'),
        )
        .finally(() => {
          if (!stopped) cancel = this.o.clock.setTimer(tick, (seconds * 1000) / 3);
        });
    };
    cancel = this.o.clock.setTimer(tick, (seconds * 1000) / 3);
    return () => {
      stopped = true;
      cancel?.();
    };
  }

  private async release(id: number, target: LeaseTarget): Promise<void> {
    await within(this.o.clock, releaseLease(this.o.db, id), LEASE_STATEMENT_SECONDS, 'lease release').catch(
      (err: unknown) =>
        this.o.logger.warn(
          { repository: target.name, err: errorMessage(err) },
          'repository lease not released (it expires)',
        ),
    );
  }

  /**
   * Run `fn` (a backup) under a shared lease of `target`. Waits while an exclusive task holds or
   * waits for the repository, at most `lease_wait_seconds`, then takes the lease anyway. When the
   * database cannot be reached the backup runs without a lease (logged). Resolves with fn's result.
   */
  async shared<T>(target: LeaseTarget, operation: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const req = this.request(target, operation);
    const deadline = this.o.clock.monotonic() + this.o.times().leaseWaitSeconds * 1000;
    let id: number | null = null;
    let logged = false;
    for (;;) {
      let attempt;
      try {
        attempt = await within(
          this.o.clock,
          tryAcquireShared(this.o.db, req, this.o.clock.monotonic() >= deadline),
          LEASE_STATEMENT_SECONDS,
          'shared lease',
        );
      } catch (err) {
        this.o.logger.warn(
          { repository: target.name, err: errorMessage(err) },
          'repository lease unavailable (database); the backup runs without one',
        );
        break;
      }
      if (attempt.ok) {
        id = attempt.id;
        break;
      }
      if (!logged)
        this.o.logger.info(
          { repository: target.name, blockers: describe(attempt.blockers) },
          'backup waits for a repository maintenance task',
        );
      logged = true;
      if (signal.aborted) break;
      await this.sleep(this.pollMs, signal);
    }
    if (id === null) return fn();
    const stop = this.keepAlive(id, target);
    try {
      return await fn();
    } finally {
      stop();
      await this.release(id, target);
    }
  }

  /**
   * Run `fn` (prune, check, forget, unlock) under the exclusive lease of `target`, waiting at most
   * `lease_wait_seconds` for the live leases of others to end. Resolves `{ok: false, reason}`
   * without running fn when the wait is over, the signal aborts, or the database is away.
   */
  async exclusive<T>(
    target: LeaseTarget,
    operation: string,
    signal: AbortSignal,
    fn: () => Promise<T>,
  ): Promise<ExclusiveResult<T>> {
    const req = this.request(target, operation);
    const waitSeconds = this.o.times().leaseWaitSeconds;
    const deadline = this.o.clock.monotonic() + waitSeconds * 1000;
    let id: number | null = null;
    let blockers: Lease[] = [];
    try {
      for (;;) {
        const attempt = await tryAcquireExclusive(this.o.db, req);
        if (attempt.ok) {
          id = attempt.id;
          break;
        }
        blockers = attempt.blockers;
        if (signal.aborted || this.o.clock.monotonic() >= deadline) break;
        await this.sleep(this.pollMs, signal);
      }
    } catch (err) {
      await this.releaseOwner(req, target);
      return { ok: false, reason: `the database is unavailable, so no ${operation} starts (${errorMessage(err)})` };
    }
    if (id === null) {
      await this.releaseOwner(req, target);
      if (signal.aborted) return { ok: false, reason: `${operation} cancelled while waiting for the repository` };
      return {
        ok: false,
        reason: `repository "${target.name}" stayed busy for ${waitSeconds} s (lease_wait_seconds): ${describe(blockers)}; ${operation} did not start`,
      };
    }
    const stop = this.keepAlive(id, target);
    try {
      return { ok: true, value: await fn() };
    } finally {
      stop();
      await this.release(id, target);
    }
  }

  private async releaseOwner(req: LeaseRequest, target: LeaseTarget): Promise<void> {
    await within(
      this.o.clock,
      releaseOwnerLeases(this.o.db, req.owner),
      LEASE_STATEMENT_SECONDS,
      'lease release',
    ).catch((err: unknown) =>
      this.o.logger.debug({ repository: target.name, err: errorMessage(err) }, 'waiting lease not released'),
    );
  }
}

/**
 * Repository leases, fleet claims and repository state (migration 011, src/db/queries/leases.ts,
 * src/maintenance/repository-leases.ts) on PostgreSQL and PGlite: a shared lease blocks the
 * exclusive one (which then waits as 'waiting' and holds new backups back), leases expire on the
 * database clock, one claim per turn, and with the database gone no exclusive task starts while a
 * backup runs without a lease.
 */
import { beforeAll, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { migrate } from '../../src/db/migrate.js';
import {
  claimMaintenance,
  liveLeases,
  listRepositoryState,
  recordRepositoryStats,
  releaseLease,
  tryAcquireExclusive,
  tryAcquireShared,
  type LeaseRequest,
} from '../../src/db/queries/leases.js';
import { silentLogger } from '../../src/logging.js';
import { RepositoryLeases } from '../../src/maintenance/repository-leases.js';
import { forEachDatabase } from '../helpers/databases.js';
import type { Database } from '../../src/db/database.js';

const RID = 'a'.repeat(64);
const req = (owner: string, operation: string, seconds = 60): LeaseRequest => ({
  resticId: RID,
  name: 'shared',
  repositoryId: null,
  deviceId: `dev-${owner}`,
  owner,
  operation,
  seconds,
});

forEachDatabase('repository leases', (getDb) => {
  beforeAll(async () => {
    await migrate(getDb());
  });

  it('a live shared lease blocks the exclusive one, which waits and then holds new backups back', async () => {
    const db = getDb();
    const b1 = await tryAcquireShared(db, req('backup-1', 'backup'));
    expect(b1.ok).toBe(true);
    const p = await tryAcquireExclusive(db, req('prune-1', 'prune'));
    expect(p).toMatchObject({
      ok: false,
      blockers: [{ mode: 'shared', operation: 'backup', deviceId: 'dev-backup-1' }],
    });
    expect((await liveLeases(db, RID)).map((l) => l.mode).sort()).toEqual(['shared', 'waiting']);
    // A new backup now waits for the waiting prune (it is not starved) ...
    const b2 = await tryAcquireShared(db, req('backup-2', 'backup'));
    expect(b2).toMatchObject({ ok: false, blockers: [{ mode: 'waiting', operation: 'prune' }] });
    // ... unless its bounded wait is over: then it runs anyway.
    const forced = await tryAcquireShared(db, req('backup-3', 'backup'), true);
    expect(forced.ok).toBe(true);
    if (b1.ok) await releaseLease(db, b1.id);
    if (forced.ok) await releaseLease(db, forced.id);
    const p2 = await tryAcquireExclusive(db, req('prune-1', 'prune'));
    expect(p2.ok).toBe(true);
    expect((await liveLeases(db, RID)).map((l) => `${l.mode}:${l.owner}`)).toEqual(['exclusive:prune-1']);
    // Exclusive held: a check of another device and backups are blocked.
    expect((await tryAcquireExclusive(db, req('check-1', 'check'))).ok).toBe(false);
    expect((await tryAcquireShared(db, req('backup-4', 'backup'))).ok).toBe(false);
    if (p2.ok) await releaseLease(db, p2.id);
    await db.query('DELETE FROM repository_leases');
  });

  it('a lease that is not renewed expires on the database clock (a dead agent blocks nobody for long)', async () => {
    const db = getDb();
    const dead = await tryAcquireExclusive(db, req('dead-agent', 'prune', 1));
    expect(dead.ok).toBe(true);
    expect((await tryAcquireShared(db, req('backup-5', 'backup'))).ok).toBe(false);
    await new Promise((r) => setTimeout(r, 1500));
    const b = await tryAcquireShared(db, req('backup-5', 'backup'));
    expect(b.ok).toBe(true);
    expect((await liveLeases(db, RID)).map((l) => l.owner)).toEqual(['backup-5']);
    await db.query('DELETE FROM repository_leases');
  });

  it('one claim per turn: the first device due claims, the others skip until the next turn', async () => {
    const db = getDb();
    const repo = { resticId: RID, name: 'shared', repositoryId: null };
    const t0 = new Date(Date.now() - 30_000);
    expect(await claimMaintenance(db, { ...repo, deviceId: 'dev-a' }, 'prune', t0)).toBeNull();
    expect(await claimMaintenance(db, { ...repo, deviceId: 'dev-b' }, 'prune', t0)).toMatchObject({ by: 'dev-a' });
    // The check is its own turn.
    expect(await claimMaintenance(db, { ...repo, deviceId: 'dev-b' }, 'check', t0)).toBeNull();
    // Next turn: the claim is older than its notBefore.
    expect(await claimMaintenance(db, { ...repo, deviceId: 'dev-b' }, 'prune', new Date(Date.now() + 1000))).toBeNull();
    await recordRepositoryStats(db, RID, { sizeBytes: 12345, snapshotCount: 7 });
    const [st] = await listRepositoryState(db, [RID]);
    expect(st).toMatchObject({ sizeBytes: 12345, snapshotCount: 7, pruneClaimedBy: 'dev-b', checkClaimedBy: 'dev-b' });
  });

  it('RepositoryLeases: exclusive waits for a backup to end; without the database no exclusive task starts', async () => {
    const db = getDb();
    const leases = (d: Database, device: string) =>
      new RepositoryLeases({
        db: d,
        deviceId: device,
        clock: systemClock,
        logger: silentLogger(),
        times: () => ({ leaseSeconds: 10, leaseWaitSeconds: 20 }),
        pollMs: 50,
      });
    const target = { resticId: RID, name: 'shared', repositoryId: null };
    const order: string[] = [];
    let endBackup: () => void = () => undefined;
    const backup = leases(db, 'dev-a').shared(target, 'backup', new AbortController().signal, async () => {
      order.push('backup start');
      await new Promise<void>((r) => (endBackup = r));
      order.push('backup end');
    });
    await expect.poll(() => order).toEqual(['backup start']); // the backup holds its lease
    const prune = leases(db, 'dev-b').exclusive(target, 'prune', new AbortController().signal, async () => {
      order.push('prune');
      return 'pruned';
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(order).toEqual(['backup start']);
    endBackup();
    await backup;
    expect(await prune).toEqual({ ok: true, value: 'pruned' });
    expect(order).toEqual(['backup start', 'backup end', 'prune']);
    expect(await liveLeases(db, RID)).toEqual([]);

    const gone = {
      kind: db.kind,
      query: () => Promise.reject(new Error('connection refused')),
      transaction: () => Promise.reject(new Error('connection refused')),
      listen: () => Promise.reject(new Error('connection refused')),
      close: () => Promise.resolve(),
    } as unknown as Database;
    let ran = false;
    const r = await leases(gone, 'dev-b').exclusive(target, 'prune', new AbortController().signal, async () => {
      ran = true;
    });
    expect(ran).toBe(false);
    expect(r).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/database is unavailable, so no prune starts/),
    });
    expect(await leases(gone, 'dev-a').shared(target, 'backup', new AbortController().signal, async () => 'ran')).toBe(
      'ran',
    );
  });
});

/**
 * Issue 8 fault injection around restic and its repository while the agent runs a 3-s interval
 * job: the restic binary disappears (client.restic_binary is a wrapper script the test deletes),
 * the repository folder is deleted, the repository password is changed (`restic key passwd`). Each
 * failing run is recorded `failed` with a reason, and runs succeed again once the fault is repaired.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentProcess } from '../helpers/agent-process.js';
import { RESTIC, finishedCount, restic, sql, waitFinished } from './harness.js';
import { faultSuite, describeCounts, expectConsistent, readLedger, type Ledger } from './ledger.js';

const { table, scenario } = faultSuite('Fault injection — restic and the repository');

/** ok -> fault -> repaired: at least one success, then >= 2 failures, then a success again. */
async function faultCycle(a: AgentProcess, inject: () => Promise<void>, repair: () => Promise<void>): Promise<void> {
  await waitFinished([a], 1, 'success', 90_000);
  await inject();
  const failedBefore = finishedCount([a], 'failed');
  await waitFinished([a], failedBefore + 2, 'failed', 90_000);
  await repair();
  const ok = finishedCount([a], 'success');
  await waitFinished([a], ok + 1, 'success', 90_000);
  expect((await a.stop('SIGTERM', 60_000)).code).toBe(0);
}

/** Rows equal the logged outcomes; the order is success.., failed.., success..; failures say why. */
function expectShape(l: Ledger, reason: RegExp): void {
  const logged: Record<string, number> = {};
  for (const x of l.logged) logged[x.status] = (logged[x.status] ?? 0) + 1;
  expect(l.counts, describeCounts(l.counts)).toEqual(logged);
  const seq = l.runs.map((r) => r.status[0]).join('');
  expect(seq).toMatch(/^s+f{2,}s+$/);
  for (const r of l.runs.filter((x) => x.status === 'failed')) {
    expect(r.snapshot_id).toBeNull();
    expect(r.error_message ?? '').toMatch(reason);
  }
}

describe('fault injection: restic and the repository', () => {
  it('the restic binary removed (wrapper deleted) and put back: failed runs recorded with the reason, then success', async () => {
    const s = await scenario();
    await s.addJob({ name: 'no-restic', intervalSeconds: 3 });
    const wrapper = path.join(s.dir, 'bin', 'restic');
    fs.mkdirSync(path.dirname(wrapper));
    const install = () => fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${RESTIC} "$@"\n`, { mode: 0o755 });
    install();
    await s.writeConfig({ resticBinary: wrapper });
    const a = await s.startAgent();
    await faultCycle(
      a,
      async () => fs.rmSync(wrapper),
      async () => install(),
    );
    const l = await readLedger(s, [a]);
    table.add('restic binary removed', describeCounts(l.counts), l);
    expectShape(l, /restic|ENOENT|not found|no such file/i);
    await expectConsistent(s, l);
  }, 300_000);

  it('the repository deleted, then created again: failed runs recorded, then success in the new repository', async () => {
    const s = await scenario();
    await s.addJob({ name: 'repo-gone', intervalSeconds: 3 });
    await s.writeConfig();
    const a = await s.startAgent();
    let oldSnapshots: string[] = [];
    await faultCycle(
      a,
      async () => {
        oldSnapshots = (await readLedger(s, [])).runs.map((r) => r.snapshot_id!).filter(Boolean);
        fs.rmSync(s.repo, { recursive: true, force: true });
      },
      async () => {
        await restic(s.repo, s.password, ['init']);
      },
    );
    const l = await readLedger(s, [a]);
    table.add('repository deleted', describeCounts(l.counts), l);
    expectShape(l, /repository|does not exist|no such file|not found/i);
    // Snapshots made before the deletion went with it; every later success is in the new repository.
    const gone = new Set(
      l.runs
        .filter((r) => r.status === 'success')
        .map((r) => r.snapshot_id!)
        .filter((id) => !l.snapshots.some((x) => x.short_id === id)),
    );
    expect(oldSnapshots.length).toBeGreaterThan(0);
    for (const id of gone) expect(oldSnapshots).toContain(id);
    await expectConsistent(s, { ...l, runs: l.runs.filter((r) => !gone.has(r.snapshot_id ?? '')) });
  }, 300_000);

  it('the repository password changed (restic key passwd), then the stored one updated: failed runs, then success', async () => {
    const s = await scenario();
    await s.addJob({ name: 'new-password', intervalSeconds: 3 });
    await s.writeConfig();
    const a = await s.startAgent();
    const newPassword = `${s.password}-rotated`;
    await faultCycle(
      a,
      async () => {
        const file = path.join(s.dir, 'new-password');
        fs.writeFileSync(file, newPassword, { mode: 0o600 });
        await restic(s.repo, s.password, ['key', 'passwd', '--new-password-file', file]);
        s.password = newPassword;
      },
      async () => {
        await sql(s.dbUrl, 'UPDATE repositories SET password = $1, updated_at = now() WHERE url = $2', [
          newPassword,
          s.repo,
        ]);
      },
    );
    const l = await readLedger(s, [a]);
    table.add('repository password changed', describeCounts(l.counts), l);
    expectShape(l, /password|key/i);
    for (const r of l.runs) expect(r.error_message ?? '').not.toContain(newPassword);
    await expectConsistent(s, l);
  }, 300_000);
});

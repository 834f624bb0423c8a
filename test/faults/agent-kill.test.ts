/**
 * Issue 8 fault injection on the agent process itself: SIGKILL in the middle of a backup (power
 * cut: agent and restic die together), SIGKILL at random moments of a burst of short runs (so
 * sooner or later inside a journal or database write), and SIGTERM during a backup (graceful: the
 * backup finishes within client.shutdown_timeout_seconds, or is cancelled after it).
 */
import { describe, expect, it } from 'vitest';
import type { AgentProcess } from '../helpers/agent-process.js';
import { finishedCount, sleep, sql, waitFinished, waitGroupGone } from './harness.js';
import { faultSuite, describeCounts, expectConsistent, readLedger, repoLocks } from './ledger.js';

const { procs, table, scenario } = faultSuite('Fault injection — agent killed or stopped');

describe('fault injection: the agent process', () => {
  it('C17 SIGKILL in the middle of a backup, then started again: interrupted + one catch-up success, stale lock cleared', async () => {
    const s = await scenario();
    const job = await s.addJob({ name: 'big', intervalSeconds: null, resticArgs: ['--limit-upload', '3072'] });
    s.addRandomData(job, 24);
    await s.writeConfig();
    const first = await s.startAgent();
    await s.trigger(job);
    await s.waitRunning(job, 0.2);
    first.killGroup();
    await first.exited;
    await waitGroupGone(first.pid, undefined, first.killedDescendants);
    expect(await repoLocks(s)).toHaveLength(1); // restic died holding its lock
    const second = await s.startAgent();
    await waitFinished([second], 1, undefined, 120_000);
    expect((await second.stop('SIGTERM', 60_000)).code).toBe(0);
    const l = await readLedger(s, [first, second]);
    table.add('SIGKILL mid-backup, restart', '1 interrupted + 1 success (catch-up)', l);
    expect(l.counts, describeCounts(l.counts)).toEqual({ interrupted: 1, success: 1 });
    expect(l.runs.map((r) => r.triggered_by)).toEqual(['manual', 'missed']);
    await expectConsistent(s, l);
  }, 300_000);

  it('C17 SIGKILL at 12 random moments of a burst of short runs: every finished run recorded exactly once, killed ones interrupted', async () => {
    const s = await scenario();
    for (const name of ['burst-a', 'burst-b', 'burst-c']) await s.addJob({ name, intervalSeconds: 1 });
    await sql(s.dbUrl, "INSERT INTO settings (device_id, key, value) VALUES ($1, 'max_concurrent_backups', '3')", [
      s.deviceId,
    ]);
    await s.writeConfig();
    const agents: AgentProcess[] = [];
    const kills: number[] = [];
    for (let i = 0; i < 12; i++) {
      const a = procs.startAgent(s.configPath, ['run']);
      agents.push(a);
      await a.waitForLog('rbackup2 agent started', 120_000);
      // Wait for 0-2 finished backups, then a random moment of the next cycle (restic runs, the
      // outcome goes to the journal, then the database): over 12 kills every phase gets hit.
      await waitFinished([a], i % 3, undefined, 90_000);
      const ms = Math.floor(Math.random() * 2000);
      kills.push(ms);
      await sleep(ms);
      a.killGroup();
      await a.exited;
      await waitGroupGone(a.pid, undefined, a.killedDescendants);
    }
    // One backup at a time for the last agent: stale locks of the killed restics are removed only
    // while no other restic of this agent works on the repository (src/backup/locks.ts).
    await sql(s.dbUrl, "UPDATE settings SET value = '1' WHERE device_id = $1 AND key = 'max_concurrent_backups'", [
      s.deviceId,
    ]);
    const last = procs.startAgent(s.configPath, ['run']);
    agents.push(last);
    await last.waitForLog('rbackup2 agent started', 120_000);
    const before = finishedCount([last]);
    await waitFinished([last], before + 3, undefined, 120_000);
    expect((await last.stop('SIGTERM', 60_000)).code).toBe(0);
    const l = await readLedger(s, agents);
    const finished = l.logged.length;
    const interrupted = l.counts.interrupted ?? 0;
    // Snapshots restic saved in the instant before a kill, before the agent could note the id:
    // each must belong to a job with a run recorded interrupted (the run itself is not lost).
    const unlinked = l.orphanSnapshots.length;
    table.add(
      'SIGKILL x12 during bursts (journal writes)',
      `${finished} finished logged + <= ${12 * 3} interrupted`,
      { ...l, lost: l.lost - unlinked },
      `kills ${kills.join(', ')} ms after 0-2 finished runs; ${interrupted} interrupted; ${unlinked} snapshot(s) saved just before a kill and recorded as interrupted runs without their id`,
    );
    expect(l.counts.running ?? 0).toBe(0);
    expect(interrupted).toBeLessThanOrEqual(12 * 3);
    expect(l.runs.length).toBeGreaterThanOrEqual(finished);
    expect(unlinked).toBeLessThanOrEqual(interrupted);
    expect(l.lost - unlinked, JSON.stringify(l.logged)).toBe(0);
    expect(l.duplicates).toBe(0);
    const statuses = new Set(Object.keys(l.counts));
    for (const st of statuses) expect(['success', 'interrupted']).toContain(st);
    await expectConsistent(s, { ...l, lost: l.lost - unlinked, orphanSnapshots: [] });
  }, 480_000);

  it('SIGTERM during a backup with time to finish: the backup completes, success recorded, exit 0', async () => {
    const s = await scenario();
    const job = await s.addJob({ name: 'term-finish', intervalSeconds: null, resticArgs: ['--limit-upload', '4096'] });
    s.addRandomData(job, 16);
    await s.writeConfig({ shutdownTimeoutSeconds: 120 });
    const a = await s.startAgent();
    await s.trigger(job);
    await s.waitRunning(job, 0.1);
    const stopped = await a.stop('SIGTERM', 150_000);
    expect(stopped.code).toBe(0);
    const l = await readLedger(s, [a]);
    table.add('SIGTERM mid-backup (timeout 120 s)', '1 success', l);
    expect(l.counts).toEqual({ success: 1 });
    await expectConsistent(s, l);
  }, 300_000);

  it('SIGTERM during a backup past client.shutdown_timeout_seconds: cancelled, recorded, no lock left, exit 0', async () => {
    const s = await scenario();
    const job = await s.addJob({ name: 'term-cancel', intervalSeconds: null, resticArgs: ['--limit-upload', '1024'] });
    s.addRandomData(job, 24);
    await s.writeConfig({ shutdownTimeoutSeconds: 2 });
    const a = await s.startAgent();
    await s.trigger(job);
    await s.waitRunning(job, 0.02);
    const stopped = await a.stop('SIGTERM', 90_000);
    expect(stopped.code).toBe(0);
    const l = await readLedger(s, [a]);
    table.add('SIGTERM mid-backup (timeout 2 s)', '1 cancelled', l);
    expect(l.counts).toEqual({ cancelled: 1 });
    expect(l.snapshots).toEqual([]);
    await expectConsistent(s, l);
  }, 300_000);
});

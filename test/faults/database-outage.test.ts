/**
 * Issue 8 / C17 fault injection: the agent's PostgreSQL server (a private one, never the shared
 * server) stops while backups go on. Every run finished during the outage waits in the local
 * journal, /status shows the outage and the waiting records, and when the server returns each run
 * is written exactly once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup, api, waitFor } from '../helpers/agent-process.js';
import { privatePgAvailable, startPrivatePg, type PrivatePg } from '../helpers/private-pg.js';
import { Scenario, finishedCount, sql, waitFinished } from './harness.js';
import { FaultTable, describeCounts, expectConsistent, readLedger, runRows } from './ledger.js';

const procs = new ProcessGroup();
const table = new FaultTable();
const scenarios: Scenario[] = [];

describe.runIf(privatePgAvailable())('fault injection: database outages (private PostgreSQL)', () => {
  let server: PrivatePg;
  beforeAll(async () => {
    server = await startPrivatePg();
  }, 120_000);
  afterAll(async () => {
    await procs.killAll();
    await server?.destroy();
    for (const s of scenarios) s.cleanup();
    console.log(table.render('Fault injection — database outages'));
  });

  async function scenario(name: string): Promise<Scenario> {
    await sql(server.url(), `CREATE DATABASE ${name}`);
    const s = await Scenario.create(server.url(name), procs);
    scenarios.push(s);
    return s;
  }

  it('C17 the database stopped in the middle of a backup and started after it ended: one success, written once', async () => {
    const s = await scenario('outage_mid_backup');
    const job = await s.addJob({ name: 'big', intervalSeconds: null, resticArgs: ['--limit-upload', '3072'] });
    s.addRandomData(job, 24);
    await s.writeConfig();
    const agent = await s.startAgent();
    await s.trigger(job);
    await s.waitRunning(job, 0.1);
    // The start reached the database; now it goes away while restic still uploads.
    await waitFor('run row running', async () => (await runRows(s)).some((r) => r.status === 'running'), 30_000);
    await server.stop('fast');
    await waitFinished([agent], 1, undefined, 120_000);
    expect(finishedCount([agent], 'success')).toBe(1);
    const down = await waitFor(
      'status shows the outage',
      async () => {
        const st = await s.status();
        return !st.database.connected && st.database.pendingJournalEntries === 1 ? st : null;
      },
      60_000,
    );
    expect(down.database.downSince).toBeTruthy();
    expect(fs.readdirSync(path.join(s.dataDir, 'journal')).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    await server.start();
    // The periodic replay (every 30 s) writes the outcome; nothing else needs to happen.
    await waitFor(
      'run recorded as success',
      async () => (await runRows(s)).some((r) => r.status === 'success'),
      90_000,
      500,
    );
    await waitFor(
      'status: no waiting records',
      async () => (await s.status()).database.pendingJournalEntries === 0,
      30_000,
    );
    const metrics = await api(s.port, 'GET', '/metrics');
    expect(String(metrics.json)).toMatch(/rbackup2_journal_entries_pending(\{[^}]*\})? 0/);
    expect((await agent.stop('SIGTERM', 60_000)).code).toBe(0);
    const l = await readLedger(s, [agent]);
    table.add('db stopped mid-backup', '1 success', l);
    expect(l.counts).toEqual({ success: 1 });
    await expectConsistent(s, l);
    expect(fs.readdirSync(path.join(s.dataDir, 'journal'))).toEqual([]);
  }, 300_000);

  it('C17 the database down for several scheduled runs (5-s interval), then back: every run written once', async () => {
    const s = await scenario('outage_several_runs');
    await s.addJob({ name: 'every5', intervalSeconds: 5 });
    await s.writeConfig();
    const agent = await s.startAgent();
    await waitFinished([agent], 1, 'success', 60_000);
    await server.stop('immediate'); // a crash of the server, not a clean shutdown
    const before = finishedCount([agent]);
    await waitFinished([agent], before + 3, undefined, 90_000);
    const st = await waitFor(
      'status: waiting records',
      async () => {
        const x = await s.status();
        return !x.database.connected && x.database.pendingJournalEntries >= 3 ? x : null;
      },
      60_000,
    );
    expect(st.database.downSince).toBeTruthy();
    await server.start();
    const logged = () => finishedCount([agent]);
    await waitFor(
      'every finished run in the database',
      async () => {
        const rows = await runRows(s);
        return (
          rows.filter((r) => r.status !== 'running').length >= logged() &&
          (await s.status()).database.pendingJournalEntries === 0
        );
      },
      120_000,
      500,
    );
    expect((await agent.stop('SIGTERM', 60_000)).code).toBe(0);
    const l = await readLedger(s, [agent]);
    const n = finishedCount([agent]);
    table.add('db down for several scheduled runs', `${n} success (${n - before} during the outage)`, l);
    expect(l.counts, describeCounts(l.counts)).toEqual({ success: n });
    expect(n - before).toBeGreaterThanOrEqual(3);
    await expectConsistent(s, l);
  }, 300_000);
});

/**
 * Issue 8 fault injection on the agent's own machine: the data folder mounted read-only (no
 * journal, no config cache, no restic cache), the journal's disk full (a 64 KiB tmpfs filled up),
 * and a Pushgateway that accepts connections and never answers. Runs go on and are recorded
 * exactly once in the database. Mounting needs root; the tests are skipped otherwise.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { finishedCount, waitFinished } from './harness.js';
import { faultSuite, describeCounts, expectConsistent, readLedger } from './ledger.js';

const run = promisify(execFile);
const { table, cleanups, scenario } = faultSuite('Fault injection — local disk and metrics');
const isRoot = process.getuid?.() === 0;

async function mountTmpfs(dir: string, options: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  cleanups.push(() => run('umount', ['-l', dir]));
}

describe.runIf(isRoot)('fault injection: local disk and metrics', () => {
  it('the data folder read-only: runs recorded straight in the database, the journal error logged', async () => {
    const s = await scenario();
    await s.addJob({ name: 'ro-data', intervalSeconds: 3 });
    await mountTmpfs(s.dataDir, 'size=1m,ro');
    await s.writeConfig();
    const a = await s.startAgent();
    await waitFinished([a], 3, undefined, 120_000);
    expect((await a.stop('SIGTERM', 60_000)).code).toBe(0);
    expect(
      a.lines.some((l) => l.json?.msg === 'run journal not writable: the run record depends on the database alone'),
    ).toBe(true);
    const l = await readLedger(s, [a]);
    const n = finishedCount([a]);
    table.add('data folder read-only', `${describeCounts(l.counts)} (as logged)`, l);
    expect(l.runs.length).toBe(n);
    expect(l.counts.failed ?? 0).toBe(0);
    await expectConsistent(s, l);
  }, 300_000);

  it('the journal disk full (64 KiB tmpfs filled), then space again: every run recorded once, journal empty', async () => {
    const s = await scenario();
    await s.addJob({ name: 'full-journal', intervalSeconds: 3 });
    const journal = path.join(s.dataDir, 'journal');
    await mountTmpfs(journal, 'size=64k,mode=0700');
    const filler = path.join(journal, 'filler.bin');
    await run('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k']).catch(() => undefined); // stops at ENOSPC
    await s.writeConfig();
    const a = await s.startAgent();
    await waitFinished([a], 2, undefined, 120_000);
    expect(
      a.lines.some(
        (l) => /run journal not writable/.test(String(l.json?.msg)) && /ENOSPC|no space/i.test(String(l.json?.err)),
      ),
    ).toBe(true);
    fs.rmSync(filler);
    const n0 = finishedCount([a]);
    await waitFinished([a], n0 + 2, undefined, 120_000);
    expect((await a.stop('SIGTERM', 60_000)).code).toBe(0);
    const l = await readLedger(s, [a]);
    const n = finishedCount([a]);
    table.add('journal disk full', `${n} success (${n0} while full)`, l);
    expect(l.counts, describeCounts(l.counts)).toEqual({ success: n });
    await expectConsistent(s, l);
    expect(fs.readdirSync(journal).filter((f) => f.endsWith('.json'))).toEqual([]);
  }, 300_000);

  it('the Pushgateway black-holed (accepts, never answers): backups and their records go on, stop stays bounded', async () => {
    const s = await scenario();
    await s.addJob({ name: 'metrics-hole', intervalSeconds: 3 });
    const sockets = new Set<net.Socket>();
    let connections = 0;
    const hole = net.createServer((sock) => {
      connections++;
      sockets.add(sock);
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
    cleanups.push(() => {
      for (const x of sockets) x.destroy();
      hole.close();
    });
    await s.writeConfig({ pushgateway: `http://127.0.0.1:${(hole.address() as net.AddressInfo).port}` });
    const a = await s.startAgent();
    await waitFinished([a], 4, undefined, 120_000);
    const stopped = await a.stop('SIGTERM', 60_000);
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(20_000); // the final push is bounded by push_timeout_seconds (2 s)
    expect(connections).toBeGreaterThan(0);
    const l = await readLedger(s, [a]);
    const n = finishedCount([a]);
    table.add(
      'pushgateway black-holed',
      `${n} success`,
      l,
      `${connections} push connections never answered; SIGTERM exit in ${stopped.ms} ms`,
    );
    expect(l.counts, describeCounts(l.counts)).toEqual({ success: n });
    await expectConsistent(s, l);
  }, 300_000);
});

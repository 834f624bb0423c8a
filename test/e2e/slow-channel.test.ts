/**
 * Issue 19: "a slow or dead channel never delays a backup or a stop". REAL agent processes
 * (`rbackup2 run`, dist/main.js) on the embedded database (PGlite), each its own notifier, with real
 * restic 0.14 and two jobs (one succeeds, one has the wrong repository password and fails).
 *
 * Two real receivers in this test: a TCP server that accepts every connection and never answers
 * (a dead channel), and an HTTP server that answers only after 60 s (a slow one). The same agent
 * set-up is first measured WITHOUT a channel (the baseline), then WITH both channels subscribed to
 * every run event: backups must take about the baseline time, and SIGTERM, sent while a
 * notification is hanging, must stop the agent within a generous bound (< 15 s).
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLocalConfig } from '../../src/config/local-config.js';
import { addJob, addRepository, migrate, openDatabase, upsertDevice } from '../../src/db/index.js';
import { insertChannel } from '../../src/db/queries/notifications.js';
import { api, freePort, ProcessGroup, waitFor, writeAgentConfig } from '../helpers/agent-process.js';
import { initRepo } from './harness.js';

const EVENTS = ['run.started', 'run.succeeded', 'run.failed', 'run.partial', 'run.recovered'];

/** A channel endpoint that accepts TCP connections and never says a word; counts open sockets. */
async function startDeadServer(): Promise<{
  url: string;
  open: () => number;
  accepted: () => number;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/dead`,
    open: () => sockets.size,
    accepted: () => accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** An HTTP receiver that answers 200 only after `delayMs` (60 s). */
async function startSlowServer(
  delayMs: number,
): Promise<{ url: string; received: () => number; close(): Promise<void> }> {
  let received = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    received++;
    req.resume();
    const t = setTimeout(() => res.writeHead(200).end('late'), delayMs);
    timers.add(t);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/slow`,
    received: () => received,
    close: () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

interface Measure {
  okMs: number;
  failMs: number;
  stopMs: number;
  exit: { code: number | null; signal: NodeJS.Signals | null };
}

describe('a slow or dead channel never delays a backup or a stop [pglite]', () => {
  const procs = new ProcessGroup();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-slow-channel-'));
  let dead: Awaited<ReturnType<typeof startDeadServer>>;
  let slow: Awaited<ReturnType<typeof startSlowServer>>;

  beforeAll(async () => {
    dead = await startDeadServer();
    slow = await startSlowServer(60_000);
  });

  afterAll(async () => {
    await procs.killAll();
    await dead?.close();
    await slow?.close();
    fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);

  /** Seed an embedded agent (with or without the two channels), run both jobs, then SIGTERM it. */
  async function measure(name: string, withChannels: boolean): Promise<Measure> {
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    const port = await freePort();
    const goodRepo = path.join(dir, 'good-repo');
    const badRepo = path.join(dir, 'bad-repo');
    initRepo(goodRepo, 'pw', path.join(dir, 'cache'));
    initRepo(badRepo, 'the right password', path.join(dir, 'cache'));
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.txt'), `${name}\n`);
    const deviceId = `slow-${name}`;
    const cfg = writeAgentConfig({ dir, deviceId, port, shutdownTimeoutSeconds: 5 });
    const local = parseLocalConfig(fs.readFileSync(cfg, 'utf8'), cfg, {});
    let okJob = '';
    let failJob = '';
    const db = await openDatabase({ database: local.database, dataDir: local.dataDir });
    try {
      await migrate(db);
      await upsertDevice(db, { id: deviceId, name });
      const good = await addRepository(db, { name: 'good', url: goodRepo, password: 'pw' });
      const bad = await addRepository(db, { name: 'bad', url: badRepo, password: 'wrong' });
      okJob = (await addJob(db, { deviceId, name: 'Ok', sourcePaths: [src], repositoryId: good.id })).id;
      failJob = (await addJob(db, { deviceId, name: 'Bad', sourcePaths: [src], repositoryId: bad.id })).id;
      if (withChannels) {
        for (const [chName, url] of [
          ['dead', dead.url],
          ['slow', slow.url],
        ] as const)
          await insertChannel(db, {
            deviceId: null,
            name: chName,
            kind: 'webhook',
            config: { url },
            events: EVENTS,
            enabled: true,
          });
      }
    } finally {
      await db.close();
    }
    const agent = await procs.startAgentReady(cfg, port);

    const timedRun = async (jobId: string, want: string) => {
      const t0 = Date.now();
      expect((await api(port, 'POST', `/jobs/${jobId}/run`)).status).toBe(202);
      const run = await waitFor(
        `${name}: run of ${jobId} to finish`,
        async () => {
          const r = await api(port, 'GET', `/runs?job_id=${jobId}&limit=1`);
          const x = (r.json.runs as { status: string }[])[0];
          return x && x.status !== 'running' ? x : null;
        },
        60_000,
        100,
      );
      expect(run.status).toBe(want);
      return Date.now() - t0;
    };
    const okMs = await timedRun(okJob, 'success');
    const failMs = await timedRun(failJob, 'failed');
    if (withChannels) {
      // SIGTERM while a notification is in flight on the dead channel (a socket it holds open).
      await waitFor('a notification hanging on the dead channel', () => dead.open() > 0, 60_000, 50);
      expect(slow.received()).toBeGreaterThan(0);
    }
    const stopped = await agent.stop('SIGTERM', 60_000);
    return { okMs, failMs, stopMs: stopped.ms, exit: { code: stopped.code, signal: stopped.signal } };
  }

  it('backups take their usual time and SIGTERM stops the agent while a send hangs', async () => {
    const base = await measure('baseline', false);
    const hung = await measure('hung', true);
    // Logged for whoever tunes the bounds (2 shared cores: generous margins below).
    console.log(JSON.stringify({ base, hung }));
    expect(base.exit.code).toBe(0);
    expect(hung.exit.code).toBe(0);
    expect(hung.okMs).toBeLessThan(base.okMs + 8_000);
    expect(hung.failMs).toBeLessThan(base.failMs + 8_000);
    expect(hung.stopMs).toBeLessThan(15_000);
    // Before stop() aborted sends in flight, a stop waited out the 10 s send timeout (7.5 s measured).
    expect(hung.stopMs).toBeLessThan(base.stopMs + 5_000);
    expect(dead.accepted()).toBeGreaterThan(0);
  }, 300_000);
});

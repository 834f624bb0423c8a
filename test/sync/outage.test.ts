/**
 * Issue 6 / C17: the agent survives its PostgreSQL server going away, on a private server this file
 * stops and starts at will. Real restic, a job every 5 s. Covers: backups go on during an outage
 * and the agent reconnects by itself (config changes apply again, journalled runs reach the
 * database); an agent started while the server is down runs from its last-known-good copy and
 * connects later; with no usable copy (none, truncated, corrupt) it says so, never crashes or spins.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { configCachePath } from '../../src/sync/config-cache.js';
import { privatePgAvailable, startPrivatePg, type PrivatePg } from '../helpers/private-pg.js';
import {
  captureLog,
  localConfig,
  makeWorkspace,
  seedFor,
  sleep,
  waitFor,
  type CapturedLog,
  type Workspace,
} from './harness.js';

describe.runIf(privatePgAvailable())('database outages (private PostgreSQL server, real restic)', () => {
  let server: PrivatePg;
  let ws: Workspace;
  let url = '';
  const agents: Agent[] = [];

  const sql = async <T extends pg.QueryResultRow>(text: string, params: unknown[] = []) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query<T>(text, params)).rows;
    } finally {
      await c.end();
    }
  };
  const runsInDb = async (device: string) =>
    Number(
      (
        await sql<{ n: string }>(`SELECT count(*) AS n FROM runs WHERE device_id = $1 AND status = 'success'`, [device])
      )[0]?.n,
    );
  const start = async (device: string, log: CapturedLog, dataDir?: string) => {
    const agent = await startAgent({
      local: localConfig(ws.dir, device, url, dataDir),
      logger: log.logger,
      http: false,
    });
    agents.push(agent);
    return agent;
  };
  const finishedRuns = (agent: Agent) => {
    const statuses: string[] = [];
    agent.service.events.on('run.finished', (e) => statuses.push(e.status));
    return statuses;
  };

  beforeAll(async () => {
    server = await startPrivatePg();
    await new pg.Client({ connectionString: server.url() }).connect().then(async (c) => {
      await c.query('CREATE DATABASE rb');
      await c.end();
    });
    url = server.url('rb');
    ws = makeWorkspace(true);
  }, 180_000);

  afterEach(async () => {
    await server?.start().catch(() => undefined); // a failed test must not leave the next one without a server
  });

  afterAll(async () => {
    for (const a of agents) await a.stop('test done');
    await server?.destroy();
    ws?.cleanup();
  }, 60_000);

  it('C17 backups keep running while the server is down; the agent reconnects and syncs again without a restart', async () => {
    const device = 'outage-running';
    const local = localConfig(ws.dir, device, url);
    const jobId = await seedFor(local, {
      device,
      repoDir: ws.repoDir,
      sourceDir: ws.sourceDir,
      intervalSeconds: 5,
      syncIntervalSeconds: 2,
    });
    const log = captureLog();
    const agent = await start(device, log);
    const statuses = finishedRuns(agent);
    await waitFor('a first recorded run', async () => (await runsInDb(device)) >= 1, 30_000);

    await server.stop('fast');
    const stoppedAt = Date.now();
    await waitFor('the agent notices', async () => !(await agent.service.status()).database.connected, 15_000);
    const during = statuses.length;
    await sleep(12_000);
    const outageRuns = statuses.slice(during);
    expect(outageRuns.length).toBeGreaterThanOrEqual(2); // every 5 s, restic does not need the database
    expect(outageRuns.every((s) => s === 'success')).toBe(true);
    const down = await agent.service.status();
    expect(down.database).toMatchObject({ connected: false, downSince: expect.any(String) });
    expect(down.jobs[0]?.nextRunAt).not.toBeNull();
    // bounded back-off, no spinning: a handful of failed checks, not hundreds
    const failedChecks = log.find('database unreachable').length;
    expect(failedChecks).toBeGreaterThanOrEqual(1);
    expect(failedChecks).toBeLessThanOrEqual(3);

    await server.start();
    const back = Date.now();
    await waitFor('reconnected', async () => (await agent.service.status()).database.connected, 30_000);
    expect(Date.now() - stoppedAt).toBeGreaterThan(12_000);
    // the pool recovered by itself; sync resumed: a change by SQL is applied again
    await sql('UPDATE backup_jobs SET source_paths = $1 WHERE id = $2', [[ws.sourceDir, ws.repoDir + '-nope'], jobId]);
    await waitFor(
      'change after reconnect',
      async () => (await agent.service.status()).jobs[0]?.sourcePaths.length === 2,
      10_000,
    );
    await sql('UPDATE backup_jobs SET source_paths = $1 WHERE id = $2', [[ws.sourceDir], jobId]);
    // runs made during the outage reach the database (journal replay), none lost
    await waitFor('outage runs in the database', async () => (await runsInDb(device)) >= 1 + outageRuns.length, 60_000);
    expect(Date.now() - back).toBeLessThan(60_000);
    expect(log.find('database reachable again').length).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('C17 an agent started while the server is down runs from its last-known-good copy, then connects', async () => {
    const device = 'outage-cached';
    const local = localConfig(ws.dir, device, url);
    await seedFor(local, {
      device,
      repoDir: ws.repoDir,
      sourceDir: ws.sourceDir,
      intervalSeconds: 5,
      syncIntervalSeconds: 2,
    });
    const first = await start(device, captureLog());
    await first.stop('writes the cache first');
    expect(fs.existsSync(configCachePath(local.dataDir))).toBe(true);
    const before = await runsInDb(device);

    await server.stop('immediate');
    const log = captureLog();
    const agent = await start(device, log);
    const statuses = finishedRuns(agent);
    const s = await agent.service.status();
    expect(s.database).toMatchObject({
      kind: 'postgres',
      connected: false,
      usingCachedConfig: true,
      cachedConfigSince: expect.any(String),
    });
    expect(s.jobs.map((j) => j.name)).toEqual([`Job of ${device}`]);
    await waitFor('backups from the cached config', () => statuses.filter((x) => x === 'success').length >= 2, 30_000);
    expect(log.find('running on the last-known-good config')).toHaveLength(1);

    await server.start();
    await waitFor(
      'connected, on the database config',
      async () => {
        const d = (await agent.service.status()).database;
        return d.connected && !d.usingCachedConfig;
      },
      60_000,
    );
    expect(log.find('database connected').length).toBe(1);
    await waitFor(
      'runs from the cached period in the database',
      async () => (await runsInDb(device)) >= before + 2,
      60_000,
    );
  }, 180_000);

  it('C17 no copy, a truncated copy, a corrupt copy: reported, no jobs, no crash, keeps retrying; config arrives once the server is back', async () => {
    const device = 'outage-nocache';
    const local = localConfig(ws.dir, device, url);
    await seedFor(local, { device, repoDir: ws.repoDir, sourceDir: ws.sourceDir });
    const good = await start(device, captureLog());
    await good.stop('writes the cache');
    const text = fs.readFileSync(configCachePath(local.dataDir), 'utf8');

    await server.stop('fast');
    const variants: Array<[string, string | null]> = [
      ['missing', null],
      ['truncated', text.slice(0, text.length / 2)],
      ['corrupt', text.replace(/"sha256":"[0-9a-f]{6}/, '"sha256":"000000')],
    ];
    const running: Array<{ agent: Agent; log: CapturedLog }> = [];
    for (const [name, body] of variants) {
      const dataDir = path.join(ws.dir, `data-${device}-${name}`);
      fs.mkdirSync(dataDir, { recursive: true });
      if (body !== null) fs.writeFileSync(configCachePath(dataDir), body, { mode: 0o600 });
      const log = captureLog();
      const agent = await start(device, log, dataDir);
      const s = await agent.service.status();
      expect(s.database).toMatchObject({ connected: false, usingCachedConfig: false, downSince: expect.any(String) });
      expect(s.jobs).toEqual([]);
      const said = log.find('no usable cached config');
      expect(said).toHaveLength(1);
      expect(JSON.stringify(said[0])).toContain(
        name === 'missing' ? 'ENOENT' : name === 'truncated' ? 'JSON' : 'checksum',
      );
      running.push({ agent, log });
    }
    await sleep(8000);
    for (const { log } of running) {
      // one connect attempt every 2, 4, 8 ... s (each up to ~4 s of its own retries): no spinning
      expect(log.find('database still unreachable').length).toBeLessThanOrEqual(3);
      expect(log.find('database still unreachable').length).toBeGreaterThanOrEqual(1);
    }
    await server.start();
    for (const { agent } of running) {
      await waitFor('config from the database', async () => (await agent.service.status()).jobs.length === 1, 90_000);
    }
  }, 240_000);
});

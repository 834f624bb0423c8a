/**
 * Metrics end to end (CONTRACTS §7, C16) and the device heartbeat, on the real agent (startAgent)
 * with real PostgreSQL, real restic 0.14 and Debian's real Pushgateway: after a successful and a
 * failed run (missing source path) the gateway shows the five metrics with the right labels and
 * values; with the gateway stopped, and with a listener that accepts and never answers, backups
 * take the same time and succeed, and the outage is logged once.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../src/app.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import {
  addJob,
  addRepository,
  migrate,
  openPostgres,
  setSetting,
  upsertDevice,
  type Database,
} from '../../src/db/index.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { authHeader } from '../helpers/agent-auth.js';
import { parseExposition, type Sample } from '../metrics/exposition.js';
import { startPushgateway, type RunningGateway } from '../metrics/pushgateway-process.js';
import { waitFor } from '../helpers/wait.js';

const DEVICE = 'metrics-e2e-device';
const PASSWORD = 'metrics e2e';

describe('metrics and heartbeat on the real agent', () => {
  let tmp = '';
  let pgdb: Awaited<ReturnType<typeof createTempPgDatabase>>;
  let admin: Database;
  let gateway: RunningGateway;
  let agent: Agent;
  let port = 0;
  let good = '';
  let broken = '';
  let goodFiles = 0;
  const logs: string[] = [];
  let localConfig: ReturnType<typeof parseLocalConfig>;
  let sink: Writable;

  /** Trigger a job over the API and wait for its run to finish; returns the run row and the wall time (ms). */
  const runJob = async (jobId: string) => {
    const before =
      (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM runs WHERE job_id = $1', [jobId])).rows[0]?.n ??
      0;
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/jobs/${jobId}/run`, {
      method: 'POST',
      headers: { ...authHeader(path.join(tmp, 'data')), 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(202);
    const row = await waitFor(
      'condition',
      async () =>
        (
          await admin.query<{ status: string; duration_seconds: number; end_time: Date }>(
            "SELECT status, duration_seconds, end_time FROM runs WHERE job_id = $1 AND status <> 'running' ORDER BY id OFFSET $2",
            [jobId, before],
          )
        ).rows[0],
    );
    return { row, ms: performance.now() - t0 };
  };

  const series = async (): Promise<Sample[]> =>
    parseExposition(await gateway.scrape()).samples.filter((s) => s.labels.device === DEVICE);

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-metrics-e2e-'));
    const repoDir = path.join(tmp, 'repo');
    execFileSync('restic', ['init', '--repo', repoDir], {
      env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
      stdio: 'pipe',
    });
    const src = path.join(tmp, 'src');
    fs.mkdirSync(src);
    for (let i = 0; i < 7; i++) fs.writeFileSync(path.join(src, `f${i}.txt`), `data ${i}\n`.repeat(2000));
    goodFiles = 7;
    gateway = await startPushgateway();
    pgdb = await createTempPgDatabase();
    admin = await openPostgres({ connectionString: pgdb.url, connectAttempts: 1 });
    await migrate(admin);
    await upsertDevice(admin, { id: DEVICE });
    await setSetting(admin, { deviceId: null, key: 'heartbeat_interval_seconds', value: '5' });
    const repo = await addRepository(admin, { name: 'metrics repo', url: repoDir, password: PASSWORD });
    good = (await addJob(admin, { deviceId: DEVICE, name: 'Good job', sourcePaths: [src], repositoryId: repo.id })).id;
    broken = (
      await addJob(admin, {
        deviceId: DEVICE,
        name: 'Broken job',
        sourcePaths: [path.join(tmp, 'does not exist')],
        repositoryId: repo.id,
      })
    ).id;
    const yaml = [
      `device:\n  id: ${DEVICE}`,
      `database:\n  url: "${pgdb.url}"`,
      `client:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${path.join(tmp, 'data')}"\n  log_file: "${path.join(tmp, 'data', 'agent.log')}"\n  shutdown_timeout_seconds: 5`,
      `metrics:\n  enabled: true\n  prometheus_pushgateway: "${gateway.url}"\n  push_interval_seconds: 5\n  push_timeout_seconds: 10`,
    ].join('\n');
    localConfig = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
    sink = new Writable({
      write(chunk, _enc, cb) {
        if (logs.length < 20_000) logs.push(String(chunk));
        cb();
      },
    });
    agent = await startAgent({ local: localConfig, logger: pino({ level: 'debug' }, sink) });
    port = Number(new URL(agent.url ?? '').port);
  }, 120_000);

  afterAll(async () => {
    await agent?.stop('test done');
    await gateway?.stop();
    await admin?.close();
    await pgdb?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  let baselineMs = 0;

  it('after a successful and a failed run the Pushgateway shows the five metrics with device, job_id, job_name', async () => {
    const ok = await runJob(good);
    expect(ok.row.status).toBe('success');
    baselineMs = ok.ms;
    const bad = await runJob(broken);
    expect(bad.row.status).toBe('failed');

    const pick = (all: Sample[], name: string, jobId: string, extra: Record<string, string> = {}) =>
      all.find(
        (s) =>
          s.name === name && s.labels.job_id === jobId && Object.entries(extra).every(([k, v]) => s.labels[k] === v),
      );
    const all = await waitFor('condition', async () => {
      const s = await series();
      return pick(s, 'backup_runs_total', broken, { status: 'failed' }) ? s : null;
    });
    const goodLabels = { device: DEVICE, job_id: good, job_name: 'Good job', job: 'rbackup2' };
    expect(pick(all, 'backup_runs_total', good, { status: 'success' })).toMatchObject({
      labels: { ...goodLabels, status: 'success' },
      value: 1,
    });
    expect(pick(all, 'backup_runs_total', broken, { status: 'failed' })).toMatchObject({
      labels: { job_name: 'Broken job' },
      value: 1,
    });
    expect(pick(all, 'backup_runs_total', broken, { status: 'success' })?.value ?? 0).toBe(0);
    const ts = pick(all, 'backup_last_success_timestamp', good);
    expect(ts?.labels).toMatchObject(goodLabels);
    expect(Math.abs((ts?.value ?? 0) - ok.row.end_time.getTime() / 1000)).toBeLessThan(2);
    expect(pick(all, 'backup_last_success_timestamp', broken)?.value ?? 0).toBe(0); // never succeeded
    expect(pick(all, 'backup_files_total', good)?.value).toBe(goodFiles);
    expect(pick(all, 'backup_bytes_added', good)?.value).toBeGreaterThan(0);
    expect(pick(all, 'backup_duration_seconds_count', good)?.value).toBe(1);
    expect(pick(all, 'backup_duration_seconds_count', broken)?.value).toBe(1);
    expect(
      Math.abs((pick(all, 'backup_duration_seconds_sum', good)?.value ?? -1) - ok.row.duration_seconds),
    ).toBeLessThan(0.01);
    // The agent's own /metrics says the same.
    const local = parseExposition(
      await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: authHeader(path.join(tmp, 'data')) })).text(),
    ).samples;
    expect(pick(local, 'backup_files_total', good)?.value).toBe(goodFiles);
  });

  it('C32 after an agent restart the first push already carries backup_last_success_timestamp and backup_files_total from the runs table', async () => {
    const pushTime = async () => (await series()).find((x) => x.name === 'push_time_seconds')?.value ?? 0;
    const lastRow = (
      await admin.query<{ end_time: Date }>(
        "SELECT end_time FROM runs WHERE job_id = $1 AND status = 'success' ORDER BY id DESC LIMIT 1",
        [good],
      )
    ).rows[0];
    await agent.stop('C32 restart');
    const before = await pushTime();
    agent = await startAgent({ local: localConfig, logger: pino({ level: 'debug' }, sink) });
    port = Number(new URL(agent.url ?? '').port);
    const first = await waitFor(
      'the first push of the new agent',
      async () => ((await pushTime()) > before ? series() : null),
      30_000,
      50,
    );
    const ts = first.find((x) => x.name === 'backup_last_success_timestamp' && x.labels.job_id === good);
    expect(Math.abs((ts?.value ?? 0) - (lastRow?.end_time.getTime() ?? 0) / 1000)).toBeLessThan(2);
    expect(first.find((x) => x.name === 'backup_files_total' && x.labels.job_id === good)?.value).toBe(goodFiles);
  }, 60_000);

  it('C16 with the gateway stopped, and with a listener that never answers, backups succeed in the same time; the outage is logged once', async () => {
    const gwPort = gateway.port;
    await gateway.stop();
    const refused = await runJob(good);
    expect(refused.row.status).toBe('success');

    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    }); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(gwPort, '127.0.0.1', resolve));
    try {
      await waitFor('condition', async () => sockets.size > 0, 15_000); // a periodic push is hanging right now
      const hanging = await runJob(good);
      expect(hanging.row.status).toBe('success');
      // A push that blocked the backup would add push_timeout_seconds (10 s); allow noise only.
      console.info(
        `C16 backup wall time (ms): gateway up ${Math.round(baselineMs)}, refused ${Math.round(refused.ms)}, never answers ${Math.round(hanging.ms)}`,
      );
      for (const t of [refused.ms, hanging.ms]) expect(t).toBeLessThan(baselineMs + 4000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
    const warns = logs.filter((l) => l.includes('Pushgateway push failed;'));
    expect(warns).toHaveLength(1);
  });

  it('the heartbeat refreshes last_seen, hostname and metadata every heartbeat_interval_seconds', async () => {
    await admin.query(
      "UPDATE devices SET hostname = 'stale-host', last_seen = now() - interval '1 hour', metadata = metadata - 'agent_version' WHERE id = $1",
      [DEVICE],
    );
    const t0 = Date.now();
    const row = await waitFor(
      'condition',
      async () => {
        const r = (
          await admin.query<{ hostname: string; last_seen: Date; metadata: Record<string, unknown> }>(
            'SELECT hostname, last_seen, metadata FROM devices WHERE id = $1',
            [DEVICE],
          )
        ).rows[0];
        return r && r.hostname !== 'stale-host' ? r : null;
      },
      20_000,
    );
    expect(Date.now() - t0).toBeLessThan(12_000); // every 5 s (plus scheduling noise)
    expect(row.hostname).toBe(os.hostname());
    expect(Date.now() - row.last_seen.getTime()).toBeLessThan(15_000);
    expect(row.metadata).toMatchObject({
      agent_version: expect.any(String),
      restic_version: expect.stringMatching(/^0\.14/),
      arch: process.arch,
    });
  }, 30_000);
});

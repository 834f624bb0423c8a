/**
 * Issue 19 "What it must show", fleet part, on the real PostgreSQL server with spawned processes
 * (real restic 0.14, a real HTTP receiver):
 * - an agent and a `rbackup2 dashboard` deliver the webhook case end to end: one run.failed for a
 *   failure streak, none for the second failure, one run.recovered; with the dashboard stopped the
 *   event waits in the outbox (and the backup is not held up), and arrives once it is back;
 * - two agents and a dashboard: one agent stopped, its scheduled job is reported job.stale and its
 *   device device.silent by the dashboard's watcher within the configured times, once each.
 * The channel is added with `rbackup2 notify add` and checked with `notify test` / `notify list`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, freePort, ProcessGroup, waitFor, writeAgentConfig, type AgentProcess } from '../helpers/agent-process.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/receivers.js';
import { initRepo } from './harness.js';

const INTERVALS = JSON.stringify({ notifierSeconds: 1, watcherSeconds: 2, retryBaseSeconds: 1, liveSeconds: 1 });

describe('fleet notifications through rbackup2 dashboard [postgres]', () => {
  const procs = new ProcessGroup();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-fleet-notify-'));
  let pgdb: Awaited<ReturnType<typeof createTempPgDatabase>>;
  let sql: pg.Client;
  let hook: HttpReceiver;
  let adminCfg = '';
  let dashPort = 0;
  let dashboard: AgentProcess | null = null;
  let agentA: AgentProcess;
  let portA = 0;
  let jobA = '';
  const repoA = path.join(root, 'repo-a');

  const startDashboard = async () => {
    const d = procs.startAgent(adminCfg, ['dashboard', '--bind', `127.0.0.1:${dashPort}`], {
      env: { RB2_TEST_NOTIFY_INTERVALS: INTERVALS },
    });
    await d.waitForLog('rbackup2 dashboard started', 60_000);
    return d;
  };
  const events = (jobId?: string) =>
    hook
      .json('/hook')
      .filter((b) => !jobId || b.job_id === jobId)
      .map((b) => String(b.event));
  const runNow = async (port: number, jobId: string) => {
    const before = (
      await sql.query('SELECT count(*)::int AS n FROM runs WHERE job_id = $1 AND status <> $2', [jobId, 'running'])
    ).rows[0].n as number;
    const t0 = Date.now();
    expect((await api(port, 'POST', `/jobs/${jobId}/run`)).status).toBe(202);
    const row = await waitFor(
      'the run to finish',
      async () => {
        const { rows } = await sql.query('SELECT id, status FROM runs WHERE job_id = $1 AND status <> $2 ORDER BY id', [
          jobId,
          'running',
        ]);
        return rows.length > before ? rows.at(-1) : null;
      },
      60_000,
      100,
    );
    return { ...(row as { id: number; status: string }), ms: Date.now() - t0 };
  };

  beforeAll(async () => {
    pgdb = await createTempPgDatabase();
    sql = new pg.Client({ connectionString: pgdb.url });
    await sql.connect();
    hook = await startHttpReceiver();
    dashPort = await freePort();
    fs.mkdirSync(path.join(root, 'admin'));
    adminCfg = path.join(root, 'admin', 'admin.yaml');
    fs.writeFileSync(
      adminCfg,
      `database:\n  url: ${JSON.stringify(pgdb.url)}\n  ssl_mode: disable\nclient:\n  data_dir: ./data\n  log_file: ./data/dashboard.log\n`,
    );
    const migrate = await procs.runCli(['--config', adminCfg, 'migrate']);
    expect(migrate.code, migrate.stderr).toBe(0);
    // the channel, through the CLI (secret on standard input)
    const add = await procs.runCli(['--config', adminCfg, 'notify', 'add', 'hook', 'webhook', '--stdin'], {
      input: JSON.stringify({ url: `${hook.url}/hook`, secret: 'sig-secret' }),
    });
    expect(add.code, add.stderr).toBe(0);
    const list = await procs.runCli(['--config', adminCfg, 'notify', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).not.toContain('sig-secret');
    expect(JSON.parse(list.stdout).channels[0]).toMatchObject({
      name: 'hook',
      kind: 'webhook',
      config: { secret: '(set)' },
    });
    const test = await procs.runCli(['--config', adminCfg, 'notify', 'test', 'hook']);
    expect(test.code, test.stderr).toBe(0);
    expect(hook.json('/hook').map((b) => b.status)).toEqual(['test']);
    hook.requests.length = 0;

    // agent A: one job whose repository does not exist yet (fails until it is initialised)
    portA = await freePort();
    fs.mkdirSync(path.join(root, 'a', 'src'), { recursive: true });
    fs.writeFileSync(path.join(root, 'a', 'src', 'file.txt'), 'hello');
    await sql.query(`INSERT INTO devices (id, name) VALUES ('dev-a', 'Laptop A'), ('dev-b', 'Laptop B')`);
    const repo = await sql.query(
      `INSERT INTO repositories (name, url, password) VALUES ('repo A', $1, 'pw-a') RETURNING id`,
      [repoA],
    );
    jobA = (
      await sql.query(
        `INSERT INTO backup_jobs (device_id, name, source_paths, repository_id) VALUES ('dev-a', 'Docs', $1, $2) RETURNING id`,
        [[path.join(root, 'a', 'src')], repo.rows[0].id],
      )
    ).rows[0].id as string;
    agentA = await procs.startAgentReady(
      writeAgentConfig({ dir: path.join(root, 'a'), deviceId: 'dev-a', port: portA, databaseUrl: pgdb.url }),
      portA,
    );
  }, 180_000);

  afterAll(async () => {
    if (process.env.RB2_DEBUG) {
      console.log(
        (
          await sql.query(
            'SELECT id, event, job_id, device_id, routed_at, done_at FROM notification_outbox ORDER BY created_at',
          )
        ).rows,
      );
      console.log((await sql.query('SELECT * FROM notification_deliveries')).rows);
      console.log((await sql.query('SELECT * FROM leases')).rows);
      console.log(dashboard?.stderr.slice(-3000));
      console.log(
        agentA?.stderr
          .split('\n')
          .filter((l) => /notif|outbox|watcher/.test(l))
          .join('\n'),
      );
    }
    await procs.killAll();
    await sql?.end();
    await hook?.close();
    await pgdb?.drop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('agent + dashboard: one run.failed per streak, one run.recovered; with the dashboard stopped events wait and arrive later', async () => {
    dashboard = await startDashboard();
    const r1 = await runNow(portA, jobA);
    expect(r1.status).toBe('failed');
    await waitFor('run.failed at the webhook', () => events(jobA).includes('run.failed'), 30_000);
    const r2 = await runNow(portA, jobA);
    expect(r2.status).toBe('failed');
    initRepo(repoA, 'pw-a', path.join(root, 'cache'));
    const r3 = await runNow(portA, jobA);
    expect(r3.status).toBe('success');
    await waitFor('run.recovered at the webhook', () => events(jobA).includes('run.recovered'), 30_000);
    expect(events(jobA)).toEqual(['run.failed', 'run.recovered']);
    const failed = hook.json('/hook')[0]!;
    expect(failed).toMatchObject({
      device_id: 'dev-a',
      job_id: jobA,
      job_name: 'Docs',
      status: 'failed',
      run_id: r1.id,
    });
    expect(String(failed.link)).toBe(`http://127.0.0.1:${portA}/#runs/${r1.id}`);

    // dashboard stopped: the next failure waits in the outbox; the backup itself is not held up
    await dashboard.stop('SIGTERM', 30_000);
    fs.rmSync(repoA, { recursive: true, force: true });
    const r4 = await runNow(portA, jobA);
    expect(r4.status).toBe('failed');
    expect(r4.ms).toBeLessThan(20_000);
    await waitFor(
      'the run.failed row in the outbox',
      async () => {
        const { rows } = await sql.query(
          `SELECT event FROM notification_outbox WHERE done_at IS NULL AND job_id = $1 AND event LIKE 'run.f%'`,
          [jobA],
        );
        return rows.length === 1 && rows[0].event === 'run.failed';
      },
      20_000,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(events(jobA)).toEqual(['run.failed', 'run.recovered']);
    // the agent says nobody delivers (grace 600 s: not yet; the lease was handed back at stop)
    const status = (await api(portA, 'GET', '/status')).json;
    expect(status.notifications).toBeTruthy();

    dashboard = await startDashboard();
    await waitFor('the waiting run.failed after the restart', () => events(jobA).length === 3, 30_000);
    expect(events(jobA)).toEqual(['run.failed', 'run.recovered', 'run.failed']);
    const ids = hook.json('/hook').map((b) => b.id);
    expect(new Set(ids).size).toBe(ids.length);
  }, 240_000);

  it('two agents: the stopped one is reported job.stale and device.silent by the watcher, once each', async () => {
    // B: a job on an initialised repository with an interval schedule; stale after 15 s, silent after 15 s
    const repoB = path.join(root, 'repo-b');
    initRepo(repoB, 'pw-b', path.join(root, 'cache'));
    fs.mkdirSync(path.join(root, 'b', 'src'), { recursive: true });
    fs.writeFileSync(path.join(root, 'b', 'src', 'f.txt'), 'b');
    const repo = await sql.query(
      `INSERT INTO repositories (name, url, password) VALUES ('repo B', $1, 'pw-b') RETURNING id`,
      [repoB],
    );
    const jobB = (
      await sql.query(
        `INSERT INTO backup_jobs (device_id, name, source_paths, repository_id) VALUES ('dev-b', 'Photos', $1, $2) RETURNING id`,
        [[path.join(root, 'b', 'src')], repo.rows[0].id],
      )
    ).rows[0].id as string;
    await sql.query(`INSERT INTO schedules (job_id, schedule_type, interval_seconds) VALUES ($1, 'interval', 3600)`, [
      jobB,
    ]);
    await sql.query(
      `INSERT INTO settings (device_id, key, value) VALUES ('dev-b', 'stale_after_seconds', '15'), ('dev-b', 'silent_after_seconds', '15'),
              ('dev-b', 'heartbeat_interval_seconds', '5'), ('dev-a', 'heartbeat_interval_seconds', '5')`,
    );
    await sql.query(`INSERT INTO schedules (job_id, schedule_type, interval_seconds) VALUES ($1, 'interval', 3600)`, [
      jobA,
    ]);
    const portB = await freePort();
    const agentB = await procs.startAgentReady(
      writeAgentConfig({ dir: path.join(root, 'b'), deviceId: 'dev-b', port: portB, databaseUrl: pgdb.url }),
      portB,
    );
    await waitFor(
      "B's first scheduled backup",
      async () =>
        (await sql.query(`SELECT 1 FROM runs WHERE job_id = $1 AND status = 'success'`, [jobB])).rows.length > 0,
      60_000,
    );
    await agentB.stop('SIGTERM', 30_000);
    const stoppedAt = Date.now();
    const lastSeen = (await sql.query(`SELECT last_seen FROM devices WHERE id = 'dev-b'`)).rows[0].last_seen as Date;
    await waitFor(
      'job.stale and device.silent for B',
      () => events().includes('job.stale') && events().includes('device.silent'),
      60_000,
    );
    const took = (Date.now() - stoppedAt) / 1000;
    // within the configured 15 s (+ watcher tick 2 s + notifier tick 1 s + slack)
    expect(took).toBeLessThan(15 + 15);
    const stale = hook.json('/hook').filter((b) => b.event === 'job.stale');
    const silent = hook.json('/hook').filter((b) => b.event === 'device.silent');
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatchObject({ device_id: 'dev-b', job_id: jobB, job_name: 'Photos', status: 'stale' });
    expect(silent).toHaveLength(1);
    expect(silent[0]).toMatchObject({ device_id: 'dev-b', device_name: 'Laptop B', status: 'silent' });
    expect(Date.now() - lastSeen.getTime()).toBeGreaterThan(15_000);
    // more watcher passes: still once each; A (running) is neither
    await new Promise((r) => setTimeout(r, 6000));
    expect(hook.json('/hook').filter((b) => b.event === 'job.stale')).toHaveLength(1);
    expect(hook.json('/hook').filter((b) => b.event === 'device.silent')).toHaveLength(1);
    expect(
      hook
        .json('/hook')
        .some((b) => (b.event === 'job.stale' || b.event === 'device.silent') && b.device_id === 'dev-a'),
    ).toBe(false);
    void agentA;
  }, 240_000);
});

#!/usr/bin/env node
/* global process, console, fetch */
/**
 * Fleet dashboard page data time (issue 19 point 5): 1,000 devices x 5 jobs x 100 runs each
 * (500,000 runs, a daily cron schedule per job) on the real PostgreSQL server; page data of 50
 * devices (their 250 jobs with last success, last run, next run, stale/failing marks, plus
 * repositories and the 20 recent failures) measured in-process (PageDataSource.load) and over HTTP
 * (GET /api/fleet of the dashboard server with the API token), p50/p99 over random pages.
 *
 * Usage: npm run build && node bench/dashboard.mjs [--devices 1000] [--jobs 5] [--runs 100] [--samples 200]
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createBenchDatabase } from './dataset.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const DEVICES = arg('devices', 1000);
const JOBS = arg('jobs', 5);
const RUNS = arg('runs', 100);
const SAMPLES = arg('samples', 200);
const PER_PAGE = 50;

const { openPostgres } = await import('../dist/db/postgres.js');
const { migrate } = await import('../dist/db/migrate.js');
const { PageDataSource } = await import('../dist/dashboard/page-data.js');
const { createDashboardServer } = await import('../dist/dashboard/server.js');
const { default: pino } = await import('pino');

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const bench = await createBenchDatabase();
try {
  const db = await openPostgres({ connectionString: bench.url, connectAttempts: 1 });
  await migrate(db);
  const c = new pg.Client({ connectionString: bench.url });
  await c.connect();
  let t = performance.now();
  await c.query(
    `INSERT INTO devices (id, name, platform, last_seen, metadata)
     SELECT 'dev-' || lpad(d::text, 5, '0'), 'Device ' || lpad(d::text, 5, '0'), 'linux',
            now() - (d % 7) * interval '1 day', jsonb_build_object('agent_version', '0.1.0', 'restic_version', '0.14.0')
       FROM generate_series(1, $1) d`,
    [DEVICES],
  );
  await c.query(
    `INSERT INTO backup_jobs (device_id, name, source_paths)
     SELECT 'dev-' || lpad(d::text, 5, '0'), 'job ' || j, ARRAY['/home']
       FROM generate_series(1, $1) d, generate_series(1, $2) j`,
    [DEVICES, JOBS],
  );
  await c.query(
    `INSERT INTO schedules (job_id, schedule_type, cron_expression, timezone, next_run_at)
     SELECT id, 'cron', '0 ' || (abs(hashtext(id::text)) % 24) || ' * * *', 'UTC', now() + interval '3 hours' FROM backup_jobs`,
  );
  await c.query(
    `INSERT INTO runs (job_id, device_id, start_time, end_time, status, duration_seconds, error_message)
     SELECT j.id, j.device_id, now() - r * interval '1 day', now() - r * interval '1 day' + interval '5 minutes',
            CASE WHEN (r + abs(hashtext(j.id::text))) % 10 = 0 THEN 'failed' ELSE 'success' END, 300,
            CASE WHEN (r + abs(hashtext(j.id::text))) % 10 = 0 THEN 'repository is locked' END
       FROM backup_jobs j, generate_series(1, $1) r`,
    [RUNS],
  );
  await c.query('ANALYZE');
  const runs = (await c.query('SELECT count(*)::int AS n FROM runs')).rows[0].n;
  console.log(
    `seeded ${DEVICES} devices x ${JOBS} jobs x ${RUNS} runs = ${runs} runs in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  const pages = Math.ceil(DEVICES / PER_PAGE);
  const source = new PageDataSource(db, 'UTC');
  await source.load(1, PER_PAGE); // warm-up (stale limits computed once per schedule set)
  const inProc = [];
  for (let i = 0; i < SAMPLES; i++) {
    const page = 1 + Math.floor(Math.random() * pages);
    t = performance.now();
    const data = await source.load(page, PER_PAGE);
    inProc.push(performance.now() - t);
    if (data.devices.length === 0 || data.devices[0].jobs.length !== JOBS)
      throw new Error(`page ${page} is incomplete`);
  }
  const token = 'bench-dashboard-token-0123456789';
  const server = await createDashboardServer({
    db,
    bind: '127.0.0.1:0',
    apiToken: token,
    logger: pino({ level: 'warn' }),
    passwordHash: async () => null,
    localZone: 'UTC',
  });
  const url = await server.listen();
  const overHttp = [];
  for (let i = 0; i < SAMPLES; i++) {
    const page = 1 + Math.floor(Math.random() * pages);
    t = performance.now();
    const res = await fetch(`${url}/api/fleet?page=${page}&per_page=${PER_PAGE}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = await res.json();
    overHttp.push(performance.now() - t);
    if (res.status !== 200 || body.devices.length === 0) throw new Error(`HTTP ${res.status}`);
  }
  await server.close();
  const fmt = (xs) => `p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms`;
  console.log(`page data (${PER_PAGE} devices, ${PER_PAGE * JOBS} jobs), ${SAMPLES} random pages:`);
  console.log(`  in process (PageDataSource.load): ${fmt(inProc)}`);
  console.log(`  over HTTP (GET /api/fleet):       ${fmt(overHttp)}`);
  await c.end();
  await db.close();
} finally {
  await bench.drop();
}

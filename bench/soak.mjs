#!/usr/bin/env node
/* global process, console, setTimeout, fetch, AbortSignal */
// Soak test of the run journal (issue 8): the REAL agent (`node dist/main.js --config ... run`)
// with many short-interval jobs on a real restic repository, while a PRIVATE PostgreSQL server
// (its own initdb in a temp dir, a free loopback port; never the shared server) is stopped and
// started at random. At the end the server is up, the agent replays its journal and stops; prints
// runs attempted (snapshots in the repository + failed runs the agent logged), recorded, lost,
// duplicated, and the agent's VmRSS at start and end.
//
//   npm run build && node bench/soak.mjs [--minutes 10] [--jobs 6] [--interval 2]
//   SOAK_MINUTES=4 node bench/soak.mjs
//
// Needs root (runuser -u postgres) and /usr/lib/postgresql/15/bin (RBACKUP2_PG_BIN), restic.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PG_BIN = process.env.RBACKUP2_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const RESTIC = process.env.RBACKUP2_RESTIC ?? '/usr/bin/restic';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : fallback;
}
const minutes = arg('minutes', Number(process.env.SOAK_MINUTES ?? 10));
const jobCount = Math.min(Math.max(arg('jobs', 6), 1), 50);
const interval = Math.max(arg('interval', 2), 1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rand = (a, b) => a + Math.floor(Math.random() * (b - a));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function sql(url, text, params = []) {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

function vmRss(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  } catch {
    return null;
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-soak-'));
const pgData = path.join(dir, 'pg');
fs.mkdirSync(pgData, { mode: 0o700 });
execFileSync('chown', ['-R', 'postgres:postgres', dir]);
fs.chmodSync(dir, 0o755);
execFileSync(
  'runuser',
  ['-u', 'postgres', '--', path.join(PG_BIN, 'initdb'), '-D', pgData, '-U', 'postgres', '-A', 'trust', '--no-sync'],
  { stdio: 'ignore' },
);
const pgPort = await freePort();
const pgOpts = `-p ${pgPort} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off`;
const pgctl = (...a) =>
  execFileSync('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, 'pg_ctl'), '-D', pgData, ...a], {
    stdio: 'ignore',
    timeout: 60_000,
  });
const pgStart = () => pgctl('-o', pgOpts, '-l', path.join(dir, 'pg.log'), '-w', 'start');
const pgStop = (mode) => pgctl('stop', '-m', mode, '-w');
pgStart();
const admin = `postgres://postgres@127.0.0.1:${pgPort}/postgres?sslmode=disable`;
await sql(admin, 'CREATE DATABASE soak');
const dbUrl = `postgres://postgres@127.0.0.1:${pgPort}/soak?sslmode=disable`;
const { openPostgres, migrate } = await import(path.join(root, 'dist', 'db', 'index.js'));
const db = await openPostgres({ connectionString: dbUrl, connectAttempts: 3 });
await migrate(db);
await db.close();

const password = randomBytes(12).toString('hex');
const repo = path.join(dir, 'repo');
const resticEnv = {
  ...process.env,
  RESTIC_REPOSITORY: repo,
  RESTIC_PASSWORD: password,
  RESTIC_CACHE_DIR: path.join(dir, 'restic-cache'),
};
execFileSync(RESTIC, ['init'], { env: resticEnv, stdio: 'ignore' });
const device = 'soak-device';
await sql(dbUrl, 'INSERT INTO devices (id, name) VALUES ($1, $1)', [device]);
await sql(
  dbUrl,
  "INSERT INTO settings (device_id, key, value) VALUES ($1, 'retry_max_attempts', '0'), ($1, 'max_concurrent_backups', '3'), ($1, 'sync_interval_seconds', '10')",
  [device],
);
const [{ id: repoId }] = await sql(
  dbUrl,
  'INSERT INTO repositories (name, url, password) VALUES ($1, $2, $3) RETURNING id',
  ['soak', repo, password],
);
const jobIds = [];
for (let i = 0; i < jobCount; i++) {
  const src = path.join(dir, 'src', `job-${i}`);
  fs.mkdirSync(src, { recursive: true });
  for (let f = 0; f < 20; f++) fs.writeFileSync(path.join(src, `f${f}.txt`), randomBytes(2048).toString('hex'));
  const [{ id }] = await sql(
    dbUrl,
    'INSERT INTO backup_jobs (device_id, name, source_paths, repository_id) VALUES ($1, $2, $3, $4) RETURNING id',
    [device, `soak-${i}`, [src], repoId],
  );
  await sql(dbUrl, "INSERT INTO schedules (job_id, schedule_type, interval_seconds) VALUES ($1, 'interval', $2)", [
    id,
    interval + (i % 3),
  ]);
  jobIds.push(id);
}

const httpPort = await freePort();
const config = path.join(dir, 'config.yaml');
fs.writeFileSync(
  config,
  [
    'device:',
    `  id: ${device}`,
    'database:',
    `  url: "${dbUrl}"`,
    'client:',
    `  http_bind: "127.0.0.1:${httpPort}"`,
    `  data_dir: "${path.join(dir, 'data')}"`,
    `  log_file: "${path.join(dir, 'agent.log')}"`,
    '  log_level: info',
    `  restic_binary: "${RESTIC}"`,
    '  shutdown_timeout_seconds: 60',
    '',
  ].join('\n'),
);

const counts = { finished: {}, snapshotsLogged: new Set() };
const agent = spawn(process.execPath, [path.join(root, 'dist', 'main.js'), '--config', config, 'run'], {
  stdio: ['ignore', 'ignore', 'pipe'],
});
let partial = '';
let started = false;
agent.stderr.on('data', (chunk) => {
  const parts = (partial + chunk.toString('utf8')).split('\n');
  partial = parts.pop() ?? '';
  for (const line of parts) {
    let j;
    try {
      j = JSON.parse(line);
    } catch {
      continue;
    }
    if (j.msg === 'rbackup2 agent started') started = true;
    if (j.msg === 'backup finished') {
      counts.finished[j.status] = (counts.finished[j.status] ?? 0) + 1;
      if (j.snapshotId) counts.snapshotsLogged.add(j.snapshotId);
    }
  }
});
const exited = new Promise((r) => agent.on('exit', (code, signal) => r({ code, signal })));
for (let i = 0; i < 600 && !started; i++) await sleep(100);
if (!started) throw new Error('agent did not start');
await sleep(5000);
const rssStart = vmRss(agent.pid);
let rssMax = rssStart;
console.log(
  `soak: ${minutes} min, ${jobCount} jobs every ${interval}-${interval + 2} s, agent pid ${agent.pid}, PostgreSQL on ${pgPort}`,
);

const deadline = Date.now() + minutes * 60_000;
let outages = 0;
let downMs = 0;
while (Date.now() < deadline) {
  await sleep(Math.min(rand(5_000, 30_000), Math.max(0, deadline - Date.now())));
  if (Date.now() >= deadline) break;
  const mode = Math.random() < 0.5 ? 'fast' : 'immediate';
  pgStop(mode);
  const t0 = Date.now();
  outages++;
  await sleep(rand(3_000, 25_000));
  pgStart();
  downMs += Date.now() - t0;
  rssMax = Math.max(rssMax, vmRss(agent.pid) ?? 0);
  console.log(
    `  outage ${outages} (${mode}): ${Math.round((Date.now() - t0) / 1000)} s; finished so far ${JSON.stringify(counts.finished)}`,
  );
}

// Server up: wait for the journal to drain (replay every 30 s), then stop the agent gracefully.
let pending = -1;
for (let i = 0; i < 120; i++) {
  try {
    const st = await (await fetch(`http://127.0.0.1:${httpPort}/status`, { signal: AbortSignal.timeout(5000) })).json();
    pending = st.database.pendingJournalEntries;
    if (st.database.connected && pending === 0) break;
  } catch {
    /* busy */
  }
  await sleep(1000);
}
const rssEnd = vmRss(agent.pid);
agent.kill('SIGTERM');
const exit = await exited;

const runs = await sql(dbUrl, 'SELECT status, snapshot_id, client_run_id FROM runs WHERE device_id = $1', [device]);
const snaps =
  JSON.parse(
    execFileSync(RESTIC, ['snapshots', '--json', '--no-lock'], {
      env: resticEnv,
      maxBuffer: 256 * 1024 * 1024,
    }).toString(),
  ) ?? [];
const jobTags = new Set(jobIds.map((id) => `backup:${id}`));
const jobSnaps = snaps.filter((s) => s.tags?.some((t) => jobTags.has(t)));
const bySnap = new Map();
for (const r of runs) if (r.snapshot_id) bySnap.set(r.snapshot_id, (bySnap.get(r.snapshot_id) ?? 0) + 1);
const status = {};
for (const r of runs) status[r.status] = (status[r.status] ?? 0) + 1;
const orphans = jobSnaps.filter((s) => !bySnap.has(s.short_id)).length;
const failedLogged = counts.finished.failed ?? 0;
const failedLost = Math.max(0, failedLogged - (status.failed ?? 0));
const duplicated = [...bySnap.values()].reduce((n, c) => n + c - 1, 0);
const locks = execFileSync(RESTIC, ['list', 'locks', '--no-lock'], { env: resticEnv })
  .toString()
  .trim()
  .split('\n')
  .filter(Boolean).length;
const mb = (b) => (b === null ? 'n/a' : `${(b / 1024 / 1024).toFixed(1)} MiB`);
console.log(
  [
    `outages: ${outages} (database down ${Math.round(downMs / 1000)} s of ${minutes * 60} s)`,
    `runs attempted: ${jobSnaps.length + failedLogged} (${jobSnaps.length} snapshots in restic + ${failedLogged} failed runs logged)`,
    `runs recorded: ${runs.length} ${JSON.stringify(status)}`,
    `runs lost: ${orphans + failedLost} (snapshots in no run: ${orphans}; failed runs not recorded: ${failedLost})`,
    `runs duplicated: ${duplicated}`,
    `journal entries left: ${pending}; repository locks left: ${locks}; agent exit: ${JSON.stringify(exit)}`,
    `agent VmRSS: start ${mb(rssStart)}, end ${mb(rssEnd)}, max seen ${mb(rssMax)}`,
  ].join('\n'),
);

try {
  pgStop('fast');
} catch {
  /* already down */
}
fs.rmSync(dir, { recursive: true, force: true });
process.exit(orphans + failedLost + duplicated === 0 ? 0 : 1);

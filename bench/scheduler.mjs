#!/usr/bin/env node
/* global process, console, setTimeout, fetch, URL */
// Scheduler bench (issue 4), on a spawned `node dist/main.js run`, for each database:
// 1. due-to-spawn latency: 10 jobs with 6-field cron schedules (job k due at seconds k, k+10, ..
//    k+50 UTC, so one job is due each second) until N due events (default 100). client.restic_binary
//    is a wrapper that writes `date +%s.%N` and its first argument to a log, then answers like
//    restic would (`version` execs the real restic; `list locks` prints no lock; `backup` prints a
//    summary and exits 0 at once, so no run is still going when the next one is due). Latency =
//    wrapper's timestamp - due time, for the run's first restic child (`list locks`) and for the
//    `restic backup` child. Target < 1 s.
// 2. idle: 20 jobs due next year; after the agent answers /status and 5 s of settling, CPU time
//    (/proc/<pid>/stat utime+stime) and VmRSS (/proc/<pid>/status, sampled each second) over
//    the duration (default 60 s). Targets: CPU < 1 %; RSS < 100 MB (PostgreSQL), < 200 MB (PGlite).
//
//   npm run build && node bench/scheduler.mjs [--db pg|pglite|both] [--events 100] [--duration 60]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  openDatabase,
  migrate,
  upsertDevice,
  addRepository,
  addJob,
  addSchedule,
  removeJob,
  listJobs,
} from '../dist/db/index.js';

const opts = { db: 'both', events: 100, duration: 60 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--db') opts.db = process.argv[++i];
  else if (a === '--events') opts.events = Number(process.argv[++i]);
  else if (a === '--duration') opts.duration = Number(process.argv[++i]);
  else throw new Error(`unknown option ${a}; usage: scheduler.mjs [--db pg|pglite|both] [--events N] [--duration S]`);
}
const repoRoot = path.resolve(import.meta.dirname, '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
const SUMMARY =
  '{"message_type":"summary","files_new":0,"files_changed":0,"files_unmodified":1,"dirs_new":0,"dirs_changed":0,"dirs_unmodified":1,"data_blobs":0,"tree_blobs":0,"data_added":0,"total_files_processed":1,"total_bytes_processed":1,"total_duration":0.01,"snapshot_id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}';

async function setup(kind) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `rbackup2-sched-${kind}-`));
  const dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir);
  const log = path.join(tmp, 'spawns.log');
  const wrapper = path.join(tmp, 'restic-wrapper.sh');
  fs.writeFileSync(
    wrapper,
    `#!/bin/sh\nt=$(date +%s.%N)\necho "$t $1 $RESTIC_REPOSITORY" >> '${log}'\ncase "$1" in\n  list) exit 0 ;;\n  backup) echo '${SUMMARY}'; exit 0 ;;\n  *) exec /usr/bin/restic "$@" ;;\nesac\n`,
    { mode: 0o755 },
  );
  let pgDb = null;
  const yaml = ['device:\n  id: "bench-sched"'];
  if (kind === 'pg') {
    const admin = process.env.RBACKUP2_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const name = `rbackup2_bench_${randomBytes(4).toString('hex')}`;
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    const url = new URL(admin);
    url.pathname = `/${name}`;
    url.searchParams.set('sslmode', 'disable');
    pgDb = { admin, name, url: url.toString() };
    yaml.push(`database:\n  url: "${pgDb.url}"\n  ssl_mode: disable`);
  }
  const port = await freePort();
  yaml.push(
    `client:\n  data_dir: "${dataDir}"\n  log_file: "${path.join(dataDir, 'agent.log')}"\n  log_level: warn\n  restic_binary: "${wrapper}"\n  http_bind: "127.0.0.1:${port}"`,
  );
  fs.writeFileSync(path.join(tmp, 'config.yaml'), `${yaml.join('\n')}\n`);
  const openDb = async () => {
    const db = await openDatabase({ database: pgDb ? { url: pgDb.url, ssl_mode: 'disable' } : undefined, dataDir });
    await migrate(db);
    return db;
  };
  const db = await openDb();
  await upsertDevice(db, { id: 'bench-sched' });
  await db.close();
  return { kind, tmp, log, port, pgDb, openDb, config: path.join(tmp, 'config.yaml') };
}

/** Replace all jobs by `n` jobs, job k with the cron `cron(k)` (UTC); returns repo url -> k. */
async function setJobs(env, n, cron) {
  const db = await env.openDb();
  for (const j of await listJobs(db, { deviceId: 'bench-sched' })) await removeJob(db, j.id);
  const byRepo = new Map();
  for (let k = 0; k < n; k++) {
    const url = path.join(env.tmp, `repo-${k}-${randomBytes(3).toString('hex')}`);
    const repo = await addRepository(db, { name: path.basename(url), url, password: 'bench' });
    const job = await addJob(db, {
      deviceId: 'bench-sched',
      name: `job-${k}`,
      sourcePaths: [env.tmp],
      repositoryId: repo.id,
    });
    await addSchedule(db, { jobId: job.id, type: 'cron', cronExpression: cron(k), timezone: 'UTC', catchUp: false });
    byRepo.set(url, k);
  }
  await db.close();
  return byRepo;
}

async function startAgent(env) {
  // Start the agent as the installed `rbackup2` command does: with the node flags of its shebang.
  const nodeFlags = fs
    .readFileSync(path.join(repoRoot, 'dist/main.js'), 'utf8')
    .split('\n')[0]
    .split(/\s+/)
    .filter((a) => a.startsWith('--'));
  const child = spawn(
    process.execPath,
    [...nodeFlags, path.join(repoRoot, 'dist/main.js'), '--config', env.config, 'run'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    if (stderr.length < 20_000) stderr += d;
  });
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`agent exited ${child.exitCode}: ${stderr.slice(0, 2000)}`);
    try {
      if ((await fetch(`http://127.0.0.1:${env.port}/status`)).ok) return child;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error('agent did not answer /status within 60 s');
}
const stopAgent = async (child) => {
  child.kill('SIGTERM');
  for (let i = 0; i < 300 && child.exitCode === null && child.signalCode === null; i++) await sleep(100);
  if (child.exitCode === null) child.kill('SIGKILL');
};

async function latency(env) {
  const byRepo = await setJobs(env, 10, (k) => `${[0, 1, 2, 3, 4, 5].map((m) => k + 10 * m).join(',')} * * * * *`);
  fs.writeFileSync(env.log, '');
  const child = await startAgent(env);
  const startedAt = Date.now() / 1000;
  const deadline = Date.now() + (opts.events * 1.5 + 30) * 1000;
  const events = () =>
    fs
      .readFileSync(env.log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '))
      .filter(([t, cmd]) => Number(t) > startedAt + 1 && (cmd === 'list' || cmd === 'backup'));
  while (events().filter((e) => e[1] === 'backup').length < opts.events && Date.now() < deadline) await sleep(500);
  await stopAgent(child);
  const out = { list: [], backup: [] };
  for (const [t, cmd, repo] of events()) {
    const k = byRepo.get(repo);
    const ts = Number(t);
    // Latest due time <= ts for job k: seconds s with s % 10 === k.
    const whole = Math.floor(ts);
    const due = whole - (((((whole % 10) - k) % 10) + 10) % 10);
    if (out[cmd].length < opts.events) out[cmd].push((ts - due) * 1000);
  }
  return out;
}

function procSample(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { ticks: Number(f[11]) + Number(f[12]), rssMB: rssKb / 1024 };
}

async function idle(env) {
  await setJobs(env, 20, (k) => `${k} 3 1 1 *`); // 03:kk on 1 January: months away
  const child = await startAgent(env);
  await sleep(5000);
  const a = procSample(child.pid);
  const t0 = Date.now();
  const rss = [a.rssMB];
  while (Date.now() - t0 < opts.duration * 1000) {
    await sleep(1000);
    rss.push(procSample(child.pid).rssMB);
  }
  const b = procSample(child.pid);
  const seconds = (Date.now() - t0) / 1000;
  await stopAgent(child);
  return {
    cpuPercent: ((b.ticks - a.ticks) / 100 / seconds) * 100,
    rssMedianMB: median(rss),
    rssMaxMB: Math.max(...rss),
    seconds,
  };
}

const rows = [];
for (const kind of opts.db === 'both' ? ['pg', 'pglite'] : [opts.db]) {
  const env = await setup(kind);
  try {
    console.error(`${kind}: latency over ${opts.events} due events...`);
    const lat = await latency(env);
    console.error(`${kind}: idle for ${opts.duration} s...`);
    const id = await idle(env);
    rows.push({ kind, lat, id });
  } finally {
    if (env.pgDb) {
      const c = new pg.Client({ connectionString: env.pgDb.admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${env.pgDb.name} WITH (FORCE)`);
      await c.end();
    }
    fs.rmSync(env.tmp, { recursive: true, force: true });
  }
}
const f = (n, d = 0) => n.toFixed(d);
console.log(
  '| db | due events | due->`list locks` spawn median / worst (ms) | due->`backup` spawn median / worst (ms) | idle CPU % | idle RSS median / max (MB) | target |',
);
console.log('|---|---|---|---|---|---|---|');
let ok = true;
for (const { kind, lat, id } of rows) {
  const rssTarget = kind === 'pg' ? 100 : 200;
  const pass =
    lat.backup.length === opts.events && Math.max(...lat.backup) < 1000 && id.cpuPercent < 1 && id.rssMaxMB < rssTarget;
  ok &&= pass;
  console.log(
    `| ${kind === 'pg' ? 'PostgreSQL' : 'PGlite'} | ${lat.backup.length} | ${f(median(lat.list))} / ${f(Math.max(...lat.list))} | ${f(median(lat.backup))} / ${f(Math.max(...lat.backup))} | ${f(id.cpuPercent, 2)} (${f(id.seconds)} s) | ${f(id.rssMedianMB)} / ${f(id.rssMaxMB)} | < 1000 ms, < 1 %, < ${rssTarget} MB: ${pass ? 'met' : 'NOT met'} |`,
  );
}
if (!ok) process.exitCode = 1;

#!/usr/bin/env node
/* global process, console, setTimeout, fetch */
// Footprint of the agent on each database (issue 21): embedded PGlite and a PostgreSQL server.
//
//   npm run build && node bench/footprint.mjs [--db both|pg|pglite] [--starts 5] [--idle 120]
//                                            [--backups 5] [--files 10000] [--quick] [--keep]
//                                            [--baseline DIR]
//
// Prints, per database:
// 1. start to healthy API: wall time from spawning the installed command (`bin.rbackup2` of
//    package.json, with the node flags of its shebang, as `rbackup2 run` starts) to the first
//    `GET /health` answering 200 (polled every 10 ms); `--starts` runs per database, the two
//    databases alternating (pg, pglite, pg, ...) so both see the same machine load. RSS (VmRSS of
//    /proc/<pid>/status) right after the first 200.
// 2. idle: one agent of each database started side by side, left alone for `--idle` seconds
//    (default 120; `--quick` = 20): RSS at the end and its median/maximum over the window (sampled
//    each second), and CPU (utime+stime of /proc/<pid>/stat over the window, % of one core).
// 3. one-shot backup: `rbackup2 --config C backup bench --json` with no agent running, against a
//    bare `restic backup --json` with the agent's exact argv and environment (buildBackupArgs,
//    buildResticEnv), on N unchanged small files (default 10,000; one initial backup first). Runs
//    are interleaved bare, pg, pglite, bare, ... (`--backups` rounds); the ratio is the median of
//    the per-round ratios (agent wall / bare wall of the same round), and of the medians.
// --baseline DIR: also run the build in DIR (another checkout, e.g. main, after `npm run build`
// there) for each database, interleaved with this one: before/after figures under the same load.
// CPU time (user+sys) is printed beside wall times: on a loaded machine it moves far less.
// The load average (os.loadavg) before and after each phase is printed: other jobs on the machine
// move every figure, which is why all comparisons are paired in time.
//
// PostgreSQL: a fresh database on RBACKUP2_TEST_PG_URL (default
// postgres://postgres@127.0.0.1:5432/postgres), dropped at the end.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { buildBackupArgs } from '../dist/backup/command.js';
import { buildResticEnv } from '../dist/restic/connection.js';
import { discoverRestic } from '../dist/restic/version.js';
import { createBenchDatabase, makeSourceTree, seedBenchJob } from './dataset.mjs';

const USAGE =
  'usage: footprint.mjs [--db both|pg|pglite] [--starts N] [--idle SECONDS] [--backups N] [--files N] [--quick] [--keep]';
const opts = { db: 'both', starts: 5, idle: 120, backups: 5, files: 10_000, keep: false, baseline: null };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const num = () => {
    const n = Number(process.argv[++i]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${a} needs a number; ${USAGE}`);
    return n;
  };
  if (a === '--db') opts.db = process.argv[++i];
  else if (a === '--starts') opts.starts = num();
  else if (a === '--idle') opts.idle = num();
  else if (a === '--backups') opts.backups = num();
  else if (a === '--files') opts.files = num();
  else if (a === '--quick') Object.assign(opts, { starts: 3, idle: 20, backups: 3 });
  else if (a === '--keep') opts.keep = true;
  else if (a === '--baseline') opts.baseline = path.resolve(process.argv[++i]);
  else throw new Error(`unknown option ${a}; ${USAGE}`);
}
if (!['both', 'pg', 'pglite'].includes(opts.db)) throw new Error(USAGE);
const dbs = opts.db === 'both' ? ['pg', 'pglite'] : [opts.db];

/** The installed command of a checkout: package.json `bin.rbackup2` with its shebang's node flags. */
function command(root) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const binFile = path.join(root, typeof pkg.bin === 'string' ? pkg.bin : pkg.bin.rbackup2);
  const shebang = fs.readFileSync(binFile, 'utf8').split('\n')[0];
  const nodeFlags = shebang.startsWith('#!') ? shebang.split(/\s+/).filter((a) => a.startsWith('--')) : [];
  return [...nodeFlags, binFile];
}
const repoRoot = path.resolve(import.meta.dirname, '..');
// Variants: each database with this build, and with the baseline build when given.
const variants = dbs.flatMap((db) => [
  { key: db, db, cmd: command(repoRoot) },
  ...(opts.baseline ? [{ key: `${db}@baseline`, db, cmd: command(opts.baseline) }] : []),
]);
const kinds = variants.map((v) => v.key);
const cli = (env, ...args) => [...env.cmd, '--config', env.config, ...args];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
const log = (msg) => console.error(`[${new Date().toISOString().slice(11, 19)} load ${load()}] ${msg}`);

function proc(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { ticks: Number(f[11]) + Number(f[12]), rssMiB: rssKb / 1024 };
}

/**
 * Run to completion under /usr/bin/time: wall seconds, CPU seconds (user+sys of the command and
 * its children: load-independent, unlike wall time), peak RSS (MiB) and stdout. Throws on a
 * spawn error or a non-zero exit.
 */
function timed(cmd, args, env) {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'FOOTPRINT_TIME %U %S %M', cmd, ...args], {
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.slice(0, 5).join(' ')} exited ${r.status}: ${r.stderr.slice(0, 800)}`);
  const [user, sys, maxKb] = /FOOTPRINT_TIME (\S+) (\S+) (\d+)/.exec(r.stderr).slice(1).map(Number);
  return { seconds, cpu: user + sys, maxRssMiB: maxKb / 1024, stdout: r.stdout };
}

// ---- set-up: one source, one restic repository; per database a data folder, config and job ----
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-footprint-'));
const src = path.join(tmp, 'src');
const repoDir = path.join(tmp, 'repo');
makeSourceTree(src, opts.files);
const password = randomBytes(12).toString('hex');
const deviceId = 'bench-footprint';
const restic = await discoverRestic('/usr/bin/restic');
const envs = {};
const pgAdmin = process.env.RBACKUP2_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function setup({ key: kind, db: dbKind, cmd }) {
  const dir = path.join(tmp, kind);
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  let pgDb = null;
  const yaml = [`device:\n  id: "${deviceId}"`];
  if (dbKind === 'pg') {
    pgDb = await createBenchDatabase(pgAdmin);
    yaml.push(`database:\n  url: "${pgDb.url}"\n  ssl_mode: disable`);
  }
  const port = await freePort();
  yaml.push(
    `client:\n  data_dir: "${dataDir}"\n  log_file: "${path.join(dataDir, 'agent.log')}"\n  log_level: warn\n  restic_binary: /usr/bin/restic\n  http_bind: "127.0.0.1:${port}"`,
  );
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, `${yaml.join('\n')}\n`);
  const job = await seedBenchJob({ pgDb, dataDir, deviceId, repoDir, password, src });
  return { kind, cmd, dataDir, port, config, pgDb, job };
}

async function startAgent(env) {
  const t0 = performance.now();
  const child = spawn(process.execPath, cli(env, 'run'), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    if (stderr.length < 20_000) stderr += d;
  });
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${env.kind} agent exited ${child.exitCode}: ${stderr.slice(0, 2000)}`);
    if (performance.now() - t0 > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`${env.kind} agent: no healthy API within 60 s`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${env.port}/health`);
      if (res.ok) {
        const seconds = (performance.now() - t0) / 1000;
        const p = proc(child.pid);
        return { child, seconds, rssMiB: p.rssMiB, cpu: p.ticks / 100 };
      }
    } catch {
      /* not listening yet */
    }
    await sleep(10);
  }
}
async function stopAgent(child) {
  child.kill('SIGTERM');
  for (let i = 0; i < 300 && child.exitCode === null && child.signalCode === null; i++) await sleep(100);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

const results = { load: { before: load() }, starts: {}, idle: {}, backup: {} };
try {
  for (const v of variants) envs[v.key] = await setup(v);
  const first = envs[kinds[0]];
  const resticEnv = buildResticEnv({ repository: first.job.repository, dataDir: first.dataDir, agentEnv: process.env });
  timed('/usr/bin/restic', ['init'], resticEnv);
  const bareArgs = buildBackupArgs(first.job, restic.version, { sourcePaths: [src], retryLockSeconds: 120 }).args;
  log(`${opts.files} files; initial backup`);
  timed('/usr/bin/restic', bareArgs, resticEnv);
  // One run per database before measuring: creates the embedded folder (initdb) and warms caches.
  for (const k of kinds) timed(process.execPath, cli(envs[k], 'backup', 'bench', '--json'), process.env);

  // 1. start to healthy, alternating databases.
  results.load.starts = [load()];
  for (const k of kinds) results.starts[k] = [];
  for (let i = 0; i < opts.starts; i++) {
    for (const k of i % 2 ? [...kinds].reverse() : kinds) {
      const s = await startAgent(envs[k]);
      await stopAgent(s.child);
      results.starts[k].push(s);
      log(
        `start ${k} #${i + 1}: ${(s.seconds * 1000).toFixed(0)} ms to healthy (CPU ${(s.cpu * 1000).toFixed(0)} ms), RSS ${s.rssMiB.toFixed(1)} MiB`,
      );
    }
  }
  results.load.starts.push(load());

  // 2. idle, side by side.
  if (opts.idle > 0) {
    results.load.idle = [load()];
    const agents = {};
    for (const k of kinds) agents[k] = await startAgent(envs[k]);
    const a = Object.fromEntries(kinds.map((k) => [k, proc(agents[k].child.pid)]));
    const samples = Object.fromEntries(kinds.map((k) => [k, []]));
    const t0 = performance.now();
    while (performance.now() - t0 < opts.idle * 1000) {
      await sleep(1000);
      for (const k of kinds) samples[k].push(proc(agents[k].child.pid).rssMiB);
    }
    const seconds = (performance.now() - t0) / 1000;
    for (const k of kinds) {
      const b = proc(agents[k].child.pid);
      results.idle[k] = {
        seconds,
        rssStartMiB: agents[k].rssMiB,
        rssEndMiB: b.rssMiB,
        rssMedianMiB: median(samples[k]),
        rssMaxMiB: Math.max(...samples[k]),
        cpuPercent: ((b.ticks - a[k].ticks) / 100 / seconds) * 100,
      };
      await stopAgent(agents[k].child);
      log(
        `idle ${k}: RSS ${results.idle[k].rssEndMiB.toFixed(1)} MiB after ${seconds.toFixed(0)} s, CPU ${results.idle[k].cpuPercent.toFixed(2)} %`,
      );
    }
    results.load.idle.push(load());
  }

  // 3. one-shot backup vs bare restic, interleaved.
  if (opts.backups > 0) {
    results.load.backup = [load()];
    const bare = [];
    const bareCpu = [];
    const agent = Object.fromEntries(kinds.map((k) => [k, []]));
    for (let i = 0; i < opts.backups; i++) {
      const b = timed('/usr/bin/restic', bareArgs, resticEnv);
      bare.push(b.seconds);
      bareCpu.push(b.cpu);
      for (const k of kinds) {
        const r = timed(process.execPath, cli(envs[k], 'backup', 'bench', '--json'), process.env);
        const j = JSON.parse(r.stdout);
        if (j.status !== 'success') throw new Error(`${k} backup ${j.status}: ${j.errorMessage}`);
        agent[k].push({ wall: r.seconds, cpu: r.cpu, maxRssMiB: r.maxRssMiB, runBackup: j.durationSeconds });
      }
      log(
        `backup round ${i + 1}: bare ${(bare[i] * 1000).toFixed(0)} ms (CPU ${(bareCpu[i] * 1000).toFixed(0)}), ${kinds.map((k) => `${k} ${(agent[k][i].wall * 1000).toFixed(0)} ms (CPU ${(agent[k][i].cpu * 1000).toFixed(0)})`).join(', ')}`,
      );
    }
    for (const k of kinds) {
      results.backup[k] = {
        bareMedianMs: median(bare) * 1000,
        agentMedianMs: median(agent[k].map((x) => x.wall)) * 1000,
        ratioOfMedians: median(agent[k].map((x) => x.wall)) / median(bare),
        medianPairedRatio: median(agent[k].map((x, i) => x.wall / bare[i])),
        outsideRunMs: median(agent[k].map((x) => x.wall - x.runBackup)) * 1000,
        bareCpuMs: median(bareCpu) * 1000,
        agentCpuMs: median(agent[k].map((x) => x.cpu)) * 1000,
        cpuRatio: median(agent[k].map((x, i) => x.cpu / bareCpu[i])),
        maxRssMiB: median(agent[k].map((x) => x.maxRssMiB)),
      };
    }
    results.load.backup.push(load());
  }
} finally {
  for (const e of Object.values(envs)) {
    if (e.pgDb) await e.pgDb.drop();
  }
  if (opts.keep) console.error(`kept ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}
results.load.after = load();

const f = (n, d = 0) => (n === undefined ? '-' : n.toFixed(d));
const name = (k) => k.replace(/^pglite/, 'PGlite (embedded)').replace(/^pg\b/, 'PostgreSQL');
console.log(
  `node ${process.version}, ${os.cpus().length} CPUs, restic ${restic.version.raw}; ${opts.files} files; load average (1/5/15 min) before ${results.load.before}, after ${results.load.after}`,
);
console.log(
  `starts: ${opts.starts} per database (load ${results.load.starts?.join(' -> ')}); idle ${opts.idle} s (load ${results.load.idle?.join(' -> ') ?? '-'}); one-shot backups: ${opts.backups} rounds (load ${results.load.backup?.join(' -> ') ?? '-'})`,
);
console.log('');
console.log(
  '| database | start to healthy median (min-max) | CPU until healthy | RSS after start | RSS after idle (median / max over idle) | idle CPU | one-shot backup median vs bare restic | wall ratio (paired median / of medians) | CPU vs bare (ratio) | outside the run | one-shot peak RSS |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const k of kinds) {
  const st = results.starts[k];
  const secs = st.map((s) => s.seconds);
  const id = results.idle[k];
  const b = results.backup[k];
  console.log(
    `| ${name(k)} | ${f(median(secs), 2)} s (${f(Math.min(...secs), 2)}-${f(Math.max(...secs), 2)}) | ${f(median(st.map((s) => s.cpu)), 2)} s | ${f(median(st.map((s) => s.rssMiB)))} MiB | ${id ? `${f(id.rssEndMiB)} MiB (${f(id.rssMedianMiB)} / ${f(id.rssMaxMiB)}) after ${f(id.seconds)} s` : '-'} | ${id ? `${f(id.cpuPercent, 2)} %` : '-'} | ${b ? `${f(b.agentMedianMs)} ms vs ${f(b.bareMedianMs)} ms` : '-'} | ${b ? `${f(b.medianPairedRatio, 2)}x / ${f(b.ratioOfMedians, 2)}x` : '-'} | ${b ? `${f(b.agentCpuMs)} vs ${f(b.bareCpuMs)} ms (${f(b.cpuRatio, 2)}x)` : '-'} | ${b ? `${f(b.outsideRunMs)} ms` : '-'} | ${b ? `${f(b.maxRssMiB)} MiB` : '-'} |`,
  );
}
if (process.env.FOOTPRINT_JSON)
  fs.writeFileSync(
    process.env.FOOTPRINT_JSON,
    JSON.stringify({ opts, results }, (k, v) => (k === 'child' ? undefined : v), 1),
  );

#!/usr/bin/env node
/* global process, console, setTimeout, clearInterval, setInterval, URL */
// Load test of GET /status on loopback: N concurrent workers over keep-alive connections, paced
// to a target total rate, for a fixed duration; prints requests/s, error count and latency
// percentiles (ms).
//
//   node bench/api.mjs [URL] [--duration 60] [--rate 500] [--workers 16] [--token T] [--path /status]
//   npm run build && node bench/api.mjs --start-agent [--db postgres|pglite] [--source-mb 200]
//                                        [--no-backup] [--nice-restic] [--duration 60] [--rate 500] [...]
//
// URL defaults to http://127.0.0.1:1201. Latencies are kept in a bounded array (at most
// rate * duration samples, capped at 2 million).
//
// --start-agent: this process starts the REAL agent (dist/app.js startAgent, log level warn) on a
// temp PostgreSQL database (--pg-url admin URL, default postgres://postgres@127.0.0.1:5432/postgres)
// or PGlite, with a temp restic repository and a job over --source-mb MB of random data whose
// restic_args are `--force` (every run re-reads and hashes the whole source). It triggers the job
// through POST /jobs/:id/run whenever it is not running, so a backup runs during the whole load,
// and runs the load generator as a CHILD process (this file in URL mode): the loader never shares
// the agent's event loop. Prints the loader's figures plus how many backups ran meanwhile.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

function parseArgs(argv) {
  const opts = {
    url: 'http://127.0.0.1:1201',
    duration: 60,
    rate: 500,
    workers: 16,
    token: process.env.RBACKUP2_CLIENT_API_TOKEN ?? '',
    path: '/status',
    startAgent: false,
    db: 'postgres',
    pgUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
    sourceMb: 200,
    backup: true,
    niceRestic: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const next = () => {
      i += 1;
      if (argv[i] === undefined) throw new Error(`${a} needs a value`);
      return argv[i];
    };
    if (a === '--duration') opts.duration = Number(next());
    else if (a === '--rate') opts.rate = Number(next());
    else if (a === '--workers') opts.workers = Number(next());
    else if (a === '--token') opts.token = next();
    else if (a === '--path') opts.path = next();
    else if (a === '--start-agent') opts.startAgent = true;
    else if (a === '--db') opts.db = next();
    else if (a === '--pg-url') opts.pgUrl = next();
    else if (a === '--source-mb') opts.sourceMb = Number(next());
    else if (a === '--no-backup') opts.backup = false;
    else if (a === '--nice-restic') opts.niceRestic = true;
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: node bench/api.mjs [URL] [--duration S] [--rate R] [--workers N] [--token T] [--path P]\n       node bench/api.mjs --start-agent [--db postgres|pglite] [--pg-url URL] [--source-mb MB] [--no-backup] [--nice-restic] [--duration S] [--rate R] [--workers N]',
      );
      process.exit(0);
    } else if (!a.startsWith('--')) opts.url = a;
    else throw new Error(`unknown option ${a}`);
  }
  for (const k of ['duration', 'rate', 'workers', 'sourceMb'])
    if (!(opts[k] > 0)) throw new Error(`--${k} must be a positive number`);
  if (opts.db !== 'postgres' && opts.db !== 'pglite') throw new Error('--db must be postgres or pglite');
  return opts;
}

function get(agent, target, headers) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        headers,
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ ok: res.statusCode === 200, status: res.statusCode, ms: performance.now() - t0 }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ ok: false, status: 0, ms: performance.now() - t0 }));
    req.end();
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The load generator: paced GETs for opts.duration seconds; returns the result object. */
async function load(opts) {
  const target = new URL(opts.path, opts.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.workers });
  const headers = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const maxSamples = Math.min(2_000_000, Math.ceil(opts.rate * opts.duration * 1.1));
  const latencies = new Float64Array(maxSamples);
  let n = 0;
  let errors = 0;
  const statuses = new Map();
  const start = performance.now();
  const end = start + opts.duration * 1000;
  const interval = (1000 * opts.workers) / opts.rate; // each worker's pacing, ms
  console.log(`GET ${target.href} for ${opts.duration} s at ${opts.rate} req/s with ${opts.workers} workers`);
  const worker = async (w) => {
    let due = start + (interval * w) / opts.workers;
    while (due < end) {
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const r = await get(agent, target, headers);
      if (n < maxSamples) latencies[n] = r.ms;
      n += 1;
      if (!r.ok) errors += 1;
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      due += interval;
      if (performance.now() > due + 1000) due = performance.now(); // overloaded: don't burst to catch up
    }
  };
  await Promise.all(Array.from({ length: opts.workers }, (_, w) => worker(w)));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  const sorted = Array.from(latencies.subarray(0, Math.min(n, maxSamples))).sort((a, b) => a - b);
  return {
    requests: n,
    seconds: Number(seconds.toFixed(2)),
    requestsPerSecond: Number((n / seconds).toFixed(1)),
    errors,
    statuses: Object.fromEntries(statuses),
    latencyMs: {
      p50: Number(percentile(sorted, 50).toFixed(2)),
      p90: Number(percentile(sorted, 90).toFixed(2)),
      p99: Number(percentile(sorted, 99).toFixed(2)),
      max: Number((sorted[sorted.length - 1] ?? NaN).toFixed(2)),
    },
  };
}

/** client.api_token of the agent --start-agent starts (every route but /health needs a login). */
const BENCH_TOKEN = 'bench-api-token-0123456789abcdef';

function post(url) {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json', 'content-length': 2 },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', () => resolve(0));
    req.end('{}');
  });
}

/** Temp restic repository, random source, database and the agent; returns {agent, jobId, cleanup}. */
async function startRealAgent(opts) {
  const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist');
  if (!fs.existsSync(path.join(dist, 'app.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const { startAgent } = await import(path.join(dist, 'app.js'));
  const { parseLocalConfig } = await import(path.join(dist, 'config/local-config.js'));
  const { addJob, addRepository, migrate, openDatabase, upsertDevice } = await import(path.join(dist, 'db/index.js'));
  const { pino } = await import('pino');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-bench-api-'));
  const password = randomBytes(12).toString('hex');
  const repoDir = path.join(tmp, 'repo');
  execFileSync('restic', ['init', '--repo', repoDir], {
    env: { ...process.env, RESTIC_PASSWORD: password },
    stdio: 'pipe',
  });
  const source = path.join(tmp, 'source');
  fs.mkdirSync(source);
  for (let f = 0; f * 50 < opts.sourceMb; f += 1) {
    const fd = fs.openSync(path.join(source, `r${f}.bin`), 'w');
    for (let mb = f * 50; mb < Math.min(opts.sourceMb, (f + 1) * 50); mb += 1)
      fs.writeSync(fd, randomBytes(1024 * 1024));
    fs.closeSync(fd);
  }
  let dbYaml = '';
  let dropDb = async () => {};
  if (opts.db === 'postgres') {
    const pg = (await import('pg')).default;
    const name = `rbackup2_bench_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: opts.pgUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(opts.pgUrl);
    url.pathname = `/${name}`;
    url.searchParams.set('sslmode', 'disable');
    dbYaml = `database:\n  url: "${url}"\n`;
    dropDb = async () => {
      const c = new pg.Client({ connectionString: opts.pgUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  }
  // --nice-restic: restic through a wrapper at the lowest CPU priority (client.restic_binary).
  let binYaml = '';
  if (opts.niceRestic) {
    const wrapper = path.join(tmp, 'restic-nice.sh');
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec nice -n 19 restic "$@"\n`, { mode: 0o755 });
    binYaml = `  restic_binary: "${wrapper}"\n`;
  }
  const yaml = `device:\n  id: bench-api\n  name: Bench\n${dbYaml}client:\n${binYaml}  http_bind: "127.0.0.1:0"\n  data_dir: "${path.join(tmp, 'data')}"\n  api_token: "${BENCH_TOKEN}"\n  log_file: "${path.join(tmp, 'data', 'agent.log')}"\n  shutdown_timeout_seconds: 5\n`;
  const removeAll = async () => {
    await dropDb();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
    const seed = await openDatabase({ database: local.database, dataDir: local.dataDir });
    let jobId;
    try {
      await migrate(seed);
      await upsertDevice(seed, { id: 'bench-api', name: 'Bench' });
      const repo = await addRepository(seed, { name: 'bench repo', url: repoDir, password });
      jobId = (
        await addJob(seed, {
          deviceId: 'bench-api',
          name: 'Busy',
          sourcePaths: [source],
          repositoryId: repo.id,
          resticArgs: ['--force'],
        })
      ).id;
    } finally {
      await seed.close();
    }
    const agent = await startAgent({ local, logger: pino({ level: 'warn' }) });
    return {
      agent,
      jobId,
      cleanup: async () => {
        await agent.stop('bench done');
        await removeAll();
      },
    };
  } catch (err) {
    await removeAll();
    throw err;
  }
}

/** --start-agent: agent here, backups in a loop, loader in a child process. */
async function benchRealAgent(opts) {
  const { agent, jobId, cleanup } = await startRealAgent(opts);
  const runs = { started: 0, finished: 0, statuses: {} };
  let runningSince = null;
  let runningMs = 0;
  agent.service.events.on('run.started', () => {
    runs.started += 1;
    runningSince = performance.now();
  });
  agent.service.events.on('run.finished', (e) => {
    runs.finished += 1;
    runs.statuses[e.status] = (runs.statuses[e.status] ?? 0) + 1;
    if (runningSince !== null) runningMs += performance.now() - runningSince;
    runningSince = null;
    trigger();
  });
  const trigger = () => {
    if (opts.backup) void post(`${agent.url}/jobs/${jobId}/run`);
  };
  trigger();
  const kick = setInterval(() => {
    if (runningSince === null) trigger();
  }, 500);
  await new Promise((r) => setTimeout(r, 1000)); // the first backup is under way
  const loadStart = performance.now();
  const runningAtStart = runningMs;
  const cpuStart = process.cpuUsage();
  const args = [
    fileURLToPath(import.meta.url),
    agent.url,
    '--duration',
    String(opts.duration),
    '--rate',
    String(opts.rate),
    '--workers',
    String(opts.workers),
    '--path',
    opts.path,
    '--token',
    BENCH_TOKEN,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  const code = await new Promise((r) => child.on('close', r));
  const loadMs = performance.now() - loadStart;
  const cpu = process.cpuUsage(cpuStart); // the agent's process only (restic and the loader are children)
  const busyMs =
    runningMs - runningAtStart + (runningSince !== null ? performance.now() - Math.max(runningSince, loadStart) : 0);
  clearInterval(kick);
  await cleanup();
  const result = JSON.parse(out.trim().split('\n').pop());
  result.agent = {
    db: opts.db,
    sourceMb: opts.sourceMb,
    backupsFinished: runs.finished,
    backupStatuses: runs.statuses,
    backupRunningPercent: Number(Math.min(100, (100 * busyMs) / loadMs).toFixed(1)),
    cpuPercent: Number(((cpu.user + cpu.system) / 10 / loadMs).toFixed(1)),
    cpuMsPerRequest: Number(((cpu.user + cpu.system) / 1000 / Math.max(1, result.requests)).toFixed(3)),
  };
  console.log(
    `requests/s: ${result.requestsPerSecond}  p50: ${result.latencyMs.p50} ms  p99: ${result.latencyMs.p99} ms  max: ${result.latencyMs.max} ms  errors: ${result.errors}  (backups finished: ${runs.finished}, a backup ran ${result.agent.backupRunningPercent}% of the time; agent CPU ${result.agent.cpuPercent}%, ${result.agent.cpuMsPerRequest} ms per request)`,
  );
  console.log(JSON.stringify(result));
  process.exitCode = code !== 0 || result.errors > 0 ? 1 : 0;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.startAgent) return benchRealAgent(opts);
  const result = await load(opts);
  console.log(`requests/s: ${result.requestsPerSecond}  p99: ${result.latencyMs.p99} ms  errors: ${result.errors}`);
  console.log(JSON.stringify(result));
  process.exitCode = result.errors > 0 ? 1 : 0;
}

main().catch((err) => {
  console.error(`bench/api.mjs: ${err.message}`);
  process.exit(2);
});

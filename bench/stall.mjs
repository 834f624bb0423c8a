#!/usr/bin/env node
/* global process, console, setTimeout, fetch */
// C27 figures with the REAL agent (dist/app.js) on a temp PostgreSQL database: a job whose
// repository is black-holed (a loopback TCP listener that accepts and never answers, used as a
// `rest:` URL) with stall_timeout_seconds 20, and a second job of the same device on a healthy local
// repository (max_concurrent_backups 1, so it waits behind the first). Prints:
//   - stall to end: from the stalled run's start (restic never gets an answer, so the stall begins
//     at once) to its end, recorded `failed`;
//   - next job start: from the stalled run's start to the start of the device's next job;
//   - agent stop: a second stalled run is started, and 3 s later the agent is stopped
//     (client.shutdown_timeout_seconds 5); the time stop() takes.
//
//   npm run build && node bench/stall.mjs [--pg-url postgres://postgres@127.0.0.1:5432/postgres] [--stall 20]
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createBenchDatabase } from './dataset.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
const pgUrl = opt('--pg-url', 'postgres://postgres@127.0.0.1:5432/postgres');
const stall = Number(opt('--stall', '20'));

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist');
if (!fs.existsSync(path.join(dist, 'app.js'))) throw new Error('dist/ is missing: run `npm run build` first');
const { startAgent } = await import(path.join(dist, 'app.js'));
const { parseLocalConfig } = await import(path.join(dist, 'config/local-config.js'));
const { addJob, addRepository, migrate, openDatabase, upsertDevice, setSetting } = await import(
  path.join(dist, 'db/index.js')
);
const { pino } = await import('pino');
const pg = (await import('pg')).default;

const sockets = new Set();
const hole = net.createServer((s) => {
  sockets.add(s);
  s.on('error', () => {});
  s.on('close', () => sockets.delete(s));
});
await new Promise((r) => hole.listen(0, '127.0.0.1', r));
const port = hole.address().port;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-bench-stall-'));
const benchDb = await createBenchDatabase(pgUrl);
const url = benchDb.url;
const password = randomBytes(12).toString('hex');
const repoDir = path.join(tmp, 'repo');
execFileSync('restic', ['init', '--repo', repoDir], {
  env: { ...process.env, RESTIC_PASSWORD: password },
  stdio: 'pipe',
});
const source = path.join(tmp, 'source');
fs.mkdirSync(source);
fs.writeFileSync(path.join(source, 'a.txt'), 'a');

const apiToken = randomBytes(16).toString('hex'); // the API needs a login (issue 15)
const yaml = `device:\n  id: bench-stall\n  name: Bench\ndatabase:\n  url: "${url}"\nclient:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${path.join(tmp, 'data')}"\n  log_file: "${path.join(tmp, 'data', 'agent.log')}"\n  shutdown_timeout_seconds: 5\n  api_token: "${apiToken}"\n`;
const local = parseLocalConfig(yaml, path.join(tmp, 'config.yaml'), {});
const seed = await openDatabase({ database: local.database, dataDir: local.dataDir });
await migrate(seed);
await upsertDevice(seed, { id: 'bench-stall', name: 'Bench' });
await setSetting(seed, { deviceId: null, key: 'stall_timeout_seconds', value: String(stall) });
const dead = await addRepository(seed, {
  name: 'black hole',
  url: `rest:http://bench:secret@127.0.0.1:${port}/`,
  password,
});
const good = await addRepository(seed, { name: 'local', url: repoDir, password });
const stalledJob = (
  await addJob(seed, { deviceId: 'bench-stall', name: 'Stalled', sourcePaths: [source], repositoryId: dead.id })
).id;
const nextJob = (
  await addJob(seed, { deviceId: 'bench-stall', name: 'Next', sourcePaths: [source], repositoryId: good.id })
).id;
await seed.close();

const agent = await startAgent({ local, logger: pino({ level: process.env.BENCH_LOG ?? 'error' }) });
const events = [];
agent.service.events.on('run.started', (e) => events.push({ t: performance.now(), kind: 'started', jobId: e.jobId }));
agent.service.events.on('run.finished', (e) =>
  events.push({ t: performance.now(), kind: 'finished', jobId: e.jobId, status: e.status }),
);
const post = (p) =>
  fetch(`${agent.url}${p}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', authorization: `Bearer ${apiToken}` },
    body: '{}',
  }).then((r) => r.text());
const waitFor = async (pred, ms) => {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

const debug = (...a) => {
  if (process.env.BENCH_LOG) console.error(...a);
};
agent.service.events.on('run.started', (e) => debug('started', e.jobName));
agent.service.events.on('run.finished', (e) => debug('finished', e.jobName, e.status));
debug(await post(`/jobs/${stalledJob}/run`));
debug(await post(`/jobs/${nextJob}/run`));
await waitFor(() => events.some((e) => e.kind === 'started' && e.jobId === nextJob), (stall + 120) * 1000);
await waitFor(() => events.some((e) => e.kind === 'finished' && e.jobId === nextJob), 120_000);
const s0 = events.find((e) => e.kind === 'started' && e.jobId === stalledJob);
const s1 = events.find((e) => e.kind === 'finished' && e.jobId === stalledJob);
const n0 = events.find((e) => e.kind === 'started' && e.jobId === nextJob);
const n1 = events.find((e) => e.kind === 'finished' && e.jobId === nextJob);

await post(`/jobs/${stalledJob}/run`);
await new Promise((r) => setTimeout(r, 3000));
const t0 = performance.now();
await agent.stop('bench');
const stopMs = performance.now() - t0;

const check = new pg.Client({ connectionString: url });
await check.connect();
const { rows } = await check.query(
  'SELECT j.name, r.status, r.error_message FROM runs r JOIN backup_jobs j ON j.id = r.job_id ORDER BY r.id',
);
await check.end();
for (const s of sockets) s.destroy();
hole.close();
await benchDb.drop();
fs.rmSync(tmp, { recursive: true, force: true });

const sec = (ms) => (ms / 1000).toFixed(1);
console.log(
  `stall_timeout_seconds: ${stall}   load average: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(`stall to end of the stalled run: ${sec(s1.t - s0.t)} s (status ${s1.status})`);
console.log(
  `next job of the device started:  ${sec(n0.t - s0.t)} s after the stalled run started (${sec(n0.t - s1.t)} s after it ended); it ended ${n1.status}`,
);
console.log(`agent stop with a stalled run:   ${sec(stopMs)} s (shutdown_timeout_seconds 5)`);
for (const r of rows) console.log(`  run: ${r.name} ${r.status}${r.error_message ? ` - ${r.error_message}` : ''}`);

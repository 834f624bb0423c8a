#!/usr/bin/env node
/* global process, console, fetch, setTimeout */
// Issue 17: browsing and downloading through the agent against plain restic on the same data.
//  1. time to list the first folder and a folder four levels down of an N-file snapshot
//     (GET /jobs/{id}/snapshots/{sid}/ls?path= against `restic ls --json --no-lock SNAP DIR`);
//  2. a large file's download (GET .../download?path=) against `restic dump SNAP FILE` read through
//     a pipe by this process: throughput (MiB/s) and the agent's peak RSS (VmHWM) before and after.
// Medians of R runs, alternating agent and restic, with ratios, as JSON.
//
//   npm run build && node bench/restore.mjs [--files 100000] [--mb 1024] [--runs 3]
//
// The agent runs as `node dist/main.js run` on the embedded database in a temp folder; the
// snapshot is made with plain restic and the job's backup:<uuid> tag.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { seedBenchJob } from './dataset.mjs';

const repoRoot = path.resolve(import.meta.dirname, '..');
const opts = { files: 100_000, mb: 1024, runs: 3 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--files') opts.files = Number(process.argv[++i]);
  else if (a === '--mb') opts.mb = Number(process.argv[++i]);
  else if (a === '--runs') opts.runs = Number(process.argv[++i]);
  else throw new Error(`bench/restore.mjs: unknown option ${a}`);
}
const mainJs = path.join(repoRoot, 'dist/main.js');
if (!fs.existsSync(mainJs)) throw new Error('dist/main.js is missing: run `npm run build` first');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-bench-restore-'));
const password = 'bench restore pw';
const repoDir = path.join(tmp, 'repo');
const src = path.join(tmp, 'src');
const env = {
  PATH: process.env.PATH,
  RESTIC_REPOSITORY: repoDir,
  RESTIC_PASSWORD: password,
  RESTIC_CACHE_DIR: path.join(tmp, 'cache'),
};
const restic = (args, out = 'pipe') => {
  const r = spawnSync('restic', args, { env, stdio: ['ignore', out, 'pipe'], maxBuffer: 512 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`restic ${args[0]}: ${r.stderr}`);
  return r.stdout;
};
const vm = (pid, key) =>
  Number(new RegExp(`${key}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

// Data: src/a0..9/b0..9/c0..9/d0..9/ with files spread evenly (four levels of folders), plus big.bin.
const perLeaf = Math.max(1, Math.round(opts.files / 10_000));
for (let a = 0; a < 10; a++)
  for (let b = 0; b < 10; b++)
    for (let c = 0; c < 10; c++)
      for (let d = 0; d < 10; d++) {
        const dir = path.join(src, `a${a}`, `b${b}`, `c${c}`, `d${d}`);
        fs.mkdirSync(dir, { recursive: true });
        for (let f = 0; f < perLeaf; f++) fs.writeFileSync(path.join(dir, `f${f}.txt`), `${a}${b}${c}${d}${f}\n`);
      }
const big = path.join(src, 'big.bin');
{
  const fd = fs.openSync(big, 'w');
  for (let i = 0; i < opts.mb; i++) fs.writeSync(fd, randomBytes(1024 * 1024));
  fs.closeSync(fd);
}
restic(['init']);
const deviceId = 'bench-restore';
const dataDir = path.join(tmp, 'data');
fs.mkdirSync(dataDir);
const job = await seedBenchJob({ pgDb: null, dataDir, deviceId, repoDir, password, src });
const t0 = performance.now();
restic(['backup', '--quiet', '--tag', `backup:${job.id}`, src]);
const backupSeconds = (performance.now() - t0) / 1000;
const snap = JSON.parse(restic(['snapshots', '--json']).toString())[0].id;

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const token = randomBytes(24).toString('hex');
const config = path.join(tmp, 'config.yaml');
fs.writeFileSync(
  config,
  `device:\n  id: "${deviceId}"\nclient:\n  data_dir: "${dataDir}"\n  log_file: "${path.join(dataDir, 'agent.log')}"\n  log_level: warn\n  restic_binary: /usr/bin/restic\n  http_bind: "127.0.0.1:${port}"\n  api_token: "${token}"\n`,
);
const agent = spawn(process.execPath, [mainJs, '--config', config, 'run'], { stdio: ['ignore', 'ignore', 'inherit'] });
const base = `http://127.0.0.1:${port}`;
const headers = { authorization: `Bearer ${token}` };
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/health`)).ok) break;
  } catch {
    /* starting */
  }
  if (i > 600) throw new Error('agent did not start');
  await sleep(100);
}
const get = async (p) => {
  const res = await fetch(base + p, { headers });
  if (!res.ok) throw new Error(`${p}: HTTP ${res.status} ${await res.text()}`);
  return res;
};
await (await get(`/jobs/${job.id}/snapshots`)).json(); // fills the cache

const time = async (fn) => {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
};
const folders = { first: src, fourDown: path.join(src, 'a3', 'b4', 'c5', 'd6') };
const result = {
  files: 10_000 * perLeaf,
  mb: opts.mb,
  runs: opts.runs,
  backupSeconds: Number(backupSeconds.toFixed(1)),
  load1: os.loadavg()[0],
};
for (const [name, dir] of Object.entries(folders)) {
  const a = [];
  const r = [];
  for (let i = 0; i < opts.runs; i++) {
    a.push(
      await time(async () =>
        (await get(`/jobs/${job.id}/snapshots/${snap}/ls?path=${encodeURIComponent(dir)}`)).json(),
      ),
    );
    r.push(await time(async () => restic(['ls', '--json', '--no-lock', snap, dir])));
  }
  result[`ls_${name}`] = {
    agentSeconds: median(a),
    resticSeconds: median(r),
    ratio: Number((median(a) / median(r)).toFixed(2)),
  };
}
const rssBefore = vm(agent.pid, 'VmHWM');
const a = [];
const r = [];
for (let i = 0; i < opts.runs; i++) {
  a.push(
    await time(async () => {
      const res = await get(`/jobs/${job.id}/snapshots/${snap}/download?path=${encodeURIComponent(big)}`);
      let n = 0;
      for await (const chunk of res.body) n += chunk.length;
      if (n !== opts.mb * 1024 * 1024) throw new Error(`download: ${n} bytes`);
    }),
  );
  // plain restic read through a pipe, as any consumer (a browser download, `> file`) reads it
  r.push(
    await time(
      () =>
        new Promise((resolve, reject) => {
          const c = spawn('restic', ['dump', '--no-lock', snap, big], { env, stdio: ['ignore', 'pipe', 'ignore'] });
          let n = 0;
          c.stdout.on('data', (d) => (n += d.length));
          c.on('error', reject);
          c.on('close', (code) =>
            code === 0 && n === opts.mb * 1024 * 1024
              ? resolve()
              : reject(new Error(`restic dump ${code}: ${n} bytes`)),
          );
        }),
    ),
  );
}
result.download = {
  agentMiBps: Number((opts.mb / median(a)).toFixed(1)),
  resticMiBps: Number((opts.mb / median(r)).toFixed(1)),
  ratio: Number((median(a) / median(r)).toFixed(2)),
  agentPeakRssMiBBefore: Number(rssBefore.toFixed(1)),
  agentPeakRssMiBAfter: Number(vm(agent.pid, 'VmHWM').toFixed(1)),
};
agent.kill('SIGTERM');
await new Promise((res) => agent.once('exit', res));
fs.rmSync(tmp, { recursive: true, force: true });
console.log(JSON.stringify(result, null, 2));

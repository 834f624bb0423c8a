#!/usr/bin/env node
/* global process, console */
// Overhead of the agent over bare restic (issue 3): wall time of the real CLI
// `node dist/main.js --config <tmp> backup bench --json` versus a bare `restic backup --json` with
// the same argv (same tags, excludes) and the same environment (same cache dir, progress fps),
// on an incremental backup of N small files (default 10,000). One initial backup first, then
// bare/agent runs alternate R times each (default 5). Prints medians, the ratio, and where the
// agent's fixed cost goes (Node startup, `restic version`, `restic list locks`, DB open+migrate).
//
//   npm run build && node bench/overhead.mjs [--db pg|pglite] [--files 10000] [--runs 5] [--keep]
//
// --db pg (default) uses a fresh database on RBACKUP2_TEST_PG_URL (default
// postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards; --db pglite the embedded one.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { buildBackupArgs } from '../dist/backup/command.js';
import { buildResticEnv } from '../dist/restic/connection.js';
import { discoverRestic } from '../dist/restic/version.js';
import { createBenchDatabase, makeSourceTree, seedBenchJob } from './dataset.mjs';

const repoRoot = path.resolve(import.meta.dirname, '..');
const opts = { db: 'pg', files: 10_000, runs: 5, keep: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--db') opts.db = process.argv[++i];
  else if (a === '--files') opts.files = Number(process.argv[++i]);
  else if (a === '--runs') opts.runs = Number(process.argv[++i]);
  else if (a === '--keep') opts.keep = true;
  else throw new Error(`unknown option ${a}`);
}
if (!['pg', 'pglite'].includes(opts.db) || !(opts.files > 0) || !(opts.runs > 0))
  throw new Error('usage: overhead.mjs [--db pg|pglite] [--files N] [--runs R]');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (s) => Number((s * 1000).toFixed(0));

/** Run a command to completion; returns wall seconds, exit code and stdout. Throws on spawn error. */
function timed(cmd, args, env, okCodes = [0]) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.error) throw r.error;
  if (!okCodes.includes(r.status))
    throw new Error(`${cmd} ${args.slice(0, 4).join(' ')} exited ${r.status}: ${r.stderr.slice(0, 500)}`);
  return { seconds, stdout: r.stdout };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-overhead-'));
const dataDir = path.join(tmp, 'data');
const src = path.join(tmp, 'src');
const repoDir = path.join(tmp, 'repo');
fs.mkdirSync(dataDir, { recursive: true });
makeSourceTree(src, opts.files);
fs.writeFileSync(path.join(src, 'skip.tmp'), 'excluded\n');

let pgDb = null;
const deviceId = 'bench-overhead';
const yaml = [`device:\n  id: "${deviceId}"`];
if (opts.db === 'pg') {
  pgDb = await createBenchDatabase();
  yaml.push(`database:\n  url: "${pgDb.url}"\n  ssl_mode: disable`);
}
yaml.push(
  `client:\n  data_dir: "${dataDir}"\n  log_file: "${path.join(dataDir, 'agent.log')}"\n  restic_binary: /usr/bin/restic\n  http_bind: "127.0.0.1:0"`,
);
const configFile = path.join(tmp, 'config.yaml');
fs.writeFileSync(configFile, `${yaml.join('\n')}\n`);

// Set up device, repository (password stored in the DB), job; take the job exactly as the agent sees it.
const password = randomBytes(12).toString('hex');
const job = await seedBenchJob({ pgDb, dataDir, deviceId, repoDir, password, src });
const restic = await discoverRestic('/usr/bin/restic');
const args = buildBackupArgs(job, restic.version, { sourcePaths: [src], retryLockSeconds: 120 }).args;
const env = buildResticEnv({ repository: job.repository, dataDir, agentEnv: process.env });

timed('/usr/bin/restic', ['init'], env);
const agentArgs = ['dist/main.js', '--config', configFile, 'backup', 'bench', '--json'];
const agent = () => {
  const r = timed(
    process.execPath,
    agentArgs.map((a) => (a === 'dist/main.js' ? path.join(repoRoot, a) : a)),
    process.env,
  );
  const j = JSON.parse(r.stdout);
  if (j.status !== 'success') throw new Error(`agent run ${j.status}: ${j.errorMessage}`);
  return { wall: r.seconds, runBackup: j.durationSeconds, files: j.totalFilesProcessed };
};
const bare = () => {
  const r = timed('/usr/bin/restic', args, env);
  const summary = JSON.parse(
    r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.includes('"summary"'))
      .pop(),
  );
  return { wall: r.seconds, resticReported: summary.total_duration, files: summary.total_files_processed };
};

console.error(`${opts.files} files in ${src}; db ${opts.db}; initial backup...`);
const first = agent();
const bares = [];
const agents = [];
for (let i = 0; i < opts.runs; i++) {
  bares.push(bare());
  agents.push(agent());
  console.error(`run ${i + 1}: bare ${ms(bares[i].wall)} ms, agent ${ms(agents[i].wall)} ms`);
}
// Fixed costs, measured on their own in the same run (medians of 5).
const rep = (fn) => median(Array.from({ length: 5 }, fn));
const nodeStartup = rep(
  () => timed(process.execPath, [path.join(repoRoot, 'dist/main.js'), '--version'], process.env).seconds,
);
const resticVersion = rep(() => timed('/usr/bin/restic', ['version', '--json'], env).seconds);
const listLocks = rep(() => timed('/usr/bin/restic', ['list', 'locks', '--no-lock'], env).seconds);
const openScript = `import { openDatabase, migrate } from ${JSON.stringify(path.join(repoRoot, 'dist/db/index.js'))};
const t0 = performance.now(); const db = await openDatabase(${JSON.stringify({ database: pgDb ? { url: pgDb.url, ssl_mode: 'disable' } : undefined, dataDir })});
const t1 = performance.now(); await migrate(db); const t2 = performance.now(); await db.close();
console.log(JSON.stringify({ open: (t1 - t0) / 1000, migrate: (t2 - t1) / 1000, close: (performance.now() - t2) / 1000 }));`;
const dbTimes = Array.from({ length: 3 }, () =>
  JSON.parse(timed(process.execPath, ['--input-type=module', '-e', openScript], process.env).stdout),
);

const bareMed = median(bares.map((b) => b.wall));
const agentMed = median(agents.map((a) => a.wall));
const runBackupMed = median(agents.map((a) => a.runBackup));
const result = {
  db: opts.db,
  files: agents[0].files,
  runs: opts.runs,
  resticVersion: restic.version.raw,
  initialBackupMs: ms(first.wall),
  bareMedianMs: ms(bareMed),
  agentMedianMs: ms(agentMed),
  ratio: Number((agentMed / bareMed).toFixed(3)),
  overheadPercent: Number(((agentMed / bareMed - 1) * 100).toFixed(1)),
  agentFixedCostMs: ms(agentMed - bareMed),
  breakdownMs: {
    agentOutsideRunBackup: ms(agentMed - runBackupMed),
    runBackupMinusBareRestic: ms(runBackupMed - bareMed),
    nodeStartupVersionFlag: ms(nodeStartup),
    resticVersionSpawn: ms(resticVersion),
    resticListLocksSpawn: ms(listLocks),
    dbOpen: ms(median(dbTimes.map((t) => t.open))),
    dbMigrateNoop: ms(median(dbTimes.map((t) => t.migrate))),
    dbClose: ms(median(dbTimes.map((t) => t.close))),
  },
  bareResticReportedDurationMedianMs: ms(median(bares.map((b) => b.resticReported))),
  agentRunBackupDurationMedianMs: ms(runBackupMed),
  bareMs: bares.map((b) => ms(b.wall)),
  agentMs: agents.map((a) => ms(a.wall)),
};
console.log(JSON.stringify(result, null, 1));
if (!opts.keep) fs.rmSync(tmp, { recursive: true, force: true });
else console.error(`kept ${tmp}`);
if (pgDb) await pgDb.drop();
if (result.ratio > 1.05) process.exitCode = 1;

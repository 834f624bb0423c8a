#!/usr/bin/env node
/* global process, console */
// How fast the CLI is (issue 13), from paired runs on this machine:
//  1. start-up: `rbackup2 --version`, `rbackup2 --help` and `rbackup2 help` against `node -e 0`
//     (the same Node binary), run in turn R times; target <= 2x;
//  2. one-shot backup: `rbackup2 backup JOB --json` of an unchanged folder of N small files against
//     a bare `restic backup` with the very argv and RESTIC_* environment the agent gave restic
//     (captured once through a wrapper), alternating R times; target <= 1.25x. The wrapper also
//     counts how many restic processes one `rbackup2 backup` starts.
// Prints medians of wall time (and of CPU time user+sys when /usr/bin/time exists: less sensitive
// to a loaded machine), the ratios, and the 1-minute load average before and after, as JSON.
//
//   npm run build && node bench/cli.mjs [--runs 7] [--files 10000] [--db pg|pglite] [--only startup|backup]
//     [--main PATH/dist/main.js]   (another build of rbackup2, e.g. a checkout of an older commit)
//
// --db pg (default) creates a fresh database on RBACKUP2_TEST_PG_URL (default
// postgres://postgres@127.0.0.1:5432/postgres) and drops it afterwards; --db pglite uses the
// embedded one in the temp data folder. Uses only the CLI (dist/main.js) and restic.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createBenchDatabase, makeSourceTree } from './dataset.mjs';

const repoRoot = path.resolve(import.meta.dirname, '..');
const opts = {
  runs: 7,
  files: 10_000,
  db: 'pg',
  only: null,
  restic: process.env.RESTIC_BINARY ?? 'restic',
  main: path.join(repoRoot, 'dist/main.js'),
};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--runs') opts.runs = Number(process.argv[++i]);
  else if (a === '--files') opts.files = Number(process.argv[++i]);
  else if (a === '--db') opts.db = process.argv[++i];
  else if (a === '--only') opts.only = process.argv[++i];
  else if (a === '--main') opts.main = path.resolve(process.argv[++i]);
  else throw new Error(`bench/cli.mjs: unknown option ${a}`);
}
if (
  !(opts.runs > 0) ||
  !(opts.files > 0) ||
  !['pg', 'pglite'].includes(opts.db) ||
  ![null, 'startup', 'backup'].includes(opts.only)
) {
  throw new Error('usage: node bench/cli.mjs [--runs R] [--files N] [--db pg|pglite] [--only startup|backup]');
}
const mainJs = opts.main;
if (!fs.existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` first`);

const gnuTime = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (s) => Math.round(s * 1000);
const load = () => Number(os.loadavg()[0].toFixed(2));

/** Run CMD ARGS to completion: wall seconds, CPU seconds (user+sys, null without GNU time), stdout. */
function timed(cmd, args, { env = process.env, ok = [0] } = {}) {
  const [c, a] = gnuTime ? [gnuTime, ['-f', '@@cpu %U %S', cmd, ...args]] : [cmd, args];
  const t0 = performance.now();
  const r = spawnSync(c, a, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const wall = (performance.now() - t0) / 1000;
  if (r.error) throw r.error;
  if (!ok.includes(r.status))
    throw new Error(`${cmd} ${args.slice(0, 5).join(' ')} exited ${r.status}: ${r.stderr.slice(-800)}`);
  const m = /@@cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { wall, cpu: m ? Number(m[1]) + Number(m[2]) : null, stdout: r.stdout, stderr: r.stderr };
}

/** Alternate the named commands R times (order rotated each round); medians per name. */
function paired(cases, runs) {
  const names = Object.keys(cases);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) {
    const order = names.map((_, k) => names[(k + i) % names.length]);
    for (const n of order) samples[n].push(cases[n]());
    console.error(`run ${i + 1}: ${names.map((n) => `${n} ${ms(samples[n][i].wall)} ms`).join(', ')}`);
  }
  return Object.fromEntries(
    names.map((n) => {
      const cpu = samples[n].every((s) => s.cpu !== null) ? median(samples[n].map((s) => s.cpu)) : null;
      return [
        n,
        {
          wallMs: ms(median(samples[n].map((s) => s.wall))),
          cpuMs: cpu === null ? null : ms(cpu),
          wallAllMs: samples[n].map((s) => ms(s.wall)),
        },
      ];
    }),
  );
}
const ratio = (a, b) => (a === null || b === null || b === 0 ? null : Number((a / b).toFixed(2)));

const result = { main: mainJs, node: process.version, cpus: os.cpus().length, runs: opts.runs, loadBefore: load() };

if (opts.only !== 'backup') {
  const node = (args) => () => timed(process.execPath, args);
  const cases = { nodeE0: node(['-e', '0']), version: node([mainJs, '--version']), help: node([mainJs, '--help']) };
  const helpWorks = spawnSync(process.execPath, [mainJs, 'help'], { encoding: 'utf8' }).status === 0;
  if (helpWorks) cases.helpCommand = node([mainJs, 'help']);
  const s = paired(cases, opts.runs);
  if (!helpWorks) s.helpCommand = 'fails: `rbackup2 help` exits non-zero';
  result.startup = {
    ...s,
    versionRatioWall: ratio(s.version.wallMs, s.nodeE0.wallMs),
    helpRatioWall: ratio(s.help.wallMs, s.nodeE0.wallMs),
    versionRatioCpu: ratio(s.version.cpuMs, s.nodeE0.cpuMs),
    helpRatioCpu: ratio(s.help.cpuMs, s.nodeE0.cpuMs),
    target: 2,
  };
}

if (opts.only !== 'startup') result.backup = await backupBench();
result.loadAfter = load();
console.log(JSON.stringify(result, null, 1));

/** The one-shot backup part (see the header). */
async function backupBench() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-bench-cli-'));
  const dataDir = path.join(tmp, 'data');
  const src = path.join(tmp, 'src');
  const repoDir = path.join(tmp, 'repo');
  fs.mkdirSync(dataDir, { recursive: true });
  makeSourceTree(src, opts.files);
  const passwordFile = path.join(tmp, 'password');
  fs.writeFileSync(passwordFile, randomBytes(12).toString('hex'), { mode: 0o600 });
  const resticPath = spawnSync('sh', ['-c', `command -v ${opts.restic}`], { encoding: 'utf8' }).stdout.trim();
  if (!resticPath) throw new Error(`restic binary "${opts.restic}" not found`);
  // A wrapper that records each restic call (argv and RESTIC_* variables), then runs restic.
  const calls = path.join(tmp, 'restic-calls.jsonl');
  const wrapper = path.join(tmp, 'restic-wrapper.mjs');
  fs.writeFileSync(
    wrapper,
    `#!${process.execPath}
import { spawnSync } from 'node:child_process'; import fs from 'node:fs';
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('RESTIC_')));
fs.appendFileSync(${JSON.stringify(calls)}, JSON.stringify({ args: process.argv.slice(2), env }) + '\\n');
const r = spawnSync(${JSON.stringify(resticPath)}, process.argv.slice(2), { stdio: 'inherit' });
process.exit(r.status ?? 1);
`,
    { mode: 0o755 },
  );

  let pgDb = null;
  const yaml = (restic) =>
    [
      'device:\n  id: "bench-cli"',
      ...(pgDb ? [`database:\n  url: "${pgDb.url}"\n  ssl_mode: disable`] : []),
      `client:\n  data_dir: "${dataDir}"\n  log_file: "${path.join(dataDir, 'agent.log')}"\n  restic_binary: "${restic}"\n  http_bind: "127.0.0.1:0"`,
    ].join('\n') + '\n';
  if (opts.db === 'pg') {
    pgDb = await createBenchDatabase();
  }
  const config = path.join(tmp, 'config.yaml');
  const wrappedConfig = path.join(tmp, 'config-wrapped.yaml');
  fs.writeFileSync(config, yaml(resticPath));
  fs.writeFileSync(wrappedConfig, yaml(wrapper));
  try {
    const cli = (file, ...args) => timed(process.execPath, [mainJs, '--config', file, ...args]);
    cli(config, 'migrate');
    cli(config, 'repo', 'add', 'bench', '--url', repoDir, '--password-file', passwordFile);
    cli(config, 'job', 'add', 'bench', '--path', src, '--repo', 'bench');
    timed(resticPath, ['init', '--repo', repoDir, '--password-file', passwordFile]);
    console.error(`${opts.files} files in ${src}; db ${opts.db}; initial backup...`);
    cli(config, 'backup', 'bench', '--json');
    cli(wrappedConfig, 'backup', 'bench', '--json'); // first run with the wrapper: caches may learn it
    fs.rmSync(calls, { force: true });
    cli(wrappedConfig, 'backup', 'bench', '--json'); // unchanged now: record what the one-shot path runs
    const recorded = fs
      .readFileSync(calls, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const backupCall = recorded.find((c) => c.args.includes('backup'));
    if (!backupCall) throw new Error(`no restic backup call recorded: ${JSON.stringify(recorded.map((c) => c.args))}`);
    const bareEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmp, ...backupCall.env };
    const s = paired(
      {
        bareRestic: () => timed(resticPath, backupCall.args, { env: bareEnv }),
        rbackup2: () => {
          const r = cli(config, 'backup', 'bench', '--json');
          const j = JSON.parse(r.stdout);
          if (j.status !== 'success') throw new Error(`rbackup2 backup ended ${j.status}: ${j.errorMessage}`);
          return r;
        },
      },
      opts.runs,
    );
    return {
      db: opts.db,
      files: opts.files,
      ...s,
      resticProcessesPerOneShot: recorded.length,
      resticCalls: recorded.map((c) =>
        c.args
          .filter((a) => !a.startsWith('/'))
          .slice(0, 3)
          .join(' '),
      ),
      ratioWall: ratio(s.rbackup2.wallMs, s.bareRestic.wallMs),
      ratioCpu: ratio(s.rbackup2.cpuMs, s.bareRestic.cpuMs),
      target: 1.25,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (pgDb) await pgDb.drop();
  }
}

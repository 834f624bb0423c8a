#!/usr/bin/env node
/* global process, console */
/**
 * Fails (exit 1) when any file git tracks, outside `.ci/`, mentions the folder beside the
 * repository (`..` + `/shared`, either slash): the build, tests, benches and app must read only
 * what the repository holds, so that a clone on a fresh machine works on its own.
 *
 * Usage: node scripts/check-self-contained.mjs [repository root, default: this script's parent]
 * Output: one line per hit, `path:line: ...`, then a summary line; exit 0 when clean, 1 on hits,
 * 2 when the folder is not a git work tree (the list of tracked files comes from `git ls-files`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
// Built from parts so that this file does not mention what it looks for.
const parent = '..';
const needles = [`${parent}/shared`, `${parent}\\shared`];

let listed;
try {
  listed = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
} catch (err) {
  console.error(
    `check-self-contained: cannot list tracked files in ${root} (git ls-files: ${err.message.split('\n')[0]})`,
  );
  process.exit(2);
}

const hits = [];
for (const file of listed.split('\0')) {
  if (!file || file.startsWith('.ci/')) continue;
  let text;
  try {
    text = readFileSync(path.join(root, file), 'utf8');
  } catch {
    continue; // tracked but deleted in the work tree: nothing to read
  }
  if (!needles.some((n) => text.includes(n))) continue;
  text.split('\n').forEach((line, i) => {
    if (needles.some((n) => line.includes(n))) hits.push(`${file}:${i + 1}: ${line.trim().slice(0, 160)}`);
  });
}

if (hits.length > 0) {
  for (const hit of hits) console.error(hit);
  console.error(
    `check-self-contained: ${hits.length} line(s) refer to ${needles[0]}, outside the repository; copy what they need into it (e.g. test/fixtures/)`,
  );
  process.exit(1);
}
console.log('check-self-contained: no tracked file outside .ci/ refers to a folder beside the repository');

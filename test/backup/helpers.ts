// Shared test helpers for test/backup: fixture access, fake jobs, temp restic repositories.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobConfig, RepositoryConfig } from '../../src/config/device-config.js';
import { BackupOutputParser, type ParsedOutput } from '../../src/restic/backup-output.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesDir = path.resolve(repoRoot, 'test/fixtures/restic-0.14');

export interface Fixture {
  name: string;
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

/** Read fixture NAME (its .stdout, .stderr, .exitcode). */
export function fixture(name: string): Fixture {
  const read = (ext: string) => fs.readFileSync(path.join(fixturesDir, `${name}.${ext}`));
  return { name, stdout: read('stdout'), stderr: read('stderr'), exitCode: Number(read('exitcode').toString().trim()) };
}

/** All fixture names. */
export function fixtureNames(): string[] {
  return fs
    .readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.exitcode'))
    .map((f) => f.replace(/\.exitcode$/, ''))
    .sort();
}

/** Parse stdout/stderr buffers in one go. */
export function parseAll(stdout: Buffer | string, stderr: Buffer | string = ''): ParsedOutput {
  const p = new BackupOutputParser();
  p.pushStdout(stdout);
  p.pushStderr(stderr);
  p.end();
  return p.result();
}

export function makeRepo(overrides: Partial<RepositoryConfig> = {}): RepositoryConfig {
  return {
    id: null,
    name: 'default',
    url: '/nonexistent',
    password: 'x',
    passwordFile: null,
    passwordCommand: null,
    cacheDir: null,
    env: {},
    ...overrides,
  };
}

export function makeJob(overrides: Partial<JobConfig> = {}): JobConfig {
  return {
    id: '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f',
    deviceId: 'dev1',
    name: 'device1/Dokumenty',
    description: null,
    sourcePaths: ['/srv/data'],
    excludePatterns: [],
    tags: [],
    resticArgs: [],
    repositoryId: null,
    repository: makeRepo(),
    enabled: true,
    originName: null,
    originId: null,
    accountId: null,
    schedules: [],
    hooks: [],
    updatedAt: '2026-01-01T00:00:00Z',
    ...overrides,
  };
}

/** A temp dir (removed by the returned cleanup). */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Run real restic synchronously with a clean env (RESTIC_* only from `env`). */
export function restic(args: string[], env: Record<string, string>, input?: string): string {
  return execFileSync('restic', args, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

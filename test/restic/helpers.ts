// Shared helpers for test/restic: connections to temp repositories of the real restic, fixtures.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectionFromRepository, type RepositoryConnection } from '../../src/restic/connection.js';
import type { ResticOutput } from '../../src/restic/runner.js';
import { fixture, repoRoot } from '../backup/helpers.js';

export { fixture };

/** A file of test/fixtures/restic-docs (shapes of restic 0.15-0.18 written from restic's docs). */
export function docsFixture(name: string): string {
  return fs.readFileSync(path.join(repoRoot, 'test/fixtures/restic-docs', name), 'utf8');
}

/** A temp folder with a repository path `repo` (not created), a cache and a source folder. */
export function tempRepo(prefix = 'rb2-restic-'): {
  dir: string;
  conn: RepositoryConnection;
  source: string;
  cleanup: () => void;
} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const source = path.join(dir, 'src');
  fs.mkdirSync(source);
  fs.writeFileSync(path.join(source, 'a.txt'), 'hello\n');
  const conn = testConnection(dir);
  return { dir, conn, source, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Run the real restic directly on `conn`'s repository (test set-up only). */
export function resticDirect(conn: RepositoryConnection, args: string[]): string {
  const pw = conn.password.kind === 'value' ? conn.password.value : '';
  return execFileSync('restic', args, {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      RESTIC_REPOSITORY: conn.url,
      RESTIC_PASSWORD: pw,
      RESTIC_CACHE_DIR: conn.cacheDir,
    },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** One snapshot of `source` with `host` and `tags` (real restic); returns its id. */
export function backupDirect(conn: RepositoryConnection, source: string, host: string, tags: string[]): string {
  const out = resticDirect(conn, [
    'backup',
    '--json',
    '--quiet',
    '--host',
    host,
    ...tags.flatMap((t) => ['--tag', t]),
    source,
  ]);
  const summary = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { message_type?: string; snapshot_id?: string })
    .find((m) => m.message_type === 'summary');
  if (!summary?.snapshot_id) throw new Error(`no snapshot id in ${out}`);
  return summary.snapshot_id;
}

/** A ResticOutput as runRestic would return it for a recorded fixture (replay of restic 0.14). */
export function outputOf(name: string, args: string[] = []): ResticOutput {
  const f = fixture(name);
  const stderrLines = f.stderr
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  return {
    args,
    exitCode: f.exitCode,
    signal: null,
    stdout: f.stdout.toString('utf8'),
    stdoutTruncated: false,
    stderrLines,
    exitError: null,
    durationMs: 1,
    timedOut: false,
    cancelled: false,
    spawnError: null,
  };
}

/**
 * The connection the tests use: repository `<dir>/repo` with the password `secret-pw`, cache in
 * `<dir>/cache`, run by `resticBinary` (real restic, or a stand-in script a test names so).
 */
export function testConnection(dir: string, resticBinary = 'restic', name = 'test'): RepositoryConnection {
  return connectionFromRepository(
    {
      name,
      url: path.join(dir, 'repo'),
      password: 'secret-pw',
      passwordFile: null,
      passwordCommand: null,
      cacheDir: path.join(dir, 'cache'),
      env: {},
    },
    { resticBinary, dataDir: dir, agentEnv: { PATH: process.env.PATH } },
  );
}

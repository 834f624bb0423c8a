/**
 * src/restic stats.ts, cat-config.ts, prune.ts, dump.ts, locks.ts: parsers against restic 0.14's
 * recorded outputs, then the real restic 0.14 on a temp repository.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catConfig, parseCatConfig, repositoryExists } from '../../src/restic/cat-config.js';
import { isResticError } from '../../src/restic/errors.js';
import { catLock, listLocks, parseLockIds, unlock } from '../../src/restic/locks.js';
import { parsePrune, prune, pruneArgs } from '../../src/restic/prune.js';
import { failureOf } from '../../src/restic/runner.js';
import { parseStats, stats, statsArgs } from '../../src/restic/stats.js';
import { backupDirect, fixture, outputOf, resticDirect, tempRepo } from './helpers.js';

describe('stats / cat config / prune / locks: parsing recorded restic 0.14 output', () => {
  it('stats (fixture 37) and the 0.15+ raw-data fields', () => {
    expect(statsArgs({ mode: 'raw-data', tags: ['backup:x'] })).toEqual([
      'stats',
      '--json',
      '--no-lock',
      '--tag',
      'backup:x',
      '--mode',
      'raw-data',
    ]);
    expect(parseStats(fixture('37-stats-json').stdout.toString())).toEqual({
      totalSize: 7300081,
      totalFileCount: 2162,
      snapshotsCount: 7,
      totalBlobCount: null,
      totalUncompressedSize: null,
      compressionRatio: null,
    });
    // Shape from doc/075_scripting.rst "stats" (raw-data mode, 0.15+ compression fields).
    expect(
      parseStats(
        '{"total_size":100,"total_uncompressed_size":250,"compression_ratio":2.5,"total_blob_count":4,"snapshots_count":1}',
      ),
    ).toMatchObject({ totalSize: 100, totalUncompressedSize: 250, compressionRatio: 2.5, totalBlobCount: 4 });
    expect(() => parseStats('{"total_file_count":1}')).toThrow(
      /restic stats printed JSON of an unexpected shape at total_size/,
    );
  });

  it('cat config (fixtures 05, 06); a missing repository (fixture 39) is repository_missing', () => {
    for (const name of ['05-cat-config', '06-cat-config-json'])
      expect(parseCatConfig(fixture(name).stdout.toString())).toEqual({
        version: 2,
        id: 'f787c70eca0cf33eea3ea568980211bf13c397f196342ba5a6380bd0a38ce796',
      });
    expect(
      failureOf(outputOf('39-cat-config-norepo'), 'restic cat config', { name: 'r', resticBinary: 'restic' })?.kind,
    ).toBe('repository_missing');
  });

  it('prune: argv and the 0.14 text summary (fixture 48)', () => {
    expect(pruneArgs({ maxUnused: '10%', dryRun: true })).toEqual(['prune', '--max-unused', '10%', '--dry-run']);
    expect(() => pruneArgs({ maxUnused: 'much' })).toThrow(/not x%/);
    const r = parsePrune(fixture('48-prune').stdout.toString());
    expect(r.removedBlobs).toBe(0);
    expect(r.remainingBlobs).toBe(4);
    expect(r.summary).toContain('remaining:             4 blobs / 791 B');
  });

  it('list locks (fixtures 26, 29): 64-hex ids only', () => {
    expect(parseLockIds(fixture('26-list-locks-while-running').stdout.toString())).toEqual([
      'e8b1f42a9b3ee923ec736d73e481160015a29bff696e4bbeff29aa01fee4697b',
    ]);
    expect(parseLockIds('not an id\n\n')).toEqual([]);
  });
});

describe('stats / cat config / prune / dump / locks: real restic', () => {
  const t = tempRepo();
  beforeAll(() => {
    resticDirect(t.conn, ['init']);
    backupDirect(t.conn, t.source, 'pc1', ['backup:x']);
  });
  afterAll(() => t.cleanup());

  it('cat config and repositoryExists', async () => {
    expect((await catConfig(t.conn)).version).toBe(2);
    expect(await repositoryExists(t.conn)).toBe(true);
    expect(await repositoryExists({ ...t.conn, url: path.join(t.dir, 'none') })).toBe(false);
    await expect(repositoryExists({ ...t.conn, password: { kind: 'value', value: 'bad' } })).rejects.toSatisfy((e) =>
      isResticError(e, 'wrong_password'),
    );
  });

  it('stats counts the snapshot and its files', async () => {
    const s = await stats(t.conn);
    expect(s.snapshotsCount).toBe(1);
    expect(s.totalFileCount).toBeGreaterThanOrEqual(1);
    expect(s.totalSize).toBeGreaterThan(0);
  });

  it('prune (dry run and real) reads the summary', async () => {
    expect((await prune(t.conn, { dryRun: true })).remainingBlobs).toBeGreaterThan(0);
    expect((await prune(t.conn)).removedBlobs).toBe(0);
  });

  it('list locks / cat lock of a running backup; unlock leaves a live lock, removes none', async () => {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      RESTIC_REPOSITORY: t.conn.url,
      RESTIC_PASSWORD: 'secret-pw',
      RESTIC_CACHE_DIR: t.conn.cacheDir,
    };
    const child = spawn('restic', ['backup', '--stdin'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      const deadline = Date.now() + 20_000;
      while (fs.readdirSync(path.join(t.conn.url, 'locks')).length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const ids = await listLocks(t.conn);
      expect(ids.length).toBe(1);
      const lock = await catLock(t.conn, ids[0] as string);
      expect(lock).toMatchObject({ pid: child.pid, exclusive: false });
      await unlock(t.conn); // the lock is live (this host, PID alive): restic keeps it
      expect(await listLocks(t.conn)).toEqual(ids);
    } finally {
      child.stdin.end('x\n');
      await new Promise((r) => child.once('exit', r));
    }
    expect(await listLocks(t.conn)).toEqual([]);
  });
});

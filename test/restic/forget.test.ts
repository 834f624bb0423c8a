/**
 * src/restic/forget.ts: argv (and its refusals), the parser against restic 0.14's recorded
 * outputs and the 0.17 shape from restic's docs, then the real restic 0.14 on a temp repository:
 * dry-run and real forget, with --group-by and tag selection.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isResticError } from '../../src/restic/errors.js';
import { forget, forgetArgs, parseForget, type ForgetOptions } from '../../src/restic/forget.js';
import { failureOf } from '../../src/restic/runner.js';
import { snapshots } from '../../src/restic/snapshots.js';
import { backupDirect, docsFixture, fixture, outputOf, resticDirect, tempRepo } from './helpers.js';

const JOB = 'backup:11111111-1111-4111-8111-111111111111';
const OTHER = 'backup:22222222-2222-4222-8222-222222222222';

describe('forget: argv', () => {
  it('builds tag filter, keep rules, --group-by and --dry-run', () => {
    expect(
      forgetArgs({
        tags: [JOB],
        keep: { last: 2, daily: 7, within: '1y2m', tags: ['keep-me'] },
        groupBy: ['host', 'tags'],
        dryRun: true,
        host: 'pc1',
      }),
    ).toEqual([
      'forget',
      '--json',
      '--tag',
      JOB,
      '--host',
      'pc1',
      '--keep-last',
      '2',
      '--keep-daily',
      '7',
      '--keep-within',
      '1y2m',
      '--keep-tag',
      'keep-me',
      '--group-by',
      'host,tags',
      '--dry-run',
    ]);
    expect(forgetArgs({ tags: [JOB], keep: { last: 1 }, groupBy: [], dryRun: false }).slice(-2)).toEqual([
      '--group-by',
      '',
    ]);
  });

  it('refuses a forget without a tag filter, without a keep rule, or with bad values', () => {
    const base: ForgetOptions = { tags: [JOB], keep: { last: 1 }, groupBy: ['host'], dryRun: true };
    expect(() => forgetArgs({ ...base, tags: [] })).toThrow(/needs a tag filter/);
    expect(() => forgetArgs({ ...base, keep: {} })).toThrow(/at least one keep rule/);
    expect(() => forgetArgs({ ...base, keep: { last: 0 } })).toThrow(/at least one keep rule/);
    expect(() => forgetArgs({ ...base, keep: { daily: 1.5 } })).toThrow(/keep daily must be a whole number/);
    expect(() => forgetArgs({ ...base, keep: { within: '3 days' } })).toThrow(/not a duration/);
    expect(() => forgetArgs({ ...base, tags: ['a,b'] })).toThrow(/holds a comma/);
  });
});

describe('forget: parsing (recorded restic 0.14, 0.17 doc shape)', () => {
  it('fixture 22 (group-by host,paths, dry run): keep lists, "remove": null -> [], reasons without ids', () => {
    const groups = parseForget(fixture('22-forget-json-dryrun').stdout.toString(), ['host', 'paths']);
    expect(groups.length).toBe(3);
    expect(groups[0]).toMatchObject({ host: 'testhost', paths: ['/srv/rsrc-churn'], tags: null, remove: [] });
    expect(groups[0]?.keep.map((s) => s.shortId)).toEqual(['09ed9149']);
    expect(groups[0]?.reasons).toEqual([
      { time: '2026-11-29T14:47:13.731035542Z', id: null, matches: ['last snapshot'] },
    ]);
  });

  it('fixture 45 (group-by tags, dry run) and 46 (group-by host, real): kept and removed per group', () => {
    const byTags = parseForget(fixture('45-forget-json-dryrun-groupby-tags').stdout.toString(), ['tags']);
    expect(byTags.map((g) => ({ tags: g.tags, host: g.host, keep: g.keep.length, remove: g.remove.length }))).toEqual(
      expect.arrayContaining([
        { tags: expect.arrayContaining([JOB]), host: null, keep: 1, remove: expect.any(Number) },
      ]),
    );
    const byHost = parseForget(fixture('46-forget-json-groupby-host').stdout.toString(), ['host']);
    expect(byHost.map((g) => [g.host, g.keep.length, g.remove.length]).sort()).toEqual([
      ['pc1', 1, 1],
      ['relica-pc', 1, 0],
    ]);
    expect(byHost.every((g) => g.paths === null && g.tags === null)).toBe(true);
  });

  it('empty output (nothing matched, fixture 42) is no groups', () => {
    expect(parseForget(fixture('42-forget-json-no-snapshots-match').stdout.toString(), ['host'])).toEqual([]);
  });

  it('0.17 shape from the docs: reasons carry the snapshot id', () => {
    const [g] = parseForget(docsFixture('forget-0.17.json'), ['host', 'tags']);
    expect(g?.host).toBe('eva-pc');
    expect(g?.paths).toBeNull();
    expect(g?.remove.map((s) => s.shortId)).toEqual(['b1b2c3d4']);
    expect(g?.reasons[0]?.id).toBe('a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90');
  });

  it('a forget blocked by a lock (fixtures 27, 30) is locked, naming the holder', () => {
    for (const name of ['27-forget-while-locked', '30-forget-with-stale-lock']) {
      const err = failureOf(outputOf(name), 'restic forget', { name: 'nas', resticBinary: 'restic' });
      expect(err?.kind).toBe('locked');
      expect(err?.message).toMatch(
        /^The repository is locked by restic PID \d+ on host "vm".*; restic forget did not run\.$/,
      );
    }
  });
});

describe('forget: real restic', () => {
  const t = tempRepo();
  beforeAll(() => {
    resticDirect(t.conn, ['init']);
    // job JOB: 3 snapshots on pc1 and 2 of the Relica era on another host; job OTHER: 2 on pc1.
    for (let i = 0; i < 3; i++) backupDirect(t.conn, t.source, 'pc1', [JOB, 'backup_name=Docs']);
    for (let i = 0; i < 2; i++) backupDirect(t.conn, t.source, 'relica-pc', [JOB]);
    for (let i = 0; i < 2; i++) backupDirect(t.conn, t.source, 'pc1', [OTHER]);
  }, 120_000);
  afterAll(() => t.cleanup());

  it('dry run with --group-by host: reports what would go per host and removes nothing', async () => {
    const groups = await forget(t.conn, { tags: [JOB], keep: { last: 1 }, groupBy: ['host'], dryRun: true });
    const byHost = Object.fromEntries(groups.map((g) => [g.host, g]));
    expect(Object.keys(byHost).sort()).toEqual(['pc1', 'relica-pc']);
    expect(byHost.pc1?.keep.length).toBe(1);
    expect(byHost.pc1?.remove.length).toBe(2);
    expect(byHost['relica-pc']?.remove.length).toBe(1);
    expect(byHost.pc1?.reasons[0]?.matches).toEqual(['last snapshot']);
    expect((await snapshots(t.conn)).length).toBe(7);
  });

  it('dry run with --group-by "" (one group over every host) keeps only the newest of the job', async () => {
    const groups = await forget(t.conn, { tags: [JOB], keep: { last: 1 }, groupBy: [], dryRun: true });
    expect(groups.length).toBe(1);
    expect(groups[0]).toMatchObject({ host: null, paths: null, tags: null });
    expect(groups[0]?.keep.map((s) => s.hostname)).toEqual(['relica-pc']);
    expect(groups[0]?.remove.length).toBe(4);
  });

  it('a real forget by tag and host removes only that job on that host; other jobs untouched', async () => {
    const groups = await forget(t.conn, {
      tags: [JOB],
      keep: { last: 1 },
      groupBy: ['host'],
      dryRun: false,
      host: 'pc1',
    });
    expect(groups.map((g) => [g.host, g.keep.length, g.remove.length])).toEqual([['pc1', 1, 2]]);
    const left = await snapshots(t.conn);
    expect(left.filter((s) => s.tags.includes(JOB) && s.hostname === 'pc1').map((s) => s.id)).toEqual(
      groups[0]?.keep.map((s) => s.id),
    );
    expect(left.filter((s) => s.tags.includes(JOB) && s.hostname === 'relica-pc').length).toBe(2);
    expect(left.filter((s) => s.tags.includes(OTHER)).length).toBe(2);
    // Removed ones are gone: none of their ids is listed any more.
    const removed = new Set(groups[0]?.remove.map((s) => s.id));
    expect(left.some((s) => removed.has(s.id))).toBe(false);
  });

  it('nothing matching the tag is no groups (restic prints nothing)', async () => {
    expect(
      await forget(t.conn, { tags: ['backup:none'], keep: { last: 1 }, groupBy: ['host'], dryRun: false }),
    ).toEqual([]);
  });

  it('a repository in use by a running backup (its lock) makes forget fail as locked, naming the holder', async () => {
    // A real restic backup reading stdin holds its (non-exclusive) lock while the pipe stays open;
    // forget needs an exclusive lock (restic 0.14 fails at once, without --retry-lock).
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      RESTIC_REPOSITORY: t.conn.url,
      RESTIC_PASSWORD: 'secret-pw',
      RESTIC_CACHE_DIR: t.conn.cacheDir,
    };
    const child = spawn('restic', ['backup', '--stdin', '--tag', JOB, '--host', 'pc1'], {
      env,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    try {
      const locks = path.join(t.conn.url, 'locks');
      const deadline = Date.now() + 20_000;
      while (fs.readdirSync(locks).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(fs.readdirSync(locks).length).toBe(1);
      const err = await forget(t.conn, { tags: [JOB], keep: { last: 1 }, groupBy: ['host'], dryRun: false }).catch(
        (e: unknown) => e,
      );
      expect(isResticError(err, 'locked')).toBe(true);
      expect((err as Error).message).toMatch(new RegExp(`locked by restic PID ${child.pid} on host`));
    } finally {
      child.stdin.end('data\n');
      await new Promise((r) => child.once('exit', r));
    }
  });
});

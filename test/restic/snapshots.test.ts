/**
 * src/restic/snapshots.ts: argv and parser against restic 0.14's recorded outputs and the 0.17
 * shape from restic's docs; then the real restic 0.14 on a temp repository (tag selection over
 * every host, failures classified, time-out).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionFromRepository } from '../../src/restic/connection.js';
import { isResticError } from '../../src/restic/errors.js';
import { failureOf } from '../../src/restic/runner.js';
import { newestFirst } from '../../src/restic/snapshot.js';
import { parseSnapshots, snapshots, snapshotsArgs } from '../../src/restic/snapshots.js';
import { backupDirect, docsFixture, fixture, outputOf, resticDirect, tempRepo } from './helpers.js';

const JOB = 'backup:11111111-1111-4111-8111-111111111111';

describe('snapshots: argv and parsing (recorded restic 0.14, 0.17 doc shape)', () => {
  it('builds --json --no-lock with filters, latest and ids after --', () => {
    expect(snapshotsArgs({ tags: [JOB], hosts: ['pc1'], latest: 2, ids: ['abc12345'] })).toEqual([
      'snapshots',
      '--json',
      '--no-lock',
      '--tag',
      JOB,
      '--host',
      'pc1',
      '--latest',
      '2',
      '--',
      'abc12345',
    ]);
    expect(snapshotsArgs({ noLock: false, tags: [['a', 'b']] })).toEqual(['snapshots', '--json', '--tag', 'a,b']);
    expect(() => snapshotsArgs({ tags: ['a,b'] })).toThrow(/holds a comma/);
  });

  it('parses 0.14 output: every field, tags absent -> [], restic order kept', () => {
    const list = parseSnapshots(fixture('20-snapshots-json').stdout.toString());
    expect(list.length).toBeGreaterThan(3);
    expect(list[0]).toMatchObject({
      id: 'c38d3b43d80c8ec7821957e60f039212b99d6a0a601bcce53cf62fed62b714f5',
      shortId: 'c38d3b43',
      time: '2026-11-29T14:46:40.1319996Z',
      hostname: 'testhost',
      username: 'root',
      paths: ['/srv/rsrc'],
      tags: ['t1', 't2', 't3'],
      parent: null,
      programVersion: null,
      summary: null,
    });
    expect(list[1]?.tags).toEqual([]);
    expect(list[1]?.parent).toBe('c38d3b43d80c8ec7821957e60f039212b99d6a0a601bcce53cf62fed62b714f5');
    expect(parseSnapshots(fixture('11-snapshots-empty').stdout.toString())).toEqual([]);
  });

  it('parses the tag selection of fixture 44: three snapshots over two hosts; newestFirst reverses', () => {
    const list = parseSnapshots(fixture('44-snapshots-json-tag').stdout.toString());
    expect(list.map((s) => s.hostname)).toEqual(['pc1', 'pc1', 'relica-pc']);
    expect(list.every((s) => s.tags.includes(JOB))).toBe(true);
    expect(newestFirst(list).map((s) => s.hostname)).toEqual(['relica-pc', 'pc1', 'pc1']);
  });

  it('parses the 0.17 shape from the docs: program_version and summary', () => {
    const [s] = parseSnapshots(docsFixture('snapshots-0.17.json'));
    expect(s?.programVersion).toBe('restic 0.17.3');
    expect(s?.summary).toMatchObject({
      filesNew: 3,
      dataAdded: 10240,
      dataAddedPacked: 4096,
      totalFilesProcessed: 124,
    });
    expect(s?.paths).toEqual(['C:\\Users\\eva\\Documents']);
  });

  it('refuses output that is not JSON or not snapshots, naming the command', () => {
    expect(() => parseSnapshots('Fatal: something')).toThrow(/restic snapshots printed output that is not JSON/);
    expect(() => parseSnapshots('[{"time":"x"}]')).toThrow(
      /restic snapshots printed JSON of an unexpected shape at 0\.id/,
    );
    expect(() => parseSnapshots('{"a":1}')).toThrow(/unexpected shape/);
  });

  it('classifies the recorded 0.14 failures: missing repository, wrong password', () => {
    const conn = { name: 'nas', resticBinary: 'restic' };
    const missing = failureOf(outputOf('08-snapshots-norepo'), 'restic snapshots', conn);
    expect(missing?.kind).toBe('repository_missing');
    expect(missing?.message).toContain('There is no restic repository at /srv/does-not-exist');
    expect(failureOf(outputOf('09-snapshots-wrongpw'), 'restic snapshots', conn)?.kind).toBe('wrong_password');
    expect(failureOf(outputOf('20-snapshots-json'), 'restic snapshots', conn)).toBeNull();
  });
});

describe('snapshots: real restic on a temp repository', () => {
  const t = tempRepo();
  const ids: Record<string, string> = {};
  beforeAll(() => {
    resticDirect(t.conn, ['init']);
    ids.a = backupDirect(t.conn, t.source, 'pc1', [JOB, 'backup_name=Docs']);
    ids.b = backupDirect(t.conn, t.source, 'relica-era-pc', [JOB]);
    ids.c = backupDirect(t.conn, t.source, 'pc1', ['backup:22222222-2222-4222-8222-222222222222']);
  });
  afterAll(() => t.cleanup());

  it("lists a job's snapshots by tag over every host; other jobs' are left out", async () => {
    const list = await snapshots(t.conn, { tags: [JOB] });
    // restic 0.14's backup summary gives the short id (fixture 12).
    expect(list.map((s) => s.shortId).sort()).toEqual([ids.a, ids.b].sort());
    expect(new Set(list.map((s) => s.hostname))).toEqual(new Set(['pc1', 'relica-era-pc']));
    expect(list.find((s) => s.shortId === ids.a)?.tags).toEqual([JOB, 'backup_name=Docs']);
    expect(await snapshots(t.conn, { tags: ['backup:none'] })).toEqual([]);
    expect((await snapshots(t.conn)).length).toBe(3);
  });

  it('a listing takes no lock (--no-lock): the locks folder stays empty', async () => {
    await snapshots(t.conn, { tags: [JOB] });
    expect(fs.readdirSync(path.join(t.conn.url, 'locks'))).toEqual([]);
  });

  it('wrong password and missing repository are ResticErrors of their kind', async () => {
    const wrong = { ...t.conn, password: { kind: 'value' as const, value: 'nope' } };
    await expect(snapshots(wrong)).rejects.toSatisfy((e) => isResticError(e, 'wrong_password'));
    const missing = { ...t.conn, url: path.join(t.dir, 'no-repo') };
    const err = await snapshots(missing).catch((e: unknown) => e);
    expect(isResticError(err, 'repository_missing')).toBe(true);
    expect((err as Error).message).toContain(path.join(t.dir, 'no-repo'));
  });

  it('is bounded in time: a password command that hangs ends as timed_out within the limit', async () => {
    const hanging = connectionFromRepository(
      {
        name: 'hang',
        url: t.conn.url,
        password: null,
        passwordFile: null,
        passwordCommand: 'sleep 60',
        cacheDir: t.conn.cacheDir,
        env: {},
      },
      { resticBinary: 'restic', dataDir: t.dir, agentEnv: { PATH: process.env.PATH } },
    );
    const started = Date.now();
    const err = await snapshots(hanging, {}, { timeoutSeconds: 1, graceSeconds: 1 }).catch((e: unknown) => e);
    expect(isResticError(err, 'timed_out')).toBe(true);
    expect((err as Error).message).toMatch(/did not finish in time/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('an aborted signal cancels it', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(snapshots(t.conn, {}, { signal: ac.signal })).rejects.toSatisfy((e) => isResticError(e, 'cancelled'));
  });

  it('a restic binary that does not exist is restic_missing (RESTIC_MISSING)', async () => {
    const err = await snapshots({ ...t.conn, resticBinary: path.join(t.dir, 'no-restic') }).catch((e: unknown) => e);
    expect(isResticError(err, 'restic_missing')).toBe(true);
    expect((err as { code: string }).code).toBe('RESTIC_MISSING');
  });
});

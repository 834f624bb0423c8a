/**
 * src/restic check.ts: argv and parser against restic 0.14's recorded outputs and the 0.18 JSON
 * shape from restic's docs, then the real restic 0.14 on a temp repository, then sh stand-ins for a
 * restic that hangs. (ls, restore and dump are tested in ls-restore-dump.test.ts.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, checkArgs, parseCheck } from '../../src/restic/check.js';
import type { RepositoryConnection } from '../../src/restic/connection.js';
import { isResticError } from '../../src/restic/errors.js';
import { parseResticVersion } from '../../src/restic/version.js';
import { backupDirect, fixture, resticDirect, tempRepo, testConnection } from './helpers.js';

const v = (s: string) => parseResticVersion(`restic ${s} compiled with go1.22 on linux/amd64`);

describe('check: argv and parsing', () => {
  it('check: argv (--json from 0.18), 0.14 text (fixtures 23, 24) and the 0.18 JSON summary', () => {
    expect(checkArgs({ readDataSubset: '10%' }, v('0.14.0'))).toEqual(['check', '--read-data-subset=10%']);
    expect(checkArgs({ readData: true }, v('0.18.0'))).toEqual(['check', '--json', '--read-data']);
    expect(() => checkArgs({ readDataSubset: 'lots' }, null)).toThrow(/not n\/t/);
    for (const name of ['23-check', '24-check-json'])
      expect(parseCheck(fixture(name).stdout.toString(), [], 0)).toMatchObject({ ok: true, errors: [] });
    const bad = parseCheck(
      '{"message_type":"summary","num_errors":2,"broken_packs":["abc"],"suggest_repair_index":true,"suggest_prune":false}\n',
      ['{"message_type":"error","message":"pack abc: not referenced in any index"}'],
      1,
    );
    expect(bad).toEqual({
      ok: false,
      errors: ['pack abc: not referenced in any index'],
      suggestRepairIndex: true,
      suggestPrune: false,
      brokenPacks: ['abc'],
    });
  });
});

/** Pack files of the repository by what they hold (`restic cat index`): data blobs only, or trees. */
function packsByKind(conn: RepositoryConnection): { data: string[]; tree: string[] } {
  const out = { data: [] as string[], tree: [] as string[] };
  for (const id of resticDirect(conn, ['list', 'index', '--no-lock']).trim().split('\n')) {
    const index = JSON.parse(resticDirect(conn, ['cat', 'index', id, '--no-lock'])) as {
      packs: { id: string; blobs: { type: string }[] }[];
    };
    for (const pack of index.packs)
      (pack.blobs.some((b) => b.type === 'tree') ? out.tree : out.data).push(
        path.join(conn.url, 'data', pack.id.slice(0, 2), pack.id),
      );
  }
  return out;
}

describe('check: real restic', () => {
  const t = tempRepo();
  beforeAll(() => {
    resticDirect(t.conn, ['init']);
    fs.mkdirSync(path.join(t.source, 'sub'));
    fs.writeFileSync(path.join(t.source, 'sub', 'b.txt'), 'bee\n');
    expect(backupDirect(t.conn, t.source, 'pc1', ['backup:x'])).toMatch(/^[0-9a-f]{8,64}$/);
  });
  afterAll(() => t.cleanup());

  // The pack removed is one holding file content only. (This test hung half of the time while it
  // removed the first pack file found: when that was the pack of the trees, restic 0.14 retries
  // loading it with back-off for up to 15 minutes, inside the 6 h default time-out; the next test
  // is that case.)
  it('check: a sound repository is ok; one with a data pack file removed is not (a result, not a throw)', async () => {
    expect(await check(t.conn)).toMatchObject({ ok: true, errors: [] });
    const { data, tree } = packsByKind(t.conn);
    expect(data.length).toBeGreaterThan(0);
    expect(tree.length).toBeGreaterThan(0);
    fs.rmSync(data[0] as string);
    const r = await check(t.conn);
    expect(r.ok).toBe(false);
    expect(r.errors.some((e) => e.includes(path.basename(data[0] as string)))).toBe(true);
  });

  it('check: with the pack of the trees removed too, restic 0.14 retries loading it; the call still ends by its time-out', async () => {
    const { tree } = packsByKind(t.conn);
    fs.rmSync(tree[0] as string);
    const started = Date.now();
    const outcome = await check(t.conn, {}, { timeoutSeconds: 3, graceSeconds: 2 }).then(
      (r) => ({ result: r, error: null }),
      (e: unknown) => ({ result: null, error: e }),
    );
    expect(Date.now() - started).toBeLessThan(3_000 + 2_000 + 3_000);
    // restic 0.14 is still retrying at 3 s: timed_out. A restic that gives up on a missing file
    // sooner answers with a result, which must then say the repository is damaged.
    if (outcome.error) expect(isResticError(outcome.error, 'timed_out')).toBe(true);
    else expect(outcome.result?.ok).toBe(false);
  });
});

/**
 * Stand-ins for restic (small sh scripts passed as the restic binary) that never finish, as a
 * restic waiting on a missing pack, a dead network or a lock does. They prove check() is bounded
 * by `timeoutSeconds` whatever the child does.
 */
describe('check: a hung restic is stopped at timeoutSeconds (sh stand-ins for restic)', () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-check-hang-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const standIn = (name: string, body: string): RepositoryConnection => {
    const bin = path.join(dir, name);
    fs.writeFileSync(bin, `#!/bin/sh\n# stand-in for restic (test): ${name}\n${body}\n`, { mode: 0o755 });
    return testConnection(dir, bin, name);
  };

  it('a stand-in that hangs and, on SIGINT, prints "repository contains errors" and exits 1: timed_out, not a check result', async () => {
    const conn = standIn(
      'hangs-then-reports-errors',
      [
        'echo "pack 0123abcd: does not exist" >&2',
        `trap 'echo "Fatal: repository contains errors" >&2; exit 1' INT`,
        'while :; do sleep 1; done',
      ].join('\n'),
    );
    const started = Date.now();
    const err = await check(conn, {}, { timeoutSeconds: 1, graceSeconds: 3 }).catch((e: unknown) => e);
    expect(isResticError(err, 'timed_out')).toBe(true);
    expect((err as Error).message).toMatch(/restic check .* did not finish in time/);
    expect(Date.now() - started).toBeLessThan(1_000 + 3_000 + 3_000);
  });

  it('a stand-in that ignores SIGINT and leaves a child holding its pipes: killed with its group after the grace', async () => {
    const pidFile = path.join(dir, 'grandchild.pid');
    const conn = standIn(
      'ignores-sigint',
      [`trap '' INT`, 'sleep 300 &', `echo $! > '${pidFile}'`, 'while :; do sleep 1; done'].join('\n'),
    );
    const started = Date.now();
    const err = await check(conn, {}, { timeoutSeconds: 1, graceSeconds: 1 }).catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(isResticError(err, 'timed_out')).toBe(true);
    expect(took).toBeGreaterThanOrEqual(1_900);
    expect(took).toBeLessThan(1_000 + 1_000 + 4_000);
    const grandchild = Number(fs.readFileSync(pidFile, 'utf8').trim());
    expect(grandchild).toBeGreaterThan(0);
    expect(alive(grandchild)).toBe(false);
  });
});

/** True while `pid` is a running process (a zombie counts as ended). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

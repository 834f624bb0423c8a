/**
 * src/restic/ls.ts, restore.ts, dump.ts on the real restic 0.14 and a temp repository: one folder
 * level per listing (names with spaces, non-ASCII, not valid UTF-8 -> two U+FFFD entries), restore
 * and dump byte-identical (a pattern character in a name restored literally), a folder archive with
 * every file and the exact name bytes, a path not in the snapshot, a cancelled dump leaves no lock.
 * The recorded restic 0.14 outputs 49-ls-json and 50-restore-text are replayed through the parsers
 * too, so the 0.14 shapes stay covered when the installed restic is a newer one.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump, dumpArgs } from '../../src/restic/dump.js';
import { ls, lsArgs, normaliseTreePath, parseLs, parseLsNodes } from '../../src/restic/ls.js';
import { literalPattern, parseRestoreLine, restore, restoreArgs } from '../../src/restic/restore.js';
import { failureOf } from '../../src/restic/runner.js';
import { backupDirect, fixture, outputOf, resticDirect, tempRepo } from './helpers.js';

const BAD_FF = Buffer.from('bad\xff.txt', 'latin1');
const BAD_FE = Buffer.from('bad\xfe.txt', 'latin1');

let t: ReturnType<typeof tempRepo>;
let snap: string;
let top: string;

async function streamToBuffer(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

beforeAll(() => {
  t = tempRepo('rb2-restore-');
  resticDirect(t.conn, ['init']);
  fs.mkdirSync(path.join(t.source, 'Fotomateriály', 'Rok 2024', 'deep'), { recursive: true });
  fs.writeFileSync(path.join(t.source, 'Fotomateriály', 'Rok 2024', 'with space.txt'), 'space\n');
  fs.writeFileSync(path.join(t.source, 'Fotomateriály', 'Rok 2024', 'a[1]*.txt'), 'pattern\n');
  fs.writeFileSync(
    path.join(t.source, 'Fotomateriály', 'Rok 2024', 'deep', 'Žluťoučký kůň.bin'),
    Buffer.alloc(70_000, 7),
  );
  const dir = Buffer.from(path.join(t.source, 'Fotomateriály') + '/');
  fs.writeFileSync(Buffer.concat([dir, BAD_FF]), 'ff');
  fs.writeFileSync(Buffer.concat([dir, BAD_FE]), 'fe');
  snap = backupDirect(t.conn, t.source, 'pc1', ['backup:11111111-1111-4111-8111-111111111111']);
  top = path.join(t.source, 'Fotomateriály');
});
afterAll(() => t.cleanup());

describe('ls / restore / dump argv (pure)', () => {
  it('normalises and checks paths, ids and patterns', () => {
    expect(normaliseTreePath('/a/b/')).toBe('/a/b');
    expect(() => normaliseTreePath('a')).toThrow(/must start with/);
    expect(() => normaliseTreePath('/a/../b')).toThrow(/"\.\."/);
    expect(lsArgs('abcdef12', '/x y')).toEqual(['ls', '--json', '--no-lock', '--', 'abcdef12', '/x y']);
    expect(() => lsArgs('latest; rm', '/')).toThrow(/not 8-64 hex/);
    expect(literalPattern('/a[1]*?\\.txt')).toBe('/a\\[1]\\*\\?\\\\.txt');
    expect(restoreArgs('abcdef12', { target: '/t', includes: ['/a b'] })).toEqual([
      'restore',
      '--json',
      '--target',
      '/t',
      '--include',
      '/a b',
      '--',
      'abcdef12',
    ]);
    expect(() => restoreArgs('abcdef12', { target: 'rel', includes: ['/a'] })).toThrow(/not absolute/);
    expect(dumpArgs('abcdef12', '/a', { archive: 'zip' })).toEqual([
      'dump',
      '--archive',
      'zip',
      '--',
      'abcdef12',
      '/a',
    ]);
    expect(
      parseRestoreLine('{"message_type":"status","percent_done":0.5,"bytes_restored":10,"total_bytes":20}'),
    ).toMatchObject({ percentDone: 0.5, bytesRestored: 10, totalBytes: 20, filesRestored: null });
    expect(parseRestoreLine('restoring <Snapshot> to /t')).toBeNull();
  });
});

describe('recorded restic 0.14 outputs (test/fixtures/restic-0.14)', () => {
  it('49-ls-json: the snapshot line is skipped, every struct_type node kept in order with size and mtime', () => {
    const stdout = fixture('49-ls-json').stdout.toString('utf8');
    // `ls latest` without a folder: the whole tree, starting below the root (no node for "/").
    expect(parseLsNodes(stdout)).toEqual([
      { name: 'srv', type: 'dir', path: '/srv', size: 0, mtime: '2026-12-02T00:33:08.206401383Z', exactName: true },
      {
        name: 'r14a-src',
        type: 'dir',
        path: '/srv/r14a-src',
        size: 0,
        mtime: '2026-12-02T00:33:08.209797617Z',
        exactName: true,
      },
      {
        name: 'a',
        type: 'file',
        path: '/srv/r14a-src/a',
        size: 2,
        mtime: '2026-12-02T00:33:08.209797617Z',
        exactName: true,
      },
    ]);
    const root = parseLs(stdout, '/');
    expect(root).toMatchObject({ self: null, found: true });
    expect(root.nodes.map((n) => n.path)).toEqual(['/srv', '/srv/r14a-src', '/srv/r14a-src/a']);
    // A folder finds its own node; a path the listing does not hold is "not found", not an error.
    expect(parseLs(stdout, '/srv/r14a-src/').self).toMatchObject({ type: 'dir', name: 'r14a-src' });
    expect(parseLs(stdout, '/srv/other')).toMatchObject({ self: null, found: false });
    expect(failureOf(outputOf('49-ls-json'), 'restic ls', { name: 'r', resticBinary: 'restic' })).toBeNull();
  });

  it('50-restore-text: 0.14 prints one text line and no progress even with --json; exit 0 is success', () => {
    const lines = fixture('50-restore-text').stdout.toString('utf8').split('\n');
    expect(lines[0]).toMatch(/^restoring <Snapshot 1b69f2f6 of \[\/srv\/r14a-src\] at .*> to \/tmp\/rec14a\/restored$/);
    expect(lines.map(parseRestoreLine).filter((s) => s !== null)).toEqual([]);
    expect(failureOf(outputOf('50-restore-text'), 'restic restore', { name: 'r', resticBinary: 'restic' })).toBeNull();
  });
});

describe('real restic 0.14', () => {
  it('lists one folder level: self, children with size and mtime, non-UTF-8 names as two inexact entries', async () => {
    const r = await ls(t.conn, snap, top);
    expect(r.found).toBe(true);
    expect(r.self).toMatchObject({ type: 'dir', path: top });
    const names = r.nodes.map((n) => n.name).sort();
    expect(names).toEqual(['Rok 2024', 'bad\uFFFD.txt', 'bad\uFFFD.txt']);
    expect(r.nodes.filter((n) => !n.exactName)).toHaveLength(2);
    const deeper = await ls(t.conn, snap, path.join(top, 'Rok 2024'));
    const file = deeper.nodes.find((n) => n.name === 'with space.txt');
    expect(file).toMatchObject({ type: 'file', size: 6, exactName: true });
    expect(file?.mtime).toMatch(/^\d{4}-/);
    expect(deeper.nodes.map((n) => n.name)).not.toContain('Žluťoučký kůň.bin'); // one level only
    const missing = await ls(t.conn, snap, path.join(top, 'nope'));
    expect(missing).toEqual({ self: null, found: false, nodes: [] });
    const all = await ls(t.conn, snap, top, { recursive: true });
    expect(all.nodes.map((n) => n.name)).toContain('Žluťoučký kůň.bin');
  });

  it('restores files byte-identical; a name with pattern characters is taken literally', async () => {
    const target = path.join(t.dir, 'restore-1');
    const file = path.join(top, 'Rok 2024', 'a[1]*.txt');
    const deepDir = path.join(top, 'Rok 2024', 'deep');
    await restore(t.conn, snap, { target, includes: [file, deepDir] });
    expect(fs.readFileSync(path.join(target, file), 'utf8')).toBe('pattern\n');
    expect(fs.readFileSync(path.join(target, deepDir, 'Žluťoučký kůň.bin'))).toEqual(Buffer.alloc(70_000, 7));
    expect(fs.existsSync(path.join(target, top, 'Rok 2024', 'with space.txt'))).toBe(false);
  });

  it('restores a folder with names that are not valid UTF-8 exactly', async () => {
    const target = path.join(t.dir, 'restore-2');
    await restore(t.conn, snap, { target, includes: [top] });
    const names = fs.readdirSync(path.join(target, top), { encoding: 'buffer' }).map((b) => b.toString('latin1'));
    expect(names.sort()).toEqual(['Rok 2024', 'bad\xfe.txt', 'bad\xff.txt'].sort());
    const dir = Buffer.from(path.join(target, top) + '/');
    expect(fs.readFileSync(Buffer.concat([dir, BAD_FF]), 'utf8')).toBe('ff');
    expect(fs.readFileSync(Buffer.concat([dir, BAD_FE]), 'utf8')).toBe('fe');
  });

  it('dumps a file byte-identical and a folder as a tar with every file and the exact name bytes', async () => {
    const f = path.join(top, 'Rok 2024', 'deep', 'Žluťoučký kůň.bin');
    const d = dump(t.conn, snap, f);
    const [body, err] = await Promise.all([streamToBuffer(d.stdout), d.done]);
    expect(err).toBeNull();
    expect(body).toEqual(Buffer.alloc(70_000, 7));
    const a = dump(t.conn, snap, top, { archive: 'tar' });
    const tarFile = path.join(t.dir, 'top.tar');
    fs.writeFileSync(tarFile, await streamToBuffer(a.stdout));
    expect(await a.done).toBeNull();
    const list = execFileSync('tar', ['--quoting-style=literal', '-tf', tarFile])
      .toString('latin1')
      .split('\n')
      .filter(Boolean);
    const rel = top.slice(1);
    const want = [
      Buffer.concat([Buffer.from(`${rel}/`), BAD_FF]),
      Buffer.concat([Buffer.from(`${rel}/`), BAD_FE]),
      ...['Rok 2024/with space.txt', 'Rok 2024/a[1]*.txt', 'Rok 2024/deep/Žluťoučký kůň.bin'].map((n) =>
        Buffer.from(`${rel}/${n}`),
      ),
    ];
    for (const w of want) expect(list).toContain(w.toString('latin1'));
    const z = dump(t.conn, snap, top, { archive: 'zip' });
    const zip = await streamToBuffer(z.stdout);
    expect(await z.done).toBeNull();
    expect(zip.subarray(0, 2).toString()).toBe('PK');
  });

  it('a dump of a path not in the snapshot fails naming it', async () => {
    const d = dump(t.conn, snap, path.join(top, 'nope.txt'));
    await streamToBuffer(d.stdout);
    const err = await d.done;
    expect(err?.message).toMatch(/not found/);
  });

  it('a cancelled dump of a large file ends restic and leaves no lock', async () => {
    const big = path.join(t.dir, 'bigsrc');
    fs.mkdirSync(big);
    execFileSync('head', ['-c', String(64 * 1024 * 1024), '/dev/urandom'], {
      stdio: ['ignore', fs.openSync(path.join(big, 'big.bin'), 'w'), 'inherit'],
    });
    const id = backupDirect(t.conn, big, 'pc1', ['backup:x']);
    const ac = new AbortController();
    const d = dump(t.conn, id, path.join(big, 'big.bin'), {}, { signal: ac.signal });
    // read one chunk then stop reading (a browser going away)
    await new Promise<void>((resolve) => d.stdout.once('data', () => resolve()));
    d.stdout.pause();
    ac.abort();
    d.stdout.resume();
    d.stdout.on('data', () => undefined);
    const err = await d.done;
    expect(err?.kind).toBe('cancelled');
    expect(resticDirect(t.conn, ['list', 'locks']).trim()).toBe('');
  }, 60_000);
});

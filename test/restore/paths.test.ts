/**
 * Pure parts of issue 17: how a snapshot's tree paths are shown (a Windows snapshot's /C/... as
 * C:\..., a restic 0.14 snapshot of a relative source), where browsing starts, which targets are
 * allowed, names safe on every file system, restore_roots, Content-Disposition and the recovery
 * kit's shell quoting. (Windows itself is not available here: its snapshot shapes are written from
 * restic's docs, doc/040_backup.rst.)
 */
import { describe, expect, it } from 'vitest';
import { contentDisposition } from '../../src/api/routes-restore.js';
import { renderRecoveryKit, shellQuote } from '../../src/restore/recovery-kit.js';
import { startPath } from '../../src/restore/restore-service.js';
import {
  displayPath,
  isWindowsSnapshot,
  originalTarget,
  relativeBase,
  safeName,
} from '../../src/restore/snapshot-paths.js';
import { checkTarget, defaultTarget, parseRestoreRoots } from '../../src/restore/targets.js';
import type { Snapshot } from '../../src/restic/snapshot.js';

const snap = (paths: string[]): Snapshot => ({
  id: 'a'.repeat(64),
  shortId: 'aaaaaaaa',
  time: '2026-12-01T10:00:00Z',
  parent: null,
  tree: null,
  paths,
  hostname: 'h',
  username: null,
  tags: [],
  excludes: [],
  programVersion: null,
  summary: null,
});

describe('snapshot paths', () => {
  it('shows a Windows snapshot in its own form and never offers its original location on Linux', () => {
    const w = snap(['C:\\Users\\Ann\\Documents']);
    expect(isWindowsSnapshot(w)).toBe(true);
    expect(displayPath(w, '/C/Users/Ann/Documents/Daně 2024.pdf')).toBe('C:\\Users\\Ann\\Documents\\Daně 2024.pdf');
    expect(startPath(w)).toBe('/C/Users/Ann/Documents');
    expect(originalTarget(w, '/C/Users/Ann/Documents', 'linux')).toBeNull();
  });

  it('maps a restic 0.14 relative-source tree back to the absolute folder', () => {
    const r = snap(['/tmp/x/src']);
    expect(relativeBase(r, '/src/a/b.txt')).toBe('/tmp/x');
    expect(displayPath(r, '/src/a/b.txt')).toBe('/tmp/x/src/a/b.txt');
    expect(originalTarget(r, '/src/a', 'linux')).toBe('/tmp/x');
    const abs = snap(['/home/ann']);
    expect(relativeBase(abs, '/home/ann/x')).toBeNull();
    expect(displayPath(abs, '/home/ann/x')).toBe('/home/ann/x');
    expect(originalTarget(abs, '/home/ann', 'linux')).toBe('/');
    expect(startPath(abs)).toBe('/home/ann');
  });

  it('makes names safe on every file system', () => {
    expect(safeName('Fotky: 2024/06\\a*?"<>|')).toBe('Fotky- 2024-06-a------');
    expect(defaultTarget('/data', 'Docs/Work', '2026-12-01T10:20:30.123456Z')).toBe(
      '/data/restores/Docs-Work-2026-12-01T10-20-30',
    );
  });
});

describe('targets', () => {
  const rules = {
    dataDir: '/data',
    sourcePaths: ['/home/ann/Docs'],
    restoreRoots: parseRestoreRoots('["/srv/restores"]'),
  };
  it('allows the restores folder, the job folders and restore_roots; refuses the rest naming the target', () => {
    expect(() => checkTarget('/data/restores/x', ['/home/ann/Docs/a'], rules)).not.toThrow();
    expect(() => checkTarget('/', ['/home/ann/Docs/a.txt'], rules)).not.toThrow();
    expect(() => checkTarget('/srv/restores/t', ['/home/ann/Docs'], rules)).not.toThrow();
    expect(() => checkTarget('/', ['/etc/passwd'], rules)).toThrow(/target "\/" is not allowed: \/etc\/passwd/);
    expect(() => checkTarget('/data', ['/api-token'], rules)).toThrow(/not allowed/);
    expect(() => checkTarget('/data/restores/../x', ['/a'], rules)).toThrow(/not allowed/);
    expect(() => checkTarget('rel', ['/a'], rules)).toThrow(/not an absolute path/);
  });
  it('reads restore_roots as JSON or ;-separated and refuses relative folders naming the setting', () => {
    expect(parseRestoreRoots('/a; /b\n/c')).toEqual(['/a', '/b', '/c']);
    expect(parseRestoreRoots('')).toEqual([]);
    expect(() => parseRestoreRoots('["rel"]')).toThrow(/restore_roots: "rel" is not an absolute path/);
  });
});

describe('download and recovery kit text', () => {
  it('Content-Disposition has an ASCII fallback and the exact UTF-8 name', () => {
    expect(contentDisposition('přehled "Q1".xlsx')).toBe(
      `attachment; filename="p_ehled _Q1_.xlsx"; filename*=UTF-8''p%C5%99ehled%20%22Q1%22.xlsx`,
    );
  });
  it('quotes values for the shell and lists every repository with its jobs', () => {
    expect(shellQuote(`pa$$ w0rd"'\`;#`)).toBe(`'pa$$ w0rd"'\\''\`;#'`);
    const job = {
      id: '11111111-1111-4111-8111-111111111111',
      deviceId: 'pc',
      name: 'Docs',
      description: null,
      sourcePaths: ['/home/a'],
      excludePatterns: [],
      tags: ['t'],
      resticArgs: [],
      repositoryId: null,
      enabled: true,
      originName: null,
      originId: null,
      accountId: null,
      schedules: [],
      hooks: [],
      updatedAt: '',
      repository: {
        id: null,
        name: 'nas',
        url: '/srv/repo',
        password: 'pw',
        passwordFile: null,
        passwordCommand: null,
        cacheDir: null,
        env: {},
      },
    };
    const kit = renderRecoveryKit([{ id: 'pc', name: 'PC', jobs: [job] }], '2026-12-01T00:00:00Z');
    expect(kit).toContain("export RESTIC_REPOSITORY='/srv/repo'");
    expect(kit).toContain("export RESTIC_PASSWORD='pw'");
    expect(kit).toContain('backup:11111111-1111-4111-8111-111111111111');
  });
});

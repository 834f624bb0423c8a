import { describe, expect, it } from 'vitest';
import { buildBackupArgs, buildTags, filterResticArgs } from '../../src/backup/command.js';
import { baseChildEnv } from '../../src/restic/environment.js';
import { buildResticEnv } from '../../src/restic/connection.js';
import { normalizeSourcePaths } from '../../src/backup/paths.js';
import { parseResticVersion, supports, type ResticVersion } from '../../src/restic/version.js';
import { isLockStale } from '../../src/backup/locks.js';
import { parseLockJson } from '../../src/restic/locks.js';
import { fixture, makeJob, makeRepo } from './helpers.js';

const v014: ResticVersion = { major: 0, minor: 14, patch: 0, raw: '0.14.0' };
const v017: ResticVersion = { major: 0, minor: 17, patch: 3, raw: '0.17.3' };

describe('restic version', () => {
  it('parses the 0.14 text form (fixtures 01, 02) and the 0.17+ JSON form', () => {
    expect(parseResticVersion(fixture('01-version').stdout.toString())).toEqual(v014);
    expect(parseResticVersion(fixture('02-version-json').stdout.toString())).toEqual(v014);
    expect(
      parseResticVersion(
        '{"message_type":"version","version":"0.17.3","go_version":"go1.23.1","go_os":"linux","go_arch":"amd64"}\n',
      ),
    ).toEqual(v017);
    expect(parseResticVersion('restic 0.18.1-dev (compiled manually) compiled with go1.24 on linux/amd64')?.minor).toBe(
      18,
    );
    expect(parseResticVersion('bash: restic: command not found')).toBeNull();
  });

  it('gates features by version', () => {
    expect(supports(v014, 'retry-lock')).toBe(false);
    expect(supports({ ...v014, minor: 16 }, 'retry-lock')).toBe(true);
    expect(supports({ ...v014, minor: 16 }, 'skip-if-unchanged')).toBe(false);
    expect(supports(v017, 'skip-if-unchanged')).toBe(true);
    expect(supports(v017, 'exit-codes-10-12')).toBe(true);
    expect(supports({ major: 1, minor: 0, patch: 0, raw: '1.0.0' }, 'retry-lock')).toBe(true);
  });
});

describe('backup argv', () => {
  const job = makeJob({
    name: 'Fotky, 2024',
    originName: 'device1',
    accountId: '11111111-2222-3333-4444-555555555555',
    tags: ['daily', 'a,b', ' ', 'daily'],
    sourcePaths: ['/srv/Fotomateriály/Rok 2024', '-weird'],
    excludePatterns: ['*.tmp', '/srv/Fotomateriály/Rok 2024/cache dir'],
    resticArgs: [
      '--skip-if-unchanged',
      '--retry-lock',
      '5m',
      '--read-concurrency=4',
      '--one-file-system',
      '--password-file',
      '/etc/pw',
      '-r',
      '/other',
    ],
  });

  it('tags follow CONTRACTS §4 order, one --tag each, commas replaced so one name stays one tag', () => {
    expect(buildTags(job)).toEqual([
      `backup:${job.id}`,
      'backup_name=Fotky; 2024',
      'origin=device1',
      'account_id=11111111-2222-3333-4444-555555555555',
      'daily',
      'a;b',
    ]);
    expect(buildTags(makeJob({ tags: [] }))).toEqual([`backup:${makeJob().id}`, 'backup_name=device1/Dokumenty']);
  });

  it('C14 each path and exclude is one argument after --; newer flags and secrets are removed on 0.14', () => {
    const { args, removed } = buildBackupArgs(job, v014, { sourcePaths: job.sourcePaths, retryLockSeconds: 120 });
    expect(args.slice(0, 3)).toEqual(['backup', '--json', '--one-file-system']);
    expect(args).not.toContain('--skip-if-unchanged');
    expect(args).not.toContain('--retry-lock');
    expect(args).not.toContain('/etc/pw');
    expect(args).not.toContain('/other');
    expect(args.slice(-3)).toEqual(['--', '/srv/Fotomateriály/Rok 2024', '-weird']);
    expect(args).toContain('/srv/Fotomateriály/Rok 2024/cache dir');
    expect(args.filter((a) => a === '--tag')).toHaveLength(6);
    expect(removed).toHaveLength(5);
  });

  it('keeps supported flags on 0.17 and adds --retry-lock only where the job has none', () => {
    const { args } = buildBackupArgs(job, v017, { sourcePaths: job.sourcePaths, retryLockSeconds: 120 });
    expect(args).toContain('--skip-if-unchanged');
    expect(args.join(' ')).toContain('--retry-lock 5m');
    expect(args.filter((a) => a === '--retry-lock')).toHaveLength(1);
    const plain = buildBackupArgs(makeJob(), v017, { sourcePaths: ['/x'], retryLockSeconds: 120 }).args;
    expect(plain.join(' ')).toContain('--retry-lock 120s');
    expect(filterResticArgs(['--no-scan'], { ...v014, minor: 15 }).args).toEqual(['--no-scan']);
  });
});

describe('child environment', () => {
  const agentEnv = {
    PATH: '/usr/bin',
    HOME: '/root',
    LANG: 'cs_CZ.UTF-8',
    LC_ALL: 'C.UTF-8',
    RESTIC_PASSWORD: 'wrong',
    RESTIC_REPOSITORY: '/evil',
    restic_password_file: '/evil',
    SECRET_TOKEN: 'x',
    TMPDIR: '/tmp',
  };

  it('C13 never inherits RESTIC_* from the agent and sets exactly one password source', () => {
    const env = buildResticEnv({
      repository: makeRepo({
        url: '/srv/repo',
        password: `pa$$ w0rd"'\\\`;#`,
        env: { AWS_ACCESS_KEY_ID: 'k', RESTIC_PASSWORD: 'from-repo-env' },
      }),
      dataDir: '/var/lib/rbackup2',
      agentEnv,
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/root',
      LANG: 'cs_CZ.UTF-8',
      LC_ALL: 'C.UTF-8',
      TMPDIR: '/tmp',
      AWS_ACCESS_KEY_ID: 'k',
      RESTIC_REPOSITORY: '/srv/repo',
      RESTIC_PASSWORD: `pa$$ w0rd"'\\\`;#`,
      RESTIC_CACHE_DIR: '/var/lib/rbackup2/restic-cache',
      RESTIC_PROGRESS_FPS: '0.5',
    });
  });

  it('C24 cache dir is always explicit; password file and command are passed by name', () => {
    const f = buildResticEnv({
      repository: makeRepo({ password: null, passwordFile: '/etc/pw', cacheDir: '/cache' }),
      dataDir: '/d',
      agentEnv: {},
    });
    expect(f.RESTIC_PASSWORD_FILE).toBe('/etc/pw');
    expect(f.RESTIC_PASSWORD).toBeUndefined();
    expect(f.RESTIC_CACHE_DIR).toBe('/cache');
    const c = buildResticEnv({
      repository: makeRepo({ password: null, passwordCommand: 'pass show x' }),
      dataDir: '/d',
      agentEnv: {},
    });
    expect(c.RESTIC_PASSWORD_COMMAND).toBe('pass show x');
    expect(c.RESTIC_CACHE_DIR).toBe('/d/restic-cache');
    expect(() => buildResticEnv({ repository: makeRepo({ password: null }), dataDir: '/d', agentEnv: {} })).toThrow(
      /no password/,
    );
  });

  it('Windows variables are allowed whatever their case', () => {
    expect(
      baseChildEnv({
        SystemRoot: 'C:\\Windows',
        Path: 'C:\\bin',
        APPDATA: 'a',
        LOCALAPPDATA: 'b',
        USERPROFILE: 'c',
        ProgramData: 'd',
        ComSpec: 'cmd',
        Restic_Password: 'no',
      }),
    ).toEqual({
      SystemRoot: 'C:\\Windows',
      Path: 'C:\\bin',
      APPDATA: 'a',
      LOCALAPPDATA: 'b',
      USERPROFILE: 'c',
      ProgramData: 'd',
      ComSpec: 'cmd',
    });
  });
});

describe('source paths', () => {
  it('C20 Windows: D: becomes D:\\, share roots are refused with a suggestion, long paths unchanged', () => {
    const long = `C:\\${'a'.repeat(120)}\\${'b'.repeat(150)}\\file.txt`;
    const r = normalizeSourcePaths(
      ['D:', 'D:\\', 'C:\\Users\\User2\\Documents', long, '\\\\nas\\photos\\2024', '\\\\?\\C:\\x'],
      'win32',
    );
    expect(r.paths).toEqual(['D:\\', 'C:\\Users\\User2\\Documents', long, '\\\\nas\\photos\\2024', '\\\\?\\C:\\x']);
    expect(long.length).toBeGreaterThan(260);
    expect(r.warnings).toHaveLength(1);
    expect(r.errors).toEqual([]);
    const bad = normalizeSourcePaths(
      ['\\\\nas\\photos', '\\\\nas\\photos\\', '//nas/photos', '\\\\nas', 'D:foo', 'Documents'],
      'win32',
    );
    expect(bad.paths).toEqual([]);
    expect(bad.errors[0]).toBe(
      'source "\\\\nas\\photos" is the root of a network share, which restic cannot back up; choose a folder inside it, e.g. "\\\\nas\\photos\\<folder>"',
    );
    expect(bad.errors).toHaveLength(6);
  });

  it('C14 posix: spaces and non-ASCII unchanged; relative refused', () => {
    const r = normalizeSourcePaths(['/srv/Fotomateriály/Rok 2024', '/srv/a b/', 'rel/path', '', '/srv/a b/'], 'posix');
    expect(r.paths).toEqual(['/srv/Fotomateriály/Rok 2024', '/srv/a b/']);
    expect(r.errors).toHaveLength(2);
  });
});

describe('lock staleness (restic rule)', () => {
  const now = Date.parse('2026-11-29T15:00:00Z');
  const lock = parseLockJson(
    'a'.repeat(64),
    '{"time":"2026-11-29T14:50:00Z","exclusive":true,"hostname":"vm","username":"root","pid":4242}',
  );
  it('same host: dead PID is stale, live PID is not; other host: only after 30 minutes', () => {
    expect(lock).not.toBeNull();
    if (!lock) return;
    expect(isLockStale(lock, { now, hostname: 'vm', pidAlive: () => false })).toBe(true);
    expect(isLockStale(lock, { now, hostname: 'vm', pidAlive: () => true })).toBe(false);
    expect(isLockStale(lock, { now, hostname: 'other', pidAlive: () => false })).toBe(false);
    expect(isLockStale(lock, { now: now + 31 * 60_000, hostname: 'other', pidAlive: () => true })).toBe(true);
    expect(parseLockJson('x', 'not json')).toBeNull();
  });
});

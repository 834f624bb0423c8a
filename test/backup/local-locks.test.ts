// C06 fast path: skip `restic list locks` only when a local repository's locks/ folder is empty.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localRepositoryHasNoLocks, localRepositoryPath } from '../../src/backup/local-locks.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-local-locks-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('local repository lock folder', () => {
  it('C06 local paths are recognised; other backends and relative paths are not', () => {
    expect(localRepositoryPath('/srv/restic repo', 'linux')).toBe('/srv/restic repo');
    expect(localRepositoryPath('local:/srv/repo', 'linux')).toBe('/srv/repo');
    expect(localRepositoryPath('C:\\Backups\\repo', 'win32')).toBe('C:\\Backups\\repo');
    for (const url of [
      'sftp:user@host:/srv/repo',
      's3:s3.amazonaws.com/bucket',
      'rest:http://h:8000/',
      'rclone:remote:x',
      'repo',
      'C:\\Backups\\repo',
    ]) {
      expect(localRepositoryPath(url, 'linux')).toBeNull();
    }
  });

  it('C06 a freshly initialised restic repository has no locks; one lock file makes the full check run', async () => {
    const repo = path.join(tmp, 'repo');
    execFileSync('restic', ['init'], {
      env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: 'pw' },
      stdio: 'ignore',
    });
    expect(await localRepositoryHasNoLocks(repo, 'linux')).toBe(true);
    expect(await localRepositoryHasNoLocks(`local:${repo}`, 'linux')).toBe(true);
    fs.writeFileSync(path.join(repo, 'locks', 'a'.repeat(64)), 'x');
    expect(await localRepositoryHasNoLocks(repo, 'linux')).toBe(false);
  });

  it('C06 a missing folder or a remote repository answers false (the full check runs)', async () => {
    expect(await localRepositoryHasNoLocks(path.join(tmp, 'nothing-here'), 'linux')).toBe(false);
    expect(await localRepositoryHasNoLocks('sftp:user@host:/srv/repo', 'linux')).toBe(false);
  });
});

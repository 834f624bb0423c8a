// C31: two jobs of one agent back up to one repository holding a stale exclusive lock (a restic
// holding an exclusive lock killed with SIGKILL), both started at once: exactly one runs plain
// `restic unlock`, both back up. Real restic 0.14 on a temp repository.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActiveRepositories } from '../../src/backup/active-repositories.js';
import { cleanText, describeLock } from '../../src/backup/locks.js';
import { discoverRestic, type ResticVersion } from '../../src/restic/version.js';
import { runBackup } from '../../src/backup/run-backup.js';
import { makeJob, makeRepo, restic, tempDir } from './helpers.js';

/** Any C0 control character. */
const CONTROL = new RegExp(`[${String.fromCharCode(0)}-${String.fromCharCode(31)}]`);
let tmp: { dir: string; cleanup: () => void };
let version: ResticVersion;
beforeAll(async () => {
  tmp = tempDir('rbackup2-c31-');
  version = (await discoverRestic('restic')).version;
});
afterAll(() => tmp.cleanup());

async function staleExclusiveLock(repoDir: string): Promise<void> {
  const locksDir = path.join(repoDir, 'locks');
  // `restic key passwd` takes an exclusive lock and waits for the new password on stdin.
  const child = spawn('restic', ['key', 'passwd'], {
    env: { PATH: process.env.PATH ?? '', RESTIC_REPOSITORY: repoDir, RESTIC_PASSWORD: 'pw' },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const end = Date.now() + 15_000;
  // Until the lock file has content: restic creates it before writing it, and a kill in between
  // leaves an empty lock that restic 0.14 ignores and `unlock` never removes.
  const written = () => {
    const files = fs.readdirSync(locksDir);
    return (
      files.length > 0 &&
      files.every(
        (f) =>
          !f.includes('-tmp-') && // restic writes `<id>-tmp-<n>`, then renames it
          (fs.statSync(path.join(locksDir, f), { throwIfNoEntry: false })?.size ?? 0) > 0,
      )
    );
  };
  while (!written()) {
    if (Date.now() > end) throw new Error('no written lock appeared');
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

describe('C31 stale lock, two jobs, one repository', () => {
  it('C31 both jobs started at once: exactly one removes the stale exclusive lock with plain unlock, both succeed, no lock left', async () => {
    const repoDir = path.join(tmp.dir, 'repo');
    restic(['init', '--repo', repoDir], { RESTIC_PASSWORD: 'pw' });
    await staleExclusiveLock(repoDir);
    expect(fs.readdirSync(path.join(repoDir, 'locks'))).toHaveLength(1);
    const active = new ActiveRepositories();
    const jobFor = (n: number) => {
      const src = path.join(tmp.dir, `src${n}`);
      fs.mkdirSync(src, { recursive: true });
      fs.writeFileSync(path.join(src, 'x.txt'), String(n));
      return makeJob({
        id: `6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4${n}`,
        name: `job${n}`,
        sourcePaths: [src],
        repository: makeRepo({ url: repoDir, password: 'pw' }),
      });
    };
    const results = await Promise.all(
      [1, 2].map((n) =>
        runBackup({
          job: jobFor(n),
          restic: { path: 'restic', version },
          dataDir: path.join(tmp.dir, 'data'),
          activeRepositories: active,
          lockWaitSeconds: 20,
          lockRetryDelaySeconds: 1,
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['success', 'success']);
    const unlocked = results.filter((r) =>
      r.warnings.some((w) => /^Removed 1 stale lock\(s\) .*\(exclusive\).* with "restic unlock"\.$/.test(w)),
    );
    expect(unlocked).toHaveLength(1);
    expect(fs.readdirSync(path.join(repoDir, 'locks'))).toEqual([]);
    for (const r of results) for (const w of r.warnings) expect(w).not.toMatch(CONTROL);
  }, 90_000);

  it('C31 lock notes keep no terminal escape codes or control characters', () => {
    expect(cleanText('\u001b[31mFatal: unable to open\u001b[0m\r\n\u0007bell')).toBe('Fatal: unable to open\nbell');
    expect(
      describeLock({
        id: 'a',
        time: '2026-01-01T00:00:00Z',
        exclusive: true,
        hostname: 'evil\u001b]0;title\u0007host',
        username: 'u\u001b[2J',
        pid: 1,
      }),
    ).not.toMatch(CONTROL);
  });
});

// C27 / C35 with real restic 0.14: a repository that accepts connections and never answers, a
// REST server that hangs in the middle of a backup, and an sftp `ssh` that hangs with a child.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverRestic, type ResticVersion } from '../../src/restic/version.js';
import { runBackup } from '../../src/backup/run-backup.js';
import { sftpCommandArgs } from '../../src/restic/sftp-command.js';
import { redactRepositoryUrl } from '../../src/backup/watchdog.js';
import { startBlackHole } from '../helpers/black-hole.js';
import { startRestServer } from '../helpers/rest-server.js';
import { makeJob, makeRepo, restic, tempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
let srcDir: string;
let dataDir: string;
let version: ResticVersion;

/** Running (a zombie left to a PID 1 that does not reap, as in containers, counts as ended). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

beforeAll(async () => {
  tmp = tempDir('rbackup2-stall-');
  srcDir = path.join(tmp.dir, 'src');
  dataDir = path.join(tmp.dir, 'data');
  fs.mkdirSync(srcDir);
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(srcDir, `f${i}.bin`), Buffer.alloc(200_000, i));
  version = (await discoverRestic('restic')).version;
});
afterAll(() => tmp.cleanup());

describe('C27 a repository that never answers', () => {
  it('C27 rest: URL on a listener that accepts and never answers: failed within the stall time-out, naming the stall and the repository without credentials', async () => {
    const hole = await startBlackHole();
    try {
      const url = `rest:http://alice:s3cret@127.0.0.1:${hole.port}/repo`;
      const t0 = performance.now();
      const r = await runBackup({
        job: makeJob({ sourcePaths: [srcDir], repository: makeRepo({ url, password: 'pw' }) }),
        restic: { path: 'restic', version },
        dataDir,
        stallTimeoutSeconds: 3,
      });
      const seconds = (performance.now() - t0) / 1000;
      expect(r.status).toBe('failed');
      expect(r.errorKind).toBe('stalled');
      expect(r.errorMessage).toContain(`rest:http://127.0.0.1:${hole.port}/repo`);
      expect(r.errorMessage).toMatch(/did not answer|no progress/);
      expect(r.errorMessage).not.toContain('s3cret');
      expect(hole.accepted()).toBeGreaterThan(0);
      expect(seconds).toBeLessThan(3 + 5 + 5); // time-out + SIGINT grace + slack
    } finally {
      await hole.close();
    }
  }, 60_000);

  it('C27 a REST server that stops answering uploads in the middle of a backup: the status counters stop moving and the watchdog ends it as stalled', async () => {
    const repoDir = path.join(tmp.dir, 'rest-repo');
    restic(['init', '--repo', repoDir], { RESTIC_PASSWORD: 'pw' });
    const server = await startRestServer(repoDir);
    server.hang = /^POST \/data\//;
    try {
      const progress: number[] = [];
      const t0 = performance.now();
      const r = await runBackup({
        job: makeJob({ sourcePaths: [srcDir], repository: makeRepo({ url: server.url, password: 'pw' }) }),
        restic: { path: 'restic', version },
        dataDir,
        stallTimeoutSeconds: 4,
        onProgress: (p) => progress.push(p.bytesDone ?? 0),
      });
      const seconds = (performance.now() - t0) / 1000;
      expect(r.status).toBe('failed');
      expect(r.errorKind).toBe('stalled');
      expect(r.errorMessage).toContain('no progress for 4 s');
      expect(r.errorMessage).toContain(`rest:http://127.0.0.1:${server.port}/`);
      expect(server.log.some((l) => l.startsWith('POST /data/'))).toBe(true);
      expect(progress.length).toBeGreaterThan(1); // restic kept printing status lines while stuck
      expect(seconds).toBeLessThan(4 + 10 + 10);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('C27 backup_timeout_seconds stops a backup that still shows progress at the hard limit', async () => {
    const repoDir = path.join(tmp.dir, 'rest-repo-hard');
    restic(['init', '--repo', repoDir], { RESTIC_PASSWORD: 'pw' });
    const server = await startRestServer(repoDir);
    server.hang = /^POST \/data\//;
    try {
      const r = await runBackup({
        job: makeJob({ sourcePaths: [srcDir], repository: makeRepo({ url: server.url, password: 'pw' }) }),
        restic: { path: 'restic', version },
        dataDir,
        stallTimeoutSeconds: 600,
        backupTimeoutSeconds: 3,
      });
      expect(r.status).toBe('failed');
      expect(r.errorKind).toBe('timed_out');
      expect(r.errorMessage).toContain('backup_timeout_seconds (3 s)');
    } finally {
      await server.close();
    }
  }, 60_000);

  it('C27 the same REST server answering everything: the backup succeeds (the watchdog does not fire on a healthy run)', async () => {
    const repoDir = path.join(tmp.dir, 'rest-repo-ok');
    restic(['init', '--repo', repoDir], { RESTIC_PASSWORD: 'pw' });
    const server = await startRestServer(repoDir);
    try {
      const r = await runBackup({
        job: makeJob({ sourcePaths: [srcDir], repository: makeRepo({ url: server.url, password: 'pw' }) }),
        restic: { path: 'restic', version },
        dataDir,
        stallTimeoutSeconds: 10,
      });
      expect(r.errorMessage).toBeNull();
      expect(r.status).toBe('success');
      expect(r.totalFilesProcessed).toBe(20);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('C27 redactRepositoryUrl removes user:password and query strings', () => {
    expect(redactRepositoryUrl('rest:https://u:p@h:8000/x?token=1')).toBe('rest:https://h:8000/x');
    expect(redactRepositoryUrl('s3:https://s3.example/b')).toBe('s3:https://s3.example/b');
  });
});

describe('C35 restic and its ssh end together', () => {
  it('C35 an sftp repository whose ssh hangs (and ignores SIGINT, with a child of its own): the whole process group is ended, no ssh or child left', async () => {
    const bin = path.join(tmp.dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    const record = path.join(tmp.dir, 'ssh-record');
    // A fake ssh: logs its argv and PIDs, starts a child, ignores SIGINT/SIGTERM and never speaks sftp.
    fs.writeFileSync(
      path.join(bin, 'ssh'),
      `#!/bin/sh\ntrap '' INT TERM\necho "$*" > ${record}.args\nsleep 600 &\necho "$$ $!" > ${record}\nwait\n`,
      { mode: 0o755 },
    );
    const t0 = performance.now();
    const r = await runBackup({
      job: makeJob({
        sourcePaths: [srcDir],
        repository: makeRepo({ url: 'sftp:backup@nas.invalid:/srv/restic', password: 'pw' }),
      }),
      restic: { path: 'restic', version },
      dataDir,
      stallTimeoutSeconds: 3,
      agentEnv: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
    });
    const seconds = (performance.now() - t0) / 1000;
    expect(r.status).toBe('failed');
    expect(r.errorKind).toBe('stalled');
    expect(r.errorMessage).toContain('sftp:backup@nas.invalid:/srv/restic');
    const args = fs.readFileSync(`${record}.args`, 'utf8');
    expect(args).toContain('BatchMode=yes');
    expect(args).toContain('ConnectTimeout=');
    expect(args).toMatch(/-l backup .*nas\.invalid -s sftp/);
    const [sshPid, childPid] = fs.readFileSync(record, 'utf8').trim().split(' ').map(Number);
    await new Promise((res) => setTimeout(res, 300));
    expect(alive(sshPid!)).toBe(false);
    expect(alive(childPid!)).toBe(false);
    expect(seconds).toBeLessThan(3 + 5 + 5);
  }, 60_000);

  it("C35 sftpCommandArgs builds restic's own ssh command with fail-fast options, for both URL forms", () => {
    expect(sftpCommandArgs('sftp:user@host:/srv/repo', 20)).toEqual([
      '-o',
      'sftp.command=ssh -l user -o BatchMode=yes -o ConnectTimeout=20 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 host -s sftp',
    ]);
    expect(sftpCommandArgs('sftp://u@h:2222//srv/repo')[1]).toMatch(/^sftp\.command=ssh -p 2222 -l u .* h -s sftp$/);
    expect(sftpCommandArgs('/srv/repo')).toEqual([]);
    expect(sftpCommandArgs('rest:http://h/')).toEqual([]);
  });
});

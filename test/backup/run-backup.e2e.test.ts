// End-to-end runs of runBackup against real restic (0.14 at /usr/bin/restic) on temp repositories.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTags } from '../../src/backup/command.js';
import { discoverRestic, type ResticVersion } from '../../src/restic/version.js';
import { runBackup } from '../../src/backup/run-backup.js';
import { ActiveRepositories } from '../../src/backup/active-repositories.js';
import { makeJob, makeRepo, restic, tempDir } from './helpers.js';

const PASSWORD = `pa$$ w0rd"'\\\`;#`;
let tmp: { dir: string; cleanup: () => void };
let repoDir: string;
let dataDir: string;
let srcDir: string;
let bigDir: string;
let version: ResticVersion;
const savedEnv = { RESTIC_PASSWORD: process.env.RESTIC_PASSWORD, RESTIC_REPOSITORY: process.env.RESTIC_REPOSITORY };
const rEnv = () => ({
  RESTIC_REPOSITORY: repoDir,
  RESTIC_PASSWORD: PASSWORD,
  RESTIC_CACHE_DIR: path.join(dataDir, 'restic-cache'),
});
const locks = () => fs.readdirSync(path.join(repoDir, 'locks'));

function job(overrides: Parameters<typeof makeJob>[0] = {}) {
  return makeJob({ sourcePaths: [srcDir], repository: makeRepo({ url: repoDir, password: PASSWORD }), ...overrides });
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Start a restic of someone else holding a lock: `backup --stdin` (shared) or `key passwd` (exclusive). */
async function holdLock(kind: 'shared' | 'exclusive'): Promise<ChildProcess> {
  const before = locks().length;
  const args = kind === 'shared' ? ['backup', '--stdin', '--stdin-filename', 'held.txt'] : ['key', 'passwd'];
  const child = spawn('restic', args, {
    env: { PATH: process.env.PATH ?? '', ...rEnv() },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // The lock file exists before restic has written it: wait until every lock file has content (a
  // kill before that leaves an empty lock that restic 0.14 ignores and `unlock` never removes) and
  // its final name (restic's local backend writes `<id>-tmp-<n>`, then renames it; CI once read
  // the temporary name as the held lock).
  const written = () =>
    locks().length > before &&
    locks().every(
      (f) =>
        !f.includes('-tmp-') && (fs.statSync(path.join(repoDir, 'locks', f), { throwIfNoEntry: false })?.size ?? 0) > 0,
    );
  await waitFor(written, 15_000);
  return child;
}

beforeAll(async () => {
  tmp = tempDir('rbackup2-e2e-');
  repoDir = path.join(tmp.dir, 'repo');
  dataDir = path.join(tmp.dir, 'data');
  srcDir = path.join(tmp.dir, 'Fotomateriály', 'Rok 2024');
  bigDir = path.join(tmp.dir, 'big data');
  fs.mkdirSync(srcDir, { recursive: true });
  fs.mkdirSync(bigDir, { recursive: true });
  for (let i = 0; i < 5; i++)
    fs.writeFileSync(path.join(srcDir, `fotka ${i} žluťoučký.txt`), `obsah ${i}\n`.repeat(1000));
  fs.writeFileSync(path.join(bigDir, 'random.bin'), Buffer.alloc(0));
  const fd = fs.openSync(path.join(bigDir, 'random.bin'), 'w');
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < 40; i++) {
    for (let j = 0; j < chunk.length; j += 4) chunk.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, j);
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
  restic(['init'], rEnv());
  version = (await discoverRestic('restic')).version;
  process.env.RESTIC_PASSWORD = 'wrong';
  process.env.RESTIC_REPOSITORY = '/nonexistent-agent-repo';
}, 120_000);

afterAll(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  tmp?.cleanup();
});

describe('runBackup with real restic', () => {
  it('C13 C14 success: configured password wins over an exported RESTIC_PASSWORD, never in argv; paths and tags exact', async () => {
    const j = job({
      name: 'Fotky, 2024',
      originName: 'device1',
      accountId: '11111111-2222-3333-4444-555555555555',
      tags: ['daily'],
      sourcePaths: [srcDir, bigDir],
      excludePatterns: ['*.tmp'],
    });
    const seen: { cmdline: string; environ: string; nice: number }[] = [];
    let running = true;
    const watcher = (async () => {
      while (running) {
        for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
          try {
            // only restic children of this test process (other suites run restic at the same time)
            const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
            const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
            if (Number(fields[1]) !== process.pid) continue;
            const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
            if (cmdline.includes('backup\0--json'))
              seen.push({
                cmdline,
                environ: fs.readFileSync(`/proc/${pid}/environ`, 'utf8'),
                nice: Number(fields[16]),
              });
          } catch {
            /* process ended */
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const result = await runBackup({ job: j, restic: { path: 'restic', version }, dataDir });
    running = false;
    await watcher;
    expect(result.errorMessage).toBeNull();
    expect(result.status).toBe('success');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)?.nice).toBe(10); // restic runs below normal CPU priority
    for (const s of seen) {
      expect(s.cmdline).not.toContain('w0rd');
      expect(s.environ.split('\0')).toContain(`RESTIC_PASSWORD=${PASSWORD}`);
      expect(s.environ).not.toContain('RESTIC_PASSWORD=wrong');
      expect(s.environ).not.toContain('nonexistent-agent-repo');
    }
    const snaps = JSON.parse(restic(['snapshots', '--json'], rEnv())) as {
      id: string;
      short_id: string;
      paths: string[];
      tags: string[];
    }[];
    const snap = snaps.find((s) => s.short_id === result.snapshotId);
    expect(snap).toBeDefined();
    expect(snap?.paths.sort()).toEqual([srcDir, bigDir].sort());
    expect(snap?.tags).toEqual(buildTags(j));
    expect(snap?.tags.filter((t) => t.startsWith('backup_name='))).toEqual(['backup_name=Fotky; 2024']);
    expect(result).toMatchObject({
      filesNew: 6,
      filesChanged: 0,
      filesUnmodified: 0,
      totalFilesProcessed: 6,
      exitCode: 0,
    });
    expect(result.totalBytesProcessed).toBe(5 * 8000 + 160 * 1024 * 1024);
    expect(result.dataAddedBytes).toBeGreaterThan(160 * 1024 * 1024);
    expect(fs.existsSync(path.join(dataDir, 'restic-cache'))).toBe(true);
    expect(JSON.stringify(result)).not.toContain('w0rd');
  });

  it('second run is incremental', async () => {
    const result = await runBackup({ job: job(), restic: { path: 'restic', version }, dataDir });
    expect(result.status).toBe('success');
    const again = await runBackup({ job: job(), restic: { path: 'restic', version }, dataDir });
    expect(again.status).toBe('success');
    expect(again.filesUnmodified).toBe(5);
    expect(again.filesNew).toBe(0);
  });

  it('missing repository, wrong password and missing source each give their own message', async () => {
    const missing = await runBackup({
      job: job({ repository: makeRepo({ url: path.join(tmp.dir, 'no-repo'), password: PASSWORD }) }),
      restic: { path: 'restic', version },
      dataDir,
    });
    expect(missing).toMatchObject({
      status: 'failed',
      errorKind: 'repository_missing',
      errorMessage: `There is no restic repository at ${path.join(tmp.dir, 'no-repo')}; initialise it with "restic init" or fix the repository URL.`,
    });
    const wrong = await runBackup({
      job: job({ repository: makeRepo({ url: repoDir, password: 'nope' }) }),
      restic: { path: 'restic', version },
      dataDir,
    });
    expect(wrong).toMatchObject({
      status: 'failed',
      errorKind: 'wrong_password',
      errorMessage: 'The repository password is wrong (restic found no key for it).',
    });
    const nosrc = await runBackup({
      job: job({ sourcePaths: [path.join(tmp.dir, 'gone')] }),
      restic: { path: 'restic', version },
      dataDir,
    });
    expect(nosrc).toMatchObject({
      status: 'failed',
      errorKind: 'source_missing',
      errorMessage: `None of the source paths exist (${path.join(tmp.dir, 'gone')}), so nothing was backed up.`,
    });
    const nobin = await runBackup({ job: job(), restic: { path: path.join(tmp.dir, 'no-restic'), version }, dataDir });
    expect(nobin).toMatchObject({ status: 'failed', errorKind: 'restic_missing' });
  });

  it('C06 a SIGKILLed backup leaves a stale lock; the next run removes it with plain unlock and succeeds', async () => {
    const holder = await holdLock('shared');
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    expect(locks()).toHaveLength(1);
    const result = await runBackup({ job: job(), restic: { path: 'restic', version }, dataDir });
    expect(result.status).toBe('success');
    expect(result.warnings.join(' ')).toMatch(/Removed 1 stale lock\(s\) \(PID \d+ on host/);
    expect(locks()).toHaveLength(0);
  });

  it('C06 a stale lock is left alone while another restic of ours uses the repository', async () => {
    const holder = await holdLock('shared');
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    const active = new ActiveRepositories();
    const other = active.enter(repoDir);
    const result = await runBackup({
      job: job(),
      restic: { path: 'restic', version },
      dataDir,
      activeRepositories: active,
    });
    active.leave(other);
    expect(result.status).toBe('success');
    expect(locks()).toHaveLength(1);
    expect(result.warnings.join(' ')).toMatch(/left in place/);
    restic(['unlock'], rEnv());
  });

  it('C06 a lock that looked live before the backup and died during it is removed after the backup', async () => {
    const holder = await holdLock('shared'); // a live restic of this host: its lock is not stale yet
    const result = await runBackup({
      job: job({ sourcePaths: [srcDir, bigDir] }),
      restic: { path: 'restic', version },
      dataDir,
      onProgress: () => {
        if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
      },
    });
    await new Promise((r) =>
      holder.exitCode !== null || holder.signalCode !== null ? r(null) : holder.once('exit', r),
    );
    expect(result.status).toBe('success');
    expect(locks()).toEqual([]); // the dead holder's lock did not outlive the backup
  });

  it('C06 a live exclusive lock is waited for (bounded) and never broken', async () => {
    const holder = await holdLock('exclusive');
    const held = locks();
    try {
      const result = await runBackup({
        job: job(),
        restic: { path: 'restic', version },
        dataDir,
        lockWaitSeconds: 2,
        lockRetryDelaySeconds: 1,
      });
      expect(result.status).toBe('failed');
      expect(result.errorKind).toBe('locked');
      expect(result.errorMessage).toMatch(
        new RegExp(
          `^The repository is locked by restic PID ${holder.pid} on host "[^"]+" \\(user \\w+\\) \\(exclusive lock\\), since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d .*\\(waited 2 s\\)\\.$`,
        ),
      );
      expect(result.attempts).toBeGreaterThan(1);
      expect(locks()).toEqual(held);
      // The holder goes away once we are waiting (its lock, stale then, is removed or released).
      const waiting = runBackup({
        job: job(),
        restic: { path: 'restic', version },
        dataDir,
        lockWaitSeconds: 60,
        lockRetryDelaySeconds: 1,
        logger: {
          info: (_o, msg) => {
            if (msg.includes('waiting')) holder.kill('SIGKILL');
          },
          warn: () => undefined,
        },
      });
      const after = await waiting;
      expect(after.errorMessage).toBeNull();
      expect(after.status).toBe('success');
      expect(after.attempts).toBeGreaterThan(1);
    } finally {
      holder.kill('SIGKILL');
    }
    expect(locks()).toHaveLength(0);
  });

  it('C07 an aborted run is cancelled and leaves no lock', async () => {
    const controller = new AbortController();
    const big = path.join(tmp.dir, 'big2');
    fs.mkdirSync(big);
    fs.copyFileSync(path.join(bigDir, 'random.bin'), path.join(big, 'a.bin'));
    const b = Buffer.from(fs.readFileSync(path.join(big, 'a.bin')));
    for (let i = 0; i < b.length; i += 4096) b[i] = (b[i] ?? 0) ^ 0xff;
    fs.writeFileSync(path.join(big, 'b.bin'), b);
    // Aborted mid-backup: once restic reports progress (its lock is written and its signal
    // handling set up; a SIGINT in restic's first instants, while it is still creating the lock,
    // can leave the lock behind, which the next run clears as stale: C06).
    let progressed = false;
    const started = runBackup({
      job: job({ sourcePaths: [big] }),
      restic: { path: 'restic', version },
      dataDir,
      signal: controller.signal,
      cancelGraceSeconds: 10,
      onProgress: () => {
        progressed = true;
      },
    });
    await waitFor(() => progressed && locks().length > 0, 30_000);
    controller.abort();
    const result = await started;
    expect(result.status).toBe('cancelled');
    expect(result.snapshotId).toBeNull();
    expect(locks()).toHaveLength(0);
  });

  it('C07 a run aborted the instant restic creates its lock leaves no lock (empty or not)', async () => {
    // restic 0.14 interrupted while it writes its lock file leaves that file empty, and `restic
    // unlock` never removes an unreadable lock (0.15+ then refuses every command). runBackup holds
    // the SIGINT until restic's first output (the lock is written by then), at most 5 s.
    const b = fs.readFileSync(path.join(bigDir, 'random.bin'));
    for (let round = 0; round < 3; round++) {
      // New content each round (restic must read and store it all, far longer than the wait).
      const dir = path.join(tmp.dir, `early-${round}`);
      fs.mkdirSync(dir);
      for (let i = round; i < b.length; i += 4096) b[i] = (b[i] ?? 0) ^ 0x5a;
      fs.writeFileSync(path.join(dir, 'c.bin'), b);
      const controller = new AbortController();
      const started = runBackup({
        job: job({ sourcePaths: [dir] }),
        restic: { path: 'restic', version },
        dataDir,
        signal: controller.signal,
        cancelGraceSeconds: 10,
      });
      await waitFor(() => locks().length > 0, 30_000);
      controller.abort();
      const result = await started;
      expect(result.status).toBe('cancelled');
      expect(locks()).toEqual([]);
    }
  });
});

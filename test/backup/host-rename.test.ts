// C29: the computer is renamed between two backups (a real rename: each backup runs in its own
// UTS namespace, `unshare --uts` + `hostname`). restic picks the parent snapshot by host and
// paths; with the job's recorded restic host the second backup still finds its parent and
// re-reads nothing. Without it (the control) restic treats every file as new.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeJob, makeRepo, repoRoot, restic, tempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
let script = '';
const canUnshare = spawnSync('unshare', ['--uts', 'true']).status === 0;

beforeAll(() => {
  tmp = tempDir('rbackup2-c29-');
  script = path.join(tmp.dir, 'one-backup.mjs');
  fs.writeFileSync(
    script,
    `
    const { runBackup } = await import(${JSON.stringify(path.join(repoRoot, 'dist/backup/run-backup.js'))});
    const { discoverRestic } = await import(${JSON.stringify(path.join(repoRoot, 'dist/restic/version.js'))});
    const job = JSON.parse(process.argv[2]);
    const restic = await discoverRestic('restic');
    const r = await runBackup({ job, restic, dataDir: process.argv[3] });
    console.log(JSON.stringify({ status: r.status, filesNew: r.filesNew, filesUnmodified: r.filesUnmodified, resticHost: r.resticHost, error: r.errorMessage }));
  `,
  );
});
afterAll(() => tmp.cleanup());

/** One backup in a fresh UTS namespace whose host name is `host`. */
function backupAs(
  host: string,
  job: unknown,
): { status: string; filesNew: number; filesUnmodified: number; resticHost: string; error: string | null } {
  const out = execFileSync(
    'unshare',
    [
      '--uts',
      'sh',
      '-c',
      `hostname "$0" && exec "${process.execPath}" "$1" "$2" "$3"`,
      host,
      script,
      JSON.stringify(job),
      path.join(tmp.dir, 'data'),
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').pop() as string);
}

describe.runIf(canUnshare)('C29 continuity when the computer is renamed', () => {
  it('C29 with the recorded restic host the backup after a rename uses the last snapshot as parent (0 new files); without it every file is new', () => {
    const src = path.join(tmp.dir, 'src');
    fs.mkdirSync(src);
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(src, `f${i}.txt`), `file ${i}`);
    const repoDir = path.join(tmp.dir, 'repo');
    restic(['init', '--repo', repoDir], { RESTIC_PASSWORD: 'pw' });
    const base = makeJob({ sourcePaths: [src], repository: makeRepo({ url: repoDir, password: 'pw' }) });

    const first = backupAs('old-name', base);
    expect(first.status, first.error ?? '').toBe('success');
    expect(first.filesNew).toBe(10);
    expect(first.resticHost).toBe('old-name'); // what the lifecycle records as backup_jobs.restic_host

    const renamed = backupAs('new-name', { ...base, resticHost: first.resticHost });
    expect(renamed.status).toBe('success');
    expect(renamed.filesNew).toBe(0);
    expect(renamed.filesUnmodified).toBe(10);

    const control = backupAs('third-name', { ...base, resticHost: null });
    expect(control.filesNew).toBe(10); // restic 0.14 found no parent for the new host name
    const hosts = (
      JSON.parse(restic(['snapshots', '--json', '--repo', repoDir], { RESTIC_PASSWORD: 'pw' })) as {
        hostname: string;
      }[]
    ).map((s) => s.hostname);
    expect(hosts).toEqual(['old-name', 'old-name', 'third-name']);
  }, 120_000);
});

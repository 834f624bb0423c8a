/**
 * Shared pieces of the end-to-end tests (spawned agent, real PostgreSQL, real restic 0.14): temp
 * restic repositories, what restic itself says about them (snapshots, locks), the restic
 * processes working on one repository (from /proc), and the `runs` rows of a job.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from '../../src/db/index.js';

export const RESTIC = '/usr/bin/restic';

function env(repo: string, password: string, cacheDir: string): NodeJS.ProcessEnv {
  return { PATH: '/usr/bin:/bin', RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: cacheDir };
}

/** A restic repository the test can inspect; `cacheDir` is the test's own (not the agent's). */
export interface TestRepo {
  dir: string;
  password: string;
  cacheDir: string;
}

/** `restic init` a new repository at `dir`. */
export function initRepo(dir: string, password: string, cacheDir: string): TestRepo {
  execFileSync(RESTIC, ['init'], { env: env(dir, password, cacheDir), stdio: 'ignore' });
  return { dir, password, cacheDir };
}

export interface Snapshot {
  id: string;
  short_id: string;
  tags?: string[];
  paths: string[];
  time: string;
}

/** `restic snapshots --json` (no lock: safe while the agent backs up). */
export function snapshots(r: TestRepo): Snapshot[] {
  const out = execFileSync(RESTIC, ['snapshots', '--json', '--no-lock'], {
    env: env(r.dir, r.password, r.cacheDir),
    encoding: 'utf8',
  });
  return (JSON.parse(out) as Snapshot[] | null) ?? [];
}

/** Lock ids in the repository (`restic list locks --no-lock`). */
export function locks(r: TestRepo): string[] {
  const out = execFileSync(RESTIC, ['list', 'locks', '--no-lock'], {
    env: env(r.dir, r.password, r.cacheDir),
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Pids of live processes whose environment has RESTIC_REPOSITORY=`repoDir` (restic of any user). */
export function resticPidsFor(repoDir: string): number[] {
  const needle = Buffer.from(`RESTIC_REPOSITORY=${repoDir}\0`);
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = fs.readFileSync(path.join('/proc', name, 'environ'));
      const stat = fs.readFileSync(path.join('/proc', name, 'stat'), 'utf8');
      // A zombie (state Z) is not a running restic.
      if (environ.includes(needle) && !/^\d+ \(.*\) Z /.test(stat)) pids.push(Number(name));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return pids;
}

export interface RunRow {
  id: number;
  status: string;
  triggered_by: string;
  snapshot_id: string | null;
  start_time: Date;
  end_time: Date | null;
  exit_code: number | null;
  error_message: string | null;
}

/** The `runs` rows of a job, oldest first. */
export async function runsOf(db: Database, jobId: string): Promise<RunRow[]> {
  const { rows } = await db.query<RunRow>(
    'SELECT id, status, triggered_by, snapshot_id, start_time, end_time, exit_code, error_message FROM runs WHERE job_id = $1 ORDER BY id',
    [jobId],
  );
  return rows;
}

/** Write `count` small files under `dir` (a source whose backup takes a while to scan). */
export function writeFiles(dir: string, count: number, bytes = 64): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) fs.writeFileSync(path.join(dir, `f${i}.txt`), `${i}`.padEnd(bytes, 'x'));
}

/**
 * `rbackup2 backup JOB` / `--test-backup JOB` (issue 3, CONTRACTS §1 exit codes 0 / 3 / 1) spawned
 * as the real binary on real PostgreSQL with real restic 0.14 on temp repositories. The partial
 * run (C04) is real too: restic runs as user `nobody` through a wrapper script set as
 * client.restic_binary, and the source holds one file nobody may read.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addJob, addRepository, migrate, openPostgres, upsertDevice, type Database } from '../../src/db/index.js';
import { ProcessGroup, writeAgentConfig } from '../helpers/agent-process.js';
import { createTempPgDatabase } from '../helpers/databases.js';

const DEVICE = 'backup-cli-dev';
const PASSWORD = 'backup cli pw';
const NOBODY = 65534;
const procs = new ProcessGroup();

let root = '';
let db: Database;
let dropDb: () => Promise<void> = async () => {};
let config = '';
let dbUrl = '';

function mkdir(...parts: string[]): string {
  const d = path.join(root, ...parts);
  fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  return d;
}

function resticJson(repo: string, args: string[]): unknown {
  return JSON.parse(
    execFileSync('/usr/bin/restic', [...args, '--json', '--no-lock'], {
      env: {
        PATH: '/usr/bin:/bin',
        RESTIC_REPOSITORY: repo,
        RESTIC_PASSWORD: PASSWORD,
        RESTIC_CACHE_DIR: path.join(root, 'test-cache'),
      },
      encoding: 'utf8',
    }),
  );
}

function initRepo(dir: string): void {
  execFileSync('/usr/bin/restic', ['init'], {
    env: {
      PATH: '/usr/bin:/bin',
      RESTIC_REPOSITORY: dir,
      RESTIC_PASSWORD: PASSWORD,
      RESTIC_CACHE_DIR: path.join(root, 'test-cache'),
    },
    stdio: 'ignore',
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function runRow(id: number): Promise<Record<string, any>> {
  const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM runs WHERE id = $1', [id]);
  return rows[0] as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-backup-cli-'));
  fs.chmodSync(root, 0o755);
  const tmp = await createTempPgDatabase();
  dropDb = () => tmp.drop();
  dbUrl = tmp.url;
  db = await openPostgres({ connectionString: tmp.url, connectAttempts: 1 });
  await migrate(db);
  await upsertDevice(db, { id: DEVICE });
  const repoDir = path.join(root, 'repo');
  initRepo(repoDir);
  const repo = await addRepository(db, { name: 'local', url: repoDir, password: PASSWORD });
  const src = mkdir('src', 'Fotomateriály', 'Rok 2024');
  fs.writeFileSync(path.join(src, 'a.txt'), 'hello\n');
  fs.writeFileSync(path.join(src, 'b.bin'), Buffer.alloc(50_000, 7));
  await addJob(db, { deviceId: DEVICE, name: 'ok-job', sourcePaths: [path.join(root, 'src')], repositoryId: repo.id });
  await addJob(db, {
    deviceId: DEVICE,
    name: 'missing-src',
    sourcePaths: [path.join(root, 'no', 'such', 'folder')],
    repositoryId: repo.id,
  });
  const gone = await addRepository(db, { name: 'gone', url: path.join(root, 'no-repo-here'), password: PASSWORD });
  await addJob(db, {
    deviceId: DEVICE,
    name: 'missing-repo',
    sourcePaths: [path.join(root, 'src')],
    repositoryId: gone.id,
  });
  config = writeAgentConfig({
    dir: mkdir('cfg'),
    deviceId: DEVICE,
    port: 1,
    databaseUrl: tmp.url,
    dataDir: mkdir('data'),
  });
}, 120_000);

afterAll(async () => {
  await procs.killAll();
  await db?.close();
  await dropDb().catch(() => undefined);
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('rbackup2 backup JOB', () => {
  it('exits 0 with a human summary; the snapshot is in the repository and the run recorded', async () => {
    const r = await procs.runCli(['--config', config, 'backup', 'ok-job']);
    expect(r.code, r.stderr).toBe(0);
    const m = /^ok-job: success, snapshot ([0-9a-f]{8}) \(run (\d+), [\d.]+ s\)$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(r.stdout).toMatch(/files: 2 new, 0 changed, 0 unmodified/);
    const snaps = resticJson(path.join(root, 'repo'), ['snapshots']) as { short_id: string; paths: string[] }[];
    expect(snaps.map((s) => s.short_id)).toContain(m![1]);
    const row = await runRow(Number(m![2]));
    expect(row).toMatchObject({ status: 'success', snapshot_id: m![1], triggered_by: 'manual', exit_code: 0 });
  }, 120_000);

  it('--json prints the result as JSON with snapshotId', async () => {
    const r = await procs.runCli(['--config', config, 'backup', 'ok-job', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { status: string; snapshotId: string; runId: number; filesUnmodified: number };
    expect(out.status).toBe('success');
    expect(out.snapshotId).toMatch(/^[0-9a-f]{8}$/);
    expect(out.filesUnmodified).toBe(2);
    expect((await runRow(out.runId)).snapshot_id).toBe(out.snapshotId);
  }, 120_000);

  it('--test-backup JOB (human and --json) does the same', async () => {
    const human = await procs.runCli(['--config', config, '--test-backup', 'ok-job']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^ok-job: success, snapshot [0-9a-f]{8} \(run \d+/);
    const json = await procs.runCli(['--config', config, '--test-backup', 'ok-job', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { snapshotId: string }).snapshotId).toMatch(/^[0-9a-f]{8}$/);
  }, 120_000);

  it('exits 1 when the source path is missing, with the run recorded failed', async () => {
    const r = await procs.runCli(['--config', config, 'backup', 'missing-src', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const out = JSON.parse(r.stdout) as { status: string; runId: number; errorMessage: string };
    expect(out.status).toBe('failed');
    expect(out.errorMessage).toMatch(/source paths? .*exist/i);
    expect((await runRow(out.runId)).status).toBe('failed');
  }, 120_000);

  it('exits 1 when the repository is missing, with a message naming it', async () => {
    const r = await procs.runCli(['--config', config, 'backup', 'missing-repo']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^missing-repo: failed/m);
    expect(r.stdout).toMatch(/repository/i);
  }, 120_000);
});

describe('rbackup2 backup JOB: which job', () => {
  it("finds the job by its id too; an unknown job, another device's job and an invalid job are refused by name", async () => {
    const { rows } = await db.query<{ id: string }>('SELECT id FROM backup_jobs WHERE device_id = $1 AND name = $2', [
      DEVICE,
      'ok-job',
    ]);
    const byId = await procs.runCli(['--config', config, 'backup', rows[0]!.id, '--json']);
    expect(byId.code, byId.stderr).toBe(0);
    expect(JSON.parse(byId.stdout)).toMatchObject({ jobName: 'ok-job', status: 'success' });

    const unknown = await procs.runCli(['--config', config, 'backup', 'no-such-job']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain(`job "no-such-job" not found on device ${DEVICE}`);

    await upsertDevice(db, { id: 'other-device' });
    const other = await addJob(db, { deviceId: 'other-device', name: 'theirs', sourcePaths: ['/srv'] });
    const theirs = await procs.runCli(['--config', config, 'backup', other.id]);
    expect(theirs.code).not.toBe(0);
    expect(theirs.stderr).toContain(`not found on device ${DEVICE}`);

    // SQL-edited into an invalid state: the reason names the column
    await addJob(db, { deviceId: DEVICE, name: 'broken', sourcePaths: ['/srv'] });
    await db.query("UPDATE backup_jobs SET source_paths = '{}' WHERE device_id = $1 AND name = 'broken'", [DEVICE]);
    const invalid = await procs.runCli(['--config', config, 'backup', 'broken']);
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('job "broken" is invalid: source_paths is empty');
  }, 120_000);
});

describe('C04 partial backup with real restic as user nobody', () => {
  it('C04 exit code 3 gives partial: snapshot id kept, unreadable path listed in the run record', async () => {
    const repoDir = path.join(root, 'nobody-repo');
    initRepo(repoDir);
    const src = mkdir('nobody-src');
    fs.writeFileSync(path.join(src, 'readable.txt'), 'fine\n');
    const secret = path.join(src, 'secret.txt');
    fs.writeFileSync(secret, 'nobody may read this\n');
    const dataDir = mkdir('nobody-data');
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, repoDir, src, dataDir]);
    fs.chmodSync(secret, 0o000);
    const wrapper = path.join(mkdir('bin'), 'restic-as-nobody');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\nexec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups /usr/bin/restic "$@"\n`,
      { mode: 0o755 },
    );
    const repo = await addRepository(db, { name: 'nobody', url: repoDir, password: PASSWORD });
    await addJob(db, { deviceId: DEVICE, name: 'partial-job', sourcePaths: [src], repositoryId: repo.id });
    const cfg = writeAgentConfig({
      dir: mkdir('nobody-cfg'),
      deviceId: DEVICE,
      port: 1,
      dataDir,
      resticBinary: wrapper,
      databaseUrl: dbUrl,
    });

    const human = await procs.runCli(['--config', cfg, 'backup', 'partial-job']);
    expect(human.code, human.stdout + human.stderr).toBe(3);
    expect(human.stdout).toMatch(/^partial-job: partial, snapshot [0-9a-f]{8}/);

    const r = await procs.runCli(['--config', cfg, 'backup', 'partial-job', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const out = JSON.parse(r.stdout) as { status: string; snapshotId: string; runId: number; exitCode: number };
    expect(out).toMatchObject({ status: 'partial', exitCode: 3 });
    expect(out.snapshotId).toMatch(/^[0-9a-f]{8}$/);
    const row = await runRow(out.runId);
    expect(row.status).toBe('partial');
    expect(row.snapshot_id).toBe(out.snapshotId);
    expect(row.metadata.unreadable_paths).toContain(secret);
    expect(String(row.restic_errors)).toContain(secret);
    // The snapshot really exists and holds the readable file.
    const snaps = resticJson(repoDir, ['snapshots']) as { short_id: string }[];
    expect(snaps.map((s) => s.short_id)).toContain(out.snapshotId);
    const files = execFileSync('/usr/bin/restic', ['ls', '--no-lock', out.snapshotId], {
      env: {
        PATH: '/usr/bin:/bin',
        RESTIC_REPOSITORY: repoDir,
        RESTIC_PASSWORD: PASSWORD,
        RESTIC_CACHE_DIR: path.join(root, 'test-cache'),
      },
      encoding: 'utf8',
    });
    expect(files).toContain(path.join(src, 'readable.txt'));
    expect(files).not.toContain(secret);
  }, 180_000);
});

/**
 * Ctrl-C on a one-shot command (cli/one-shot-run.ts): `rbackup2 backup JOB` and `rbackup2 forget
 * JOB` on this machine cancel their restic (SIGINT to its process group) and record the run
 * `cancelled`, instead of node dying and leaving restic running in its own process group with its
 * lock. restic here is a STAND-IN (a shell script, named so): it answers `version` and `cat config`
 * like restic 0.14, and for the long command writes its pid and waits until interrupted, which a
 * real backup or forget cannot be made to do on demand. Real PostgreSQL, the real binary.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addJob, addRepository, migrate, openPostgres, upsertDevice, type Database } from '../../src/db/index.js';
import { repoRoot, writeAgentConfig } from '../helpers/agent-process.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';

const DEVICE = 'one-shot-cancel';
let root = '';
let db: Database;
let dropDb: () => Promise<void> = async () => {};
let config = '';
let jobId = '';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-one-shot-cancel-'));
  const standIn = path.join(root, 'restic-standin.sh');
  fs.writeFileSync(
    standIn,
    `#!/bin/sh
# A STAND-IN for restic (test/cli/one-shot-cancel.test.ts), not restic.
case "$1" in
  version) echo "restic 0.14.0 compiled with go1.19.8 on linux/amd64"; exit 0 ;;
  cat) echo '{"version":2,"id":"${'c'.repeat(64)}","chunker_polynomial":"25b468838dcb75"}'; exit 0 ;;
  list) exit 0 ;;
esac
echo $$ > "${root}/$1.pid"
trap 'echo interrupted > "${root}/$1.sigint"; exit 130' INT
sleep 300 & wait
`,
    { mode: 0o755 },
  );
  const tmp = await createTempPgDatabase();
  dropDb = () => tmp.drop();
  db = await openPostgres({ connectionString: tmp.url, connectAttempts: 1 });
  await migrate(db);
  await upsertDevice(db, { id: DEVICE });
  const src = path.join(root, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'a.txt'), 'a\n');
  const repo = await addRepository(db, { name: 'r', url: path.join(root, 'repo'), password: 'pw' });
  jobId = (await addJob(db, { deviceId: DEVICE, name: 'docs', sourcePaths: [src], repositoryId: repo.id })).id;
  await db.query(`UPDATE backup_jobs SET retention = '{"keep_last": 1}' WHERE id = $1`, [jobId]);
  config = writeAgentConfig({
    dir: root,
    deviceId: DEVICE,
    databaseUrl: tmp.url,
    port: 0,
    dataDir: path.join(root, 'data'),
    resticBinary: standIn,
  });
}, 60_000);

afterAll(async () => {
  await db?.close();
  await dropDb();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('Ctrl-C on a one-shot command cancels its restic and records the run cancelled', () => {
  it.each(['backup', 'forget'])(
    'rbackup2 %s JOB',
    async (command) => {
      const child = spawn(
        process.execPath,
        [path.join(repoRoot, 'dist/main.js'), '--config', config, command, 'docs'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const pidFile = path.join(root, `${command}.pid`);
      const resticPid = await waitFor(
        `restic ${command} started`,
        () => (fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) || null : null),
        30_000,
        50,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}; output: ${out}`);
      });
      expect(alive(resticPid)).toBe(true);
      const { rows: running } = await db.query<{ status: string }>(
        'SELECT status FROM runs WHERE job_id = $1 AND operation = $2',
        [jobId, command],
      );
      expect(running).toEqual([{ status: 'running' }]);

      child.kill('SIGINT'); // what Ctrl-C sends to the command (restic is in its own process group)
      expect(await exited).toBe(1);
      expect(fs.existsSync(path.join(root, `${command}.sigint`))).toBe(true);
      expect(alive(resticPid)).toBe(false);
      const { rows } = await db.query<{ status: string }>(
        'SELECT status FROM runs WHERE job_id = $1 AND operation = $2',
        [jobId, command],
      );
      expect(rows, out).toEqual([{ status: 'cancelled' }]);
    },
    60_000,
  );
});

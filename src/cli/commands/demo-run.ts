/**
 * The work of `rbackup2 demo` (registered in demo.ts, loaded when it runs): creates (once) a local
 * restic repository under client.data_dir with a random password in a 0600 file, a repository row
 * and a job `demo` backing up PATH (default: this project's doc/ folder) on an interval, then runs
 * the agent in the foreground: the first backup starts at once.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packagePath } from '../../package-root.js';
import { AppError } from '../../errors.js';
import { discoverRestic } from '../../restic/version.js';
import { withDatabase } from '../context.js';
import type { LocalConfig } from '../../config/local-config.js';
import { initRepository } from './restic-ops.js';
import { runAgentForeground } from './run.js';

/** The project's doc/ folder: exists wherever rbackup2 is installed (the package ships it). */
function defaultSource(): string {
  return packagePath('doc', path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../doc'));
}

/** The demo repository's place and its password file (a random password, 0600, made once). */
function demoRepositoryFiles(dataDir: string): { url: string; passwordFile: string } {
  const url = path.join(dataDir, 'demo-repo');
  const passwordFile = `${url}.password`;
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
  return { url, passwordFile };
}

/** Set up the demo repository and job for `local`, then run the agent until a signal stops it. */
export async function runDemo(local: LocalConfig, o: { source?: string; interval: number }): Promise<void> {
  const source = path.resolve(o.source ?? defaultSource());
  if (!existsSync(source)) throw new AppError('INVALID_INPUT', `--source ${source} does not exist`);
  await discoverRestic(local.client.restic_binary);
  const repo = demoRepositoryFiles(local.dataDir);
  const repoUrl = await withDatabase(local, async (db, q) => {
    await q.upsertDevice(db, { id: local.device.id, name: local.device.name });
    const existing = (await q.listJobs(db, { deviceId: local.device.id })).find((j) => j.name === 'demo');
    if (existing) {
      console.log(`demo job exists (${existing.id}); starting the agent`);
      return (await q.getRepository(db, 'demo'))?.url ?? null;
    }
    return db.transaction(async (tx) => {
      const row =
        (await q.getRepository(tx, 'demo')) ??
        (await q.addRepository(tx, { name: 'demo', url: repo.url, passwordFile: repo.passwordFile }));
      const job = await q.addJob(tx, {
        deviceId: local.device.id,
        name: 'demo',
        description: 'rbackup2 quick-start demo',
        sourcePaths: [source],
        repositoryId: row.id,
      });
      await q.addSchedule(tx, { jobId: job.id, type: 'interval', intervalSeconds: o.interval, catchUp: true });
      console.log(`demo job ${job.id}: backs up ${source} every ${o.interval} s to ${row.url}`);
      return row.url;
    });
  });
  // The restic repository, made the way `rbackup2 repo init demo` makes it.
  if (repoUrl !== null && !existsSync(path.join(repoUrl, 'config'))) {
    const created = await initRepository(local, 'demo');
    console.log(`created restic repository ${created.url} (password in ${repo.passwordFile})`);
  }
  // The first run stays one command: a one-time login link (as Jupyter's ?token=), valid 1 h.
  const loginCode = randomBytes(24).toString('base64url');
  const uiHost = local.client.http_bind.replace(/^0\.0\.0\.0:/, '127.0.0.1:');
  console.log(
    `starting the agent (Ctrl-C stops it). Open the web UI with this one-time login link (valid 1 hour):\n  http://${uiHost}/?token=${loginCode}`,
  );
  console.log(
    'to sign in later, set your own password: rbackup2 ui-password (or use the token in <data_dir>/api-token)',
  );
  await runAgentForeground(local, { loginCode });
}

/**
 * The work of `rbackup2 repo init NAME` and `rbackup2 snapshots JOB` (registered in
 * admin-repo.ts and snapshots.ts, loaded when they run): a repository row or a job's repository
 * becomes a RepositoryConnection, and src/restic does the rest.
 */
import type { AdminLocalConfig } from '../../config/local-config.js';
import { AppError } from '../../errors.js';
import { connectionFromRepository, type RepositoryConnection, type RepositorySource } from '../../restic/connection.js';
import { isResticError } from '../../restic/errors.js';
import { init } from '../../restic/init.js';
import { newestFirst, snapshotView, type SnapshotView } from '../../restic/snapshot.js';
import { snapshots } from '../../restic/snapshots.js';
import { withDatabase } from '../context.js';
import { formatTable } from '../output.js';
import { cachedResticVersion } from '../restic-version-cache.js';

/** The connection of `repo` with this machine's restic binary and data folder. */
export async function connectionFor(
  local: Pick<AdminLocalConfig, 'client' | 'dataDir'>,
  repo: RepositorySource,
): Promise<RepositoryConnection> {
  const restic = await cachedResticVersion(local.client.restic_binary, local.dataDir);
  return connectionFromRepository(repo, {
    resticBinary: restic.path,
    version: restic.version,
    dataDir: local.dataDir,
    agentEnv: process.env,
    cwd: local.dataDir,
  });
}

/**
 * Create the restic repository of repository row `ref` (name or id). Throws NOT_FOUND when the row
 * does not exist, CONFLICT when a restic repository exists there already, ResticError otherwise.
 */
export async function initRepository(
  local: AdminLocalConfig,
  ref: string,
): Promise<{ url: string; id: string | null }> {
  const repo = await withDatabase(local, (db, q) => q.getRepository(db, ref));
  if (!repo) throw new AppError('NOT_FOUND', `repository "${ref}" not found (see "rbackup2 repo list")`);
  const conn = await connectionFor(local, repo);
  try {
    const r = await init(conn);
    return { url: repo.url, id: r.repositoryId };
  } catch (err) {
    if (isResticError(err, 'repository_exists'))
      throw new AppError('CONFLICT', `repository "${repo.name}": a restic repository already exists at ${repo.url}`);
    throw err;
  }
}

/**
 * The snapshots of job `ref` (name or id; by name on this config's device when it has one): those
 * tagged `backup:<job uuid>` on every host (Relica-era ones included), newest first. Throws
 * NOT_FOUND / INVALID_INPUT for the job, ResticError when restic fails.
 */
export async function jobSnapshots(
  local: AdminLocalConfig,
  ref: string,
): Promise<{ job: { id: string; name: string }; snapshots: SnapshotView[] }> {
  const { job, repository } = await withDatabase(local, async (db, q) => {
    const row = await q.resolveJob(db, ref, local.device.id ?? undefined);
    const config = await q.loadDeviceConfig(db, row.deviceId, new Date());
    const jobConfig = config.jobs.find((j) => j.id === row.id);
    const invalid = config.invalidJobs.find((j) => j.id === row.id);
    if (!jobConfig)
      throw new AppError('INVALID_INPUT', `job "${row.name}" is invalid: ${invalid?.reason ?? 'unknown'}`);
    if (!jobConfig.repository)
      throw new AppError('INVALID_INPUT', `job "${row.name}" has no repository (set its repository_id)`);
    return { job: { id: row.id, name: row.name }, repository: jobConfig.repository };
  });
  const conn = await connectionFor(local, repository);
  const list = await snapshots(conn, { tags: [`backup:${job.id}`] });
  return { job, snapshots: newestFirst(list).map(snapshotView) };
}

/** The human table of `snapshots JOB`. */
export function snapshotsTable(list: readonly SnapshotView[]): string {
  if (list.length === 0) return 'no snapshots';
  return formatTable(
    list.map((s) => ({
      id: s.short_id,
      time: s.time.replace('T', ' ').replace(/\.\d+/, '').replace(/Z$/, ' UTC'),
      host: s.hostname,
      paths: s.paths.join(', '),
      tags: s.tags.filter((t) => !t.startsWith('backup:')).join(', '),
    })),
    [
      { key: 'id', header: 'ID' },
      { key: 'time', header: 'TIME' },
      { key: 'host', header: 'HOST' },
      { key: 'paths', header: 'PATHS' },
      { key: 'tags', header: 'TAGS' },
    ],
  );
}

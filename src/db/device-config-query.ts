/**
 * Loading a device's configuration (src/config/device-config.ts DeviceConfig) from the database
 * in one consistent snapshot, and the config change marker (migration 004) that tells whether it
 * changed since.
 */
import type { DeviceConfig, JobConfig, RepositoryConfig } from '../config/device-config.js';
import { AppError } from '../errors.js';
import type { Database, Queryable } from './database.js';
import { checkJob, checkResticArgs } from './job-validation.js';
import { mapJob } from './queries/jobs.js';
import { mapRepository, type Repository } from './queries/repositories.js';
import { mapHook, mapSchedule } from './queries/schedules.js';
import { getEffectiveSettings } from './queries/settings.js';
import { toNumber } from './rows.js';

/** The NOTIFY channel of config changes; the payload is a device id or '*' (global). */
export const CONFIG_CHANNEL = 'rbackup2_config';

/**
 * The change marker of a device: `<device version>.<global version>` from config_versions. It
 * changes whenever anything of this device's config (or the global settings/repositories) changes,
 * by any means including plain SQL. One cheap query.
 */
export async function getConfigVersion(db: Queryable, deviceId: string): Promise<string> {
  const { rows } = await db.query<{ d: unknown; g: unknown }>(
    `SELECT (SELECT version FROM config_versions WHERE device_id = $1) AS d,
            (SELECT version FROM config_versions WHERE device_id = '*') AS g`,
    [deviceId],
  );
  return `${toNumber(rows[0]?.d) ?? 0}.${toNumber(rows[0]?.g) ?? 0}`;
}

/** What one check-in returns (see checkIn). */
export interface CheckIn {
  /** The change marker, as getConfigVersion. */
  version: string;
  /** The global part of the marker alone (moves for global settings and repositories). */
  globalVersion: string;
  /** False when the device row does not exist (the heartbeat wrote nothing). */
  registered: boolean;
  /** PostgreSQL's estimate of the number of devices (pg_class.reltuples; 0 when never analysed). */
  fleetSize: number;
}

/** Device facts the heartbeat refreshes (merged into devices.metadata; unchanged values write nothing that matters). */
export interface HeartbeatFacts {
  hostname: string;
  metadata: Record<string, unknown>;
}

/**
 * The agent's one statement per tick: with `heartbeat`, records `last_seen = now()` (database
 * clock), hostname and metadata of the device (a write that fires no trigger, migration 007) and,
 * in the same statement, reads the change marker; without, only reads the marker. One round trip,
 * one transaction (fine behind PgBouncer in transaction mode).
 */
export async function checkIn(db: Queryable, deviceId: string, heartbeat?: HeartbeatFacts): Promise<CheckIn> {
  const marker = `SELECT (SELECT version FROM config_versions WHERE device_id = $1) AS d,
            (SELECT version FROM config_versions WHERE device_id = '*') AS g,
            (SELECT reltuples FROM pg_class WHERE oid = 'devices'::regclass) AS fleet`;
  const { rows } = heartbeat
    ? await db.query<{ d: unknown; g: unknown; fleet: unknown; seen: unknown }>(
      `WITH hb AS (UPDATE devices SET last_seen = now(), hostname = $2, metadata = devices.metadata || $3::jsonb WHERE id = $1 RETURNING 1)
       ${marker}, (SELECT count(*) FROM hb) AS seen`,
      [deviceId, heartbeat.hostname, JSON.stringify(heartbeat.metadata)],
    )
    : await db.query<{ d: unknown; g: unknown; fleet: unknown; seen: unknown }>(`${marker}, 1 AS seen`, [deviceId]);
  const r = rows[0];
  const g = `${toNumber(r?.g) ?? 0}`;
  return { version: `${toNumber(r?.d) ?? 0}.${g}`, globalVersion: g, registered: (toNumber(r?.seen) ?? 0) > 0, fleetSize: Math.max(0, Math.round(toNumber(r?.fleet) ?? 0)) };
}

function fromRepositoryRow(r: Repository): RepositoryConfig {
  return { id: r.id, name: r.name, url: r.url, password: r.password, passwordFile: r.passwordFile, passwordCommand: r.passwordCommand, cacheDir: r.cacheDir, env: r.env };
}

/** The repository of the `repository_*` settings, or null when repository_url is empty. */
export function settingsRepository(settings: Record<string, string>): RepositoryConfig | null {
  const url = (settings.repository_url ?? '').trim();
  if (url === '') return null;
  const opt = (k: string) => (settings[k] && settings[k] !== '' ? settings[k] : null);
  return {
    id: null, name: 'default', url, password: opt('repository_password'), passwordFile: opt('repository_password_file'),
    passwordCommand: opt('repository_password_command'), cacheDir: opt('repository_cache_dir'), env: {},
  };
}

export interface LoadOptions {
  /** IANA zone standing in for a schedule's NULL timezone when validating (default: this process's zone). */
  localZone?: string;
}

async function load(tx: Queryable, deviceId: string, now: Date, localZone: string): Promise<DeviceConfig> {
  const dev = await tx.query<{ name: string }>('SELECT name FROM devices WHERE id = $1', [deviceId]);
  if (!dev.rows[0]) throw new AppError('NOT_FOUND', `device ${deviceId} is not registered in the database`);
  const settings = await getEffectiveSettings(tx, deviceId);
  const jobs = (await tx.query('SELECT * FROM backup_jobs WHERE device_id = $1 ORDER BY name', [deviceId])).rows.map(mapJob);
  const schedules = (await tx.query('SELECT s.* FROM schedules s JOIN backup_jobs j ON j.id = s.job_id WHERE j.device_id = $1 ORDER BY s.id', [deviceId])).rows.map(mapSchedule);
  const hooks = (await tx.query('SELECT h.* FROM backup_hooks h JOIN backup_jobs j ON j.id = h.job_id WHERE j.device_id = $1 ORDER BY h.id', [deviceId])).rows.map(mapHook);
  const repos = new Map((await tx.query('SELECT * FROM repositories')).rows.map((r) => { const m = mapRepository(r); return [m.id, m] as const; }));
  const fallbackRepo = settingsRepository(settings);

  const config: DeviceConfig = { deviceId, deviceName: dev.rows[0].name, settings, jobs: [], invalidJobs: [], loadedAt: now.toISOString() };
  for (const job of jobs) {
    const own = schedules.filter((s) => s.jobId === job.id);
    const repo = job.repositoryId ? repos.get(job.repositoryId) : undefined;
    const problems = checkJob(job, own, repo !== undefined, localZone);
    if (problems.length > 0) {
      config.invalidJobs.push({ id: job.id, name: job.name, reason: problems.join('; ') });
      continue;
    }
    const jc: JobConfig = {
      id: job.id, deviceId: job.deviceId, name: job.name, description: job.description, sourcePaths: job.sourcePaths,
      excludePatterns: job.excludePatterns, tags: job.tags, resticArgs: checkResticArgs(job.resticArgs) as string[], resticHost: job.resticHost,
      repositoryId: job.repositoryId, repository: repo ? fromRepositoryRow(repo) : fallbackRepo, enabled: job.enabled,
      originName: job.originName, originId: job.originId, accountId: job.accountId, schedules: own,
      hooks: hooks.filter((h) => h.jobId === job.id), updatedAt: job.updatedAt,
    };
    config.jobs.push(jc);
  }
  return config;
}

/**
 * A device's configuration and its change marker, read in one REPEATABLE READ snapshot (so the
 * version matches the config exactly). Jobs of the device, enabled or not (check `enabled`), each
 * with all its schedules and hooks (check their `enabled`) and the resolved repository:
 * repository_id -> that row; NULL -> the effective `repository_*` settings; none configured ->
 * null. A job that fails validation (job-validation.ts) is listed in `invalidJobs` with the reason
 * naming the column; the others load. Throws AppError NOT_FOUND when the device is not registered.
 */
export async function loadDeviceConfigVersioned(db: Database, deviceId: string, now: Date, opts: LoadOptions = {}): Promise<{ config: DeviceConfig; version: string }> {
  const zone = opts.localZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const version = await getConfigVersion(tx, deviceId);
    return { config: await load(tx, deviceId, now, zone), version };
  });
}

/** The device's configuration (see loadDeviceConfigVersioned). `now` only stamps `loadedAt`. */
export async function loadDeviceConfig(db: Database, deviceId: string, now: Date, opts: LoadOptions = {}): Promise<DeviceConfig> {
  return (await loadDeviceConfigVersioned(db, deviceId, now, opts)).config;
}

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
import { effectiveSettings, type SettingValueRow } from './queries/settings.js';
import { toNumber } from './rows.js';
import { parseRetention, parseRetentionText, type RetentionPolicy } from '../maintenance/retention-policy.js';

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
  return {
    version: `${toNumber(r?.d) ?? 0}.${g}`,
    globalVersion: g,
    registered: (toNumber(r?.seen) ?? 0) > 0,
    fleetSize: Math.max(0, Math.round(toNumber(r?.fleet) ?? 0)),
  };
}

function fromRepositoryRow(r: Repository): RepositoryConfig {
  return {
    id: r.id,
    name: r.name,
    url: r.url,
    password: r.password,
    passwordFile: r.passwordFile,
    passwordCommand: r.passwordCommand,
    cacheDir: r.cacheDir,
    env: r.env,
    pruneSchedule: r.pruneSchedule,
    checkSchedule: r.checkSchedule,
    checkReadDataSubset: r.checkReadDataSubset,
  };
}

/** The repository of the `repository_*` settings, or null when repository_url is empty. */
export function settingsRepository(settings: Record<string, string>): RepositoryConfig | null {
  const url = (settings.repository_url ?? '').trim();
  if (url === '') return null;
  const opt = (k: string) => (settings[k] && settings[k] !== '' ? settings[k] : null);
  return {
    id: null,
    name: 'default',
    url,
    password: opt('repository_password'),
    passwordFile: opt('repository_password_file'),
    passwordCommand: opt('repository_password_command'),
    cacheDir: opt('repository_cache_dir'),
    env: {},
  };
}

/**
 * A job's retention: its own column, else the global `retention` setting. A value that fails the
 * check keeps everything and carries the problem (a forget refuses, naming the job and the column);
 * the job's backups are not affected.
 */
function effectiveRetention(
  own: unknown,
  global: ReturnType<typeof parseRetentionText>,
): { retention: RetentionPolicy | null; retentionProblem: string | null } {
  if (own !== null && own !== undefined) {
    const r = parseRetention(own);
    return r.ok
      ? { retention: r.policy, retentionProblem: null }
      : { retention: null, retentionProblem: `backup_jobs.retention: ${r.problem}` };
  }
  return global.ok
    ? { retention: global.policy, retentionProblem: null }
    : { retention: null, retentionProblem: `setting retention: ${global.problem}` };
}

export interface LoadOptions {
  /** IANA zone standing in for a schedule's NULL timezone when validating (default: this process's zone). */
  localZone?: string;
}

/**
 * Everything a device's configuration is made of, in ONE statement: one round trip instead of
 * nine (a transaction, the marker, device, settings, jobs, schedules, hooks, repositories), and
 * one snapshot without REPEATABLE READ (every subquery of a statement sees the same snapshot).
 * Each agent loads this at start and on every change, the one-shot CLI on every command. Rows
 * arrive as JSON (json_agg); the row mappers read both forms (rows.ts: timestamps as text,
 * BIGINT as number).
 */
const CONFIG_SQL = `SELECT
  (SELECT version FROM config_versions WHERE device_id = $1) AS d,
  (SELECT version FROM config_versions WHERE device_id = '*') AS g,
  (SELECT json_build_object('name', name) FROM devices WHERE id = $1) AS device,
  (SELECT coalesce(json_agg(json_build_object('device_id', x.device_id, 'key', x.key, 'value', x.value)
     ORDER BY (x.device_id IS NOT NULL), x.key), '[]')
     FROM settings x WHERE x.device_id IS NULL OR x.device_id = $1) AS settings,
  (SELECT coalesce(json_agg(j ORDER BY j.name), '[]') FROM backup_jobs j WHERE j.device_id = $1) AS jobs,
  (SELECT coalesce(json_agg(s ORDER BY s.id), '[]')
     FROM schedules s JOIN backup_jobs j ON j.id = s.job_id WHERE j.device_id = $1) AS schedules,
  (SELECT coalesce(json_agg(h ORDER BY h.id), '[]')
     FROM backup_hooks h JOIN backup_jobs j ON j.id = h.job_id WHERE j.device_id = $1) AS hooks,
  (SELECT coalesce(json_agg(r), '[]') FROM repositories r) AS repositories,
  (SELECT reltuples FROM pg_class WHERE oid = 'devices'::regclass) AS fleet`;

type Rows = Record<string, unknown>[];

async function load(
  db: Queryable,
  deviceId: string,
  now: Date,
  localZone: () => string,
): Promise<{ config: DeviceConfig; version: string; fleetSize: number }> {
  const { rows } = await db.query<{
    d: unknown;
    g: unknown;
    device: { name: string } | null;
    settings: SettingValueRow[];
    jobs: Rows;
    schedules: Rows;
    hooks: Rows;
    repositories: Rows;
    fleet: unknown;
  }>(CONFIG_SQL, [deviceId]);
  const row = rows[0];
  if (!row?.device) throw new AppError('NOT_FOUND', `device ${deviceId} is not registered in the database`);
  const version = `${toNumber(row.d) ?? 0}.${toNumber(row.g) ?? 0}`;
  const settings = effectiveSettings(row.settings);
  const jobs = row.jobs.map(mapJob);
  const schedules = row.schedules.map(mapSchedule);
  const hooks = row.hooks.map(mapHook);
  const repos = new Map(
    row.repositories.map((r) => {
      const m = mapRepository(r);
      return [m.id, m] as const;
    }),
  );
  const fallbackRepo = settingsRepository(settings);
  const globalRetention = parseRetentionText(settings.retention ?? '');

  const config: DeviceConfig = {
    deviceId,
    deviceName: row.device.name,
    settings,
    jobs: [],
    invalidJobs: [],
    loadedAt: now.toISOString(),
  };
  for (const job of jobs) {
    const own = schedules.filter((s) => s.jobId === job.id);
    const repo = job.repositoryId ? repos.get(job.repositoryId) : undefined;
    const problems = checkJob(job, own, repo !== undefined, localZone);
    if (problems.length > 0) {
      config.invalidJobs.push({ id: job.id, name: job.name, reason: problems.join('; ') });
      continue;
    }
    const jc: JobConfig = {
      id: job.id,
      deviceId: job.deviceId,
      name: job.name,
      description: job.description,
      sourcePaths: job.sourcePaths,
      excludePatterns: job.excludePatterns,
      tags: job.tags,
      resticArgs: checkResticArgs(job.resticArgs) as string[],
      resticHost: job.resticHost,
      repositoryId: job.repositoryId,
      repository: repo ? fromRepositoryRow(repo) : fallbackRepo,
      enabled: job.enabled,
      originName: job.originName,
      originId: job.originId,
      accountId: job.accountId,
      schedules: own,
      hooks: hooks.filter((h) => h.jobId === job.id),
      updatedAt: job.updatedAt,
      ...effectiveRetention(job.retention, globalRetention),
    };
    config.jobs.push(jc);
  }
  return { config, version, fleetSize: Math.max(0, Math.round(toNumber(row.fleet) ?? 0)) };
}

/**
 * A device's configuration and its change marker, read in one statement (one snapshot, so the
 * version matches the config exactly). Jobs of the device, enabled or not (check `enabled`), each
 * with all its schedules and hooks (check their `enabled`) and the resolved repository:
 * repository_id -> that row; NULL -> the effective `repository_*` settings; none configured ->
 * null. A job that fails validation (job-validation.ts) is listed in `invalidJobs` with the reason
 * naming the column; the others load. `fleetSize`: the planner's estimate of the devices (as the
 * check-in's). Throws AppError NOT_FOUND when the device is not registered.
 */
export async function loadDeviceConfigVersioned(
  db: Database,
  deviceId: string,
  now: Date,
  opts: LoadOptions = {},
): Promise<{ config: DeviceConfig; version: string; fleetSize: number }> {
  // The process's zone is asked for only when an enabled schedule needs it: the first Intl call
  // loads ICU's zone data, ~24 ms of CPU (Node 20), which a job without schedules never needs.
  let zone = opts.localZone;
  return load(db, deviceId, now, () => (zone ??= Intl.DateTimeFormat().resolvedOptions().timeZone));
}

/** The device's configuration (see loadDeviceConfigVersioned). `now` only stamps `loadedAt`. */
export async function loadDeviceConfig(
  db: Database,
  deviceId: string,
  now: Date,
  opts: LoadOptions = {},
): Promise<DeviceConfig> {
  return (await loadDeviceConfigVersioned(db, deviceId, now, opts)).config;
}

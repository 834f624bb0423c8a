/**
 * GET /config and POST /config on the database (doc/api.md "POST /config", CONTRACTS §3/§5): the
 * device's jobs with schedules and hooks, effective settings and repositories as the API shows them
 * (snake_case column names, secrets as REDACTED), and a validated change checked against the
 * database and written in one transaction (all or nothing).
 */
import {
  parseConfigChange,
  REDACTED,
  type ConfigChange,
  type HookInput,
  type ScheduleInput,
} from '../api/config-schema.js';
import type { ConfigView } from '../api/agent-port.js';
import { SETTINGS, settingProblem } from '../config/settings-registry.js';
import { jobValueProblems, repositorySettingProblem } from '../config/input-check.js';
import type { Database, Queryable } from '../db/database.js';
import type { HookConfig, ScheduleConfig } from '../config/device-config.js';
import {
  addHook,
  addJob,
  addSchedule,
  existingRepositoryIds,
  getDevice,
  getEffectiveSettings,
  listDeviceHooks,
  listDeviceSchedules,
  listJobs,
  listRepositories,
  removeDeviceJob,
  removeHook,
  removeSchedule,
  removeSetting,
  setSetting,
  sqlState,
  updateHook,
  updateJob,
  updateSchedule,
} from '../db/index.js';
import { isAppError, type FieldError } from '../errors.js';
import { adminOnlyRefusal, adminOnlyViolations, loadStoredCommands } from './admin-fields.js';

/** Setting keys that hold secrets (a `_file`/`_command` key names a path or command, not a secret). */
const SECRET_KEY = /(password|secret|token|passphrase|credential|private_key|access_key)/i;
const isSecretKey = (key: string): boolean => SECRET_KEY.test(key) && !/_(file|command)$/.test(key);
const mask = (v: string | null): string | null => (v === null || v === '' ? v : REDACTED);

const schedView = (s: ScheduleConfig) => ({
  id: s.id,
  schedule_type: s.type,
  cron_expression: s.cronExpression,
  interval_seconds: s.intervalSeconds,
  timezone: s.timezone,
  catch_up: s.catchUp,
  enabled: s.enabled,
  last_run_at: s.lastRunAt,
  next_run_at: s.nextRunAt,
});
const hookView = (h: HookConfig) => ({
  id: h.id,
  command: h.command,
  timing: h.timing,
  on_error: h.onError,
  enabled: h.enabled,
});

/**
 * The device's config as GET /config shows it: `jobs` (backup_jobs columns, snake_case, each with
 * `schedules[]` and `hooks[]` by id), effective `settings` (secret values REDACTED unless empty),
 * all `repositories` (a job may pick any; `password` REDACTED when set, every `env` value
 * REDACTED), `device {id, name}` (name = id when the row is missing). Throws AppError DB_QUERY.
 */
export async function readConfigView(db: Database, deviceId: string): Promise<ConfigView> {
  const [device, jobs, scheds, hooks, settings, repos] = await Promise.all([
    getDevice(db, deviceId),
    listJobs(db, { deviceId }),
    listDeviceSchedules(db, deviceId),
    listDeviceHooks(db, deviceId),
    getEffectiveSettings(db, deviceId),
    listRepositories(db),
  ]);
  return {
    device: { id: deviceId, name: device?.name ?? deviceId },
    jobs: jobs.map((j) => ({
      id: j.id,
      name: j.name,
      description: j.description,
      source_paths: j.sourcePaths,
      exclude_patterns: j.excludePatterns,
      tags: j.tags,
      restic_args: j.resticArgs,
      retention: j.retention ?? null,
      repository_id: j.repositoryId,
      enabled: j.enabled,
      origin_name: j.originName,
      origin_id: j.originId,
      account_id: j.accountId,
      created_at: j.createdAt,
      updated_at: j.updatedAt,
      schedules: scheds.filter((s) => s.jobId === j.id).map(schedView),
      hooks: hooks.filter((h) => h.jobId === j.id).map(hookView),
    })),
    settings: Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, isSecretKey(k) ? (mask(v) ?? '') : v])),
    repositories: repos.map((r) => ({
      id: r.id,
      name: r.name,
      url: r.url,
      password: mask(r.password),
      password_file: r.passwordFile,
      password_command: r.passwordCommand,
      cache_dir: r.cacheDir,
      env: Object.fromEntries(Object.keys(r.env).map((k) => [k, REDACTED])),
      created_at: r.createdAt,
      updated_at: r.updatedAt,
    })),
  };
}

/** Thrown inside the transaction to roll it back with field errors. */
class Refused extends Error {
  constructor(readonly errors: FieldError[]) {
    super('config change refused');
  }
}

interface Owned {
  /** job id -> name, this device's jobs. */
  jobs: Map<string, string>;
  /** schedule/hook id -> job id, of this device's jobs. */
  schedules: Map<number, string>;
  hooks: Map<number, string>;
  repositories: Set<string>;
}

async function loadOwned(tx: Queryable, deviceId: string, change: ConfigChange): Promise<Owned> {
  const jobs = await listJobs(tx, { deviceId });
  const scheds = await listDeviceSchedules(tx, deviceId);
  const hooks = await listDeviceHooks(tx, deviceId);
  const wanted = [
    ...new Set((change.jobs ?? []).map((j) => j.repository_id).filter((r): r is string => typeof r === 'string')),
  ];
  return {
    jobs: new Map(jobs.map((j) => [j.id.toLowerCase(), j.name])),
    schedules: new Map(scheds.map((s) => [s.id, s.jobId])),
    hooks: new Map(hooks.map((h) => [h.id, h.jobId])),
    repositories: await existingRepositoryIds(tx, wanted),
  };
}

/** Every reference problem of `change` against this device's rows (empty = fine). Pure. */
function checkReferences(change: ConfigChange, owned: Owned): FieldError[] {
  const errors: FieldError[] = [];
  const err = (field: string, message: string) => errors.push({ field, message });
  const deletedJobs = new Set((change.delete_jobs ?? []).map((id) => id.toLowerCase()));
  const deletedScheds = new Set(change.delete_schedules ?? []);
  const deletedHooks = new Set(change.delete_hooks ?? []);
  (change.delete_jobs ?? []).forEach((id, i) => {
    if (!owned.jobs.has(id.toLowerCase())) err(`delete_jobs[${i}]`, 'no such job on this device');
  });
  (change.delete_schedules ?? []).forEach((id, i) => {
    if (!owned.schedules.has(id)) err(`delete_schedules[${i}]`, "no such schedule of this device's jobs");
  });
  (change.delete_hooks ?? []).forEach((id, i) => {
    if (!owned.hooks.has(id)) err(`delete_hooks[${i}]`, "no such hook of this device's jobs");
  });

  // Final names: existing jobs not deleted, renamed by the change, plus the new jobs.
  const finalName = new Map([...owned.jobs].filter(([id]) => !deletedJobs.has(id)));
  const seen = new Set<string>();
  (change.jobs ?? []).forEach((j, i) => {
    const id = j.id?.toLowerCase();
    if (id !== undefined) {
      if (!owned.jobs.has(id)) err(`jobs[${i}].id`, 'no such job on this device');
      else if (deletedJobs.has(id)) err(`jobs[${i}].id`, 'the job is also in delete_jobs');
      else if (seen.has(id)) err(`jobs[${i}].id`, 'the job is listed twice');
      seen.add(id);
      if (j.name !== undefined) finalName.set(id, j.name);
    }
    if (typeof j.repository_id === 'string' && !owned.repositories.has(j.repository_id.toLowerCase()))
      err(`jobs[${i}].repository_id`, 'no such repository');
    // C26, C30: nothing relative, restic_args only from the allow-list.
    for (const problem of jobValueProblems({
      sourcePaths: j.source_paths,
      excludePatterns: j.exclude_patterns,
      resticArgs: j.restic_args,
    }))
      err(`jobs[${i}]`, problem);
    const children = [
      ['schedules', j.schedules, owned.schedules, deletedScheds],
      ['hooks', j.hooks, owned.hooks, deletedHooks],
    ] as const;
    for (const [kind, list, ownedIds, deleted] of children) {
      (list ?? []).forEach((c, k) => {
        if (c.id === undefined) return;
        if (id === undefined || ownedIds.get(c.id) !== id)
          err(`jobs[${i}].${kind}[${k}].id`, `no such ${kind.slice(0, -1)} of this job`);
        else if (deleted.has(c.id))
          err(`jobs[${i}].${kind}[${k}].id`, `the ${kind.slice(0, -1)} is also in delete_${kind}`);
      });
    }
  });
  (change.jobs ?? []).forEach((j, i) => {
    const self = j.id?.toLowerCase();
    if (j.name === undefined || (self !== undefined && owned.jobs.get(self) === j.name)) return; // unchanged name
    const others =
      [...finalName].filter(([id, name]) => id !== self && name === j.name).length +
      (change.jobs ?? []).filter((o, k) => k !== i && o.id === undefined && o.name === j.name).length;
    if (others > 0) err(`jobs[${i}].name`, `a job named "${j.name}" already exists on this device`);
  });
  for (const [key, value] of Object.entries(change.settings ?? {})) {
    // One registry of known settings (src/config/settings-registry.ts): unknown keys and bad values
    // are refused naming the key; removing (null) an unknown key is refused too (a typo).
    const problem =
      value === null || value === REDACTED
        ? SETTINGS.has(key)
          ? null
          : settingProblem(key, '')
        : (settingProblem(key, value) ?? repositorySettingProblem(key, value));
    if (problem) err(`settings.${key}`, problem);
  }
  return errors;
}

async function writeSchedule(tx: Queryable, jobId: string, s: ScheduleInput): Promise<void> {
  const cron = s.schedule_type === 'cron' ? (s.cron_expression ?? null) : null;
  const interval = s.schedule_type === 'interval' ? (s.interval_seconds ?? null) : null;
  const fields = {
    type: s.schedule_type,
    cronExpression: cron,
    intervalSeconds: interval,
    timezone: s.timezone ?? null,
    catchUp: s.catch_up,
    enabled: s.enabled,
  };
  if (s.id === undefined) await addSchedule(tx, { jobId, ...fields });
  else await updateSchedule(tx, s.id, jobId, fields);
}

async function writeHook(tx: Queryable, jobId: string, h: HookInput): Promise<void> {
  if (h.id === undefined) {
    await addHook(tx, { jobId, command: h.command, timing: h.timing, onError: h.on_error, enabled: h.enabled });
    return;
  }
  await updateHook(tx, h.id, jobId, { command: h.command, timing: h.timing, onError: h.on_error, enabled: h.enabled });
}

async function writeChange(tx: Queryable, deviceId: string, change: ConfigChange): Promise<void> {
  for (const id of change.delete_jobs ?? []) await removeDeviceJob(tx, id, deviceId);
  for (const id of change.delete_schedules ?? []) await removeSchedule(tx, id);
  for (const id of change.delete_hooks ?? []) await removeHook(tx, id);
  for (const [i, j] of (change.jobs ?? []).entries()) {
    let jobId = j.id;
    try {
      if (jobId === undefined) {
        jobId = (
          await addJob(tx, {
            deviceId,
            name: j.name ?? '',
            description: j.description ?? null,
            sourcePaths: j.source_paths ?? [],
            excludePatterns: j.exclude_patterns,
            tags: j.tags,
            resticArgs: j.restic_args,
            repositoryId: j.repository_id ?? null,
            enabled: j.enabled,
          })
        ).id;
        if (j.retention) await updateJob(tx, jobId, { retention: j.retention });
      } else {
        await updateJob(tx, jobId, {
          name: j.name,
          description: j.description,
          source_paths: j.source_paths,
          exclude_patterns: j.exclude_patterns,
          tags: j.tags,
          restic_args: j.restic_args,
          repository_id: j.repository_id,
          enabled: j.enabled,
          retention: j.retention,
        });
      }
    } catch (e) {
      // a name swap within one change, or a concurrent writer: the unique (device, name) refuses it
      if (isAppError(e, 'CONFLICT') || sqlState((e as Error).cause) === '23505') {
        throw new Refused([
          { field: `jobs[${i}].name`, message: `a job named "${j.name ?? ''}" already exists on this device` },
        ]);
      }
      throw e;
    }
    for (const s of j.schedules ?? []) await writeSchedule(tx, jobId, s);
    for (const h of j.hooks ?? []) await writeHook(tx, jobId, h);
  }
  for (const [key, value] of Object.entries(change.settings ?? {})) {
    if (value === null) await removeSetting(tx, deviceId, key);
    else if (value !== REDACTED) await setSetting(tx, { deviceId, key, value }); // REDACTED sent back keeps the stored value
  }
}

/**
 * Apply a POST /config change for `deviceId` (doc/api.md): validated again with the schema
 * (defaults filled), references checked inside the transaction (job ids of this device, schedule
 * and hook ids of that job, deletes, repository ids, unique job names), then deletes, job
 * creates/updates (only given fields), schedule/hook upserts and settings (string = set the device
 * value, null = remove the override, REDACTED = keep) written in one transaction. Any error:
 * nothing written, `{ok: false, errors}` with field paths such as `jobs[0].schedules[1].id`.
 * Throws AppError FORBIDDEN (403, nothing written) when the change touches an admin-only field
 * (src/agent/admin-fields.ts), AppError DB_QUERY (or DB_CONNECT) when the database fails.
 */
export async function applyConfigChange(
  db: Database,
  deviceId: string,
  change: ConfigChange,
): Promise<{ ok: true } | { ok: false; errors: FieldError[] }> {
  const parsed = parseConfigChange(change);
  if (!parsed.ok) return parsed;
  try {
    await db.transaction(async (tx) => {
      const { stored, allowCommands } = await loadStoredCommands(tx, deviceId);
      const forbidden = adminOnlyViolations(parsed.change, stored, allowCommands);
      if (forbidden.length > 0) throw adminOnlyRefusal(forbidden); // 403, nothing written
      const errors = checkReferences(parsed.change, await loadOwned(tx, deviceId, parsed.change));
      if (errors.length > 0) throw new Refused(errors);
      await writeChange(tx, deviceId, parsed.change);
    });
    return { ok: true };
  } catch (e) {
    if (e instanceof Refused) return { ok: false, errors: e.errors };
    throw e;
  }
}

/**
 * GET /config and POST /config on the database (doc/api.md "POST /config", CONTRACTS §3/§5): the
 * device's jobs with schedules and hooks, effective settings and repositories as the API shows them
 * (snake_case column names, secrets as REDACTED), and a validated change checked against the
 * database and written in one transaction (all or nothing).
 */
import { parseConfigChange, REDACTED, type ConfigChange, type HookInput, type JobInput, type ScheduleInput } from '../api/config-schema.js';
import type { ConfigView } from '../api/agent-port.js';
import { DEFAULT_SETTINGS, settingValueProblem } from '../config/device-config.js';
import { jobValueProblems, repositorySettingProblem } from '../config/input-check.js';
import type { Database, Queryable } from '../db/database.js';
import { addHook, addJob, addSchedule, getEffectiveSettings, removeSetting, setSetting, sqlState } from '../db/index.js';
import { toIso, toNumber, toObject, toStr, toStringArray } from '../db/rows.js';
import { isAppError, type FieldError } from '../errors.js';
import { adminOnlyRefusal, adminOnlyViolations, loadStoredCommands } from './admin-fields.js';

/** Setting keys that hold secrets (a `_file`/`_command` key names a path or command, not a secret). */
const SECRET_KEY = /(password|secret|token|passphrase|credential|private_key|access_key)/i;
const isSecretKey = (key: string): boolean => SECRET_KEY.test(key) && !/_(file|command)$/.test(key);
const mask = (v: string | null): string | null => (v === null || v === '' ? v : REDACTED);

const schedView = (r: Record<string, unknown>) => ({
  id: toNumber(r.id), schedule_type: String(r.schedule_type), cron_expression: toStr(r.cron_expression),
  interval_seconds: toNumber(r.interval_seconds), timezone: toStr(r.timezone), catch_up: r.catch_up !== false,
  enabled: r.enabled !== false, last_run_at: toIso(r.last_run_at), next_run_at: toIso(r.next_run_at),
});
const hookView = (r: Record<string, unknown>) => ({
  id: toNumber(r.id), command: String(r.command), timing: String(r.timing), on_error: String(r.on_error), enabled: r.enabled !== false,
});

/**
 * The device's config as GET /config shows it: `jobs` (backup_jobs columns, snake_case, each with
 * `schedules[]` and `hooks[]` by id), effective `settings` (secret values REDACTED unless empty),
 * all `repositories` (a job may pick any; `password` REDACTED when set, every `env` value
 * REDACTED), `device {id, name}` (name = id when the row is missing). Throws AppError DB_QUERY.
 */
export async function readConfigView(db: Database, deviceId: string): Promise<ConfigView> {
  const [device, jobs, scheds, hooks, settings, repos] = await Promise.all([
    db.query('SELECT id, name FROM devices WHERE id = $1', [deviceId]),
    db.query('SELECT * FROM backup_jobs WHERE device_id = $1 ORDER BY name, id', [deviceId]),
    db.query('SELECT s.* FROM schedules s JOIN backup_jobs j ON j.id = s.job_id WHERE j.device_id = $1 ORDER BY s.id', [deviceId]),
    db.query('SELECT h.* FROM backup_hooks h JOIN backup_jobs j ON j.id = h.job_id WHERE j.device_id = $1 ORDER BY h.id', [deviceId]),
    getEffectiveSettings(db, deviceId),
    db.query('SELECT * FROM repositories ORDER BY name'),
  ]);
  return {
    device: { id: deviceId, name: toStr(device.rows[0]?.name) ?? deviceId },
    jobs: jobs.rows.map((r) => ({
      id: String(r.id), name: String(r.name), description: toStr(r.description), source_paths: toStringArray(r.source_paths),
      exclude_patterns: toStringArray(r.exclude_patterns), tags: toStringArray(r.tags), restic_args: r.restic_args ?? [],
      repository_id: toStr(r.repository_id), enabled: r.enabled === true, origin_name: toStr(r.origin_name),
      origin_id: toStr(r.origin_id), account_id: toStr(r.account_id), created_at: toIso(r.created_at), updated_at: toIso(r.updated_at),
      schedules: scheds.rows.filter((s) => String(s.job_id) === String(r.id)).map(schedView),
      hooks: hooks.rows.filter((h) => String(h.job_id) === String(r.id)).map(hookView),
    })),
    settings: Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, isSecretKey(k) ? mask(v) ?? '' : v])),
    repositories: repos.rows.map((r) => ({
      id: String(r.id), name: String(r.name), url: String(r.url), password: mask(toStr(r.password)),
      password_file: toStr(r.password_file), password_command: toStr(r.password_command), cache_dir: toStr(r.cache_dir),
      env: Object.fromEntries(Object.keys(toObject(r.env)).map((k) => [k, REDACTED])),
      created_at: toIso(r.created_at), updated_at: toIso(r.updated_at),
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
  const jobs = await tx.query('SELECT id, name FROM backup_jobs WHERE device_id = $1', [deviceId]);
  const scheds = await tx.query('SELECT s.id, s.job_id FROM schedules s JOIN backup_jobs j ON j.id = s.job_id WHERE j.device_id = $1', [deviceId]);
  const hooks = await tx.query('SELECT h.id, h.job_id FROM backup_hooks h JOIN backup_jobs j ON j.id = h.job_id WHERE j.device_id = $1', [deviceId]);
  const wanted = [...new Set((change.jobs ?? []).map((j) => j.repository_id).filter((r): r is string => typeof r === 'string'))];
  const repos = wanted.length > 0 ? await tx.query('SELECT id FROM repositories WHERE id = ANY($1::uuid[])', [wanted]) : { rows: [] };
  const byId = (rows: Record<string, unknown>[]) => new Map(rows.map((r) => [toNumber(r.id) ?? 0, String(r.job_id)]));
  return {
    jobs: new Map(jobs.rows.map((r) => [String(r.id).toLowerCase(), String(r.name)])),
    schedules: byId(scheds.rows), hooks: byId(hooks.rows),
    repositories: new Set(repos.rows.map((r) => String((r as Record<string, unknown>).id).toLowerCase())),
  };
}

/** Every reference problem of `change` against this device's rows (empty = fine). Pure. */
function checkReferences(change: ConfigChange, owned: Owned): FieldError[] {
  const errors: FieldError[] = [];
  const err = (field: string, message: string) => errors.push({ field, message });
  const deletedJobs = new Set((change.delete_jobs ?? []).map((id) => id.toLowerCase()));
  const deletedScheds = new Set(change.delete_schedules ?? []);
  const deletedHooks = new Set(change.delete_hooks ?? []);
  (change.delete_jobs ?? []).forEach((id, i) => { if (!owned.jobs.has(id.toLowerCase())) err(`delete_jobs[${i}]`, 'no such job on this device'); });
  (change.delete_schedules ?? []).forEach((id, i) => { if (!owned.schedules.has(id)) err(`delete_schedules[${i}]`, "no such schedule of this device's jobs"); });
  (change.delete_hooks ?? []).forEach((id, i) => { if (!owned.hooks.has(id)) err(`delete_hooks[${i}]`, "no such hook of this device's jobs"); });

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
    if (typeof j.repository_id === 'string' && !owned.repositories.has(j.repository_id.toLowerCase())) err(`jobs[${i}].repository_id`, 'no such repository');
    // C26, C30: nothing relative, restic_args only from the allow-list.
    for (const problem of jobValueProblems({ sourcePaths: j.source_paths, excludePatterns: j.exclude_patterns, resticArgs: j.restic_args })) err(`jobs[${i}]`, problem);
    const children = [['schedules', j.schedules, owned.schedules, deletedScheds], ['hooks', j.hooks, owned.hooks, deletedHooks]] as const;
    for (const [kind, list, ownedIds, deleted] of children) {
      (list ?? []).forEach((c, k) => {
        if (c.id === undefined) return;
        if (id === undefined || ownedIds.get(c.id) !== id) err(`jobs[${i}].${kind}[${k}].id`, `no such ${kind.slice(0, -1)} of this job`);
        else if (deleted.has(c.id)) err(`jobs[${i}].${kind}[${k}].id`, `the ${kind.slice(0, -1)} is also in delete_${kind}`);
      });
    }
  });
  (change.jobs ?? []).forEach((j, i) => {
    const self = j.id?.toLowerCase();
    if (j.name === undefined || (self !== undefined && owned.jobs.get(self) === j.name)) return; // unchanged name
    const others = [...finalName].filter(([id, name]) => id !== self && name === j.name).length
      + (change.jobs ?? []).filter((o, k) => k !== i && o.id === undefined && o.name === j.name).length;
    if (others > 0) err(`jobs[${i}].name`, `a job named "${j.name}" already exists on this device`);
  });
  for (const [key, value] of Object.entries(change.settings ?? {})) {
    const numeric = /^\d+$/.test(DEFAULT_SETTINGS[key] ?? '');
    if (numeric && value !== null && value !== REDACTED && !/^\d{1,9}$/.test(value)) err(`settings.${key}`, 'must be a whole number');
    else if (value !== null && value !== REDACTED) {
      const problem = settingValueProblem(key, value) ?? repositorySettingProblem(key, value);
      if (problem) err(`settings.${key}`, problem);
    }
  }
  return errors;
}

/** Column -> SQL cast for a job update; only fields present in the input are written. */
const JOB_COLUMNS: ReadonlyArray<[keyof JobInput, string]> = [
  ['name', 'varchar'], ['description', 'text'], ['source_paths', 'text[]'], ['exclude_patterns', 'text[]'],
  ['tags', 'text[]'], ['restic_args', 'jsonb'], ['repository_id', 'uuid'], ['enabled', 'boolean'],
];

async function updateJob(tx: Queryable, j: JobInput & { id: string }): Promise<void> {
  const present = JOB_COLUMNS.filter(([k]) => j[k] !== undefined);
  if (present.length === 0) return;
  const sets = present.map(([k, cast], n) => `${k} = $${n + 2}::${cast}`).join(', ');
  const params = present.map(([k]) => (k === 'restic_args' ? JSON.stringify(j[k]) : j[k]));
  await tx.query(`UPDATE backup_jobs SET ${sets} WHERE id = $1`, [j.id, ...params]);
}

async function writeSchedule(tx: Queryable, jobId: string, s: ScheduleInput): Promise<void> {
  const cron = s.schedule_type === 'cron' ? s.cron_expression ?? null : null;
  const interval = s.schedule_type === 'interval' ? s.interval_seconds ?? null : null;
  if (s.id === undefined) {
    await addSchedule(tx, { jobId, type: s.schedule_type, cronExpression: cron, intervalSeconds: interval, timezone: s.timezone ?? null, catchUp: s.catch_up, enabled: s.enabled });
    return;
  }
  await tx.query(
    `UPDATE schedules SET schedule_type = $3, cron_expression = $4, interval_seconds = $5, timezone = $6, catch_up = $7, enabled = $8
     WHERE id = $1 AND job_id = $2`,
    [s.id, jobId, s.schedule_type, cron, interval, s.timezone ?? null, s.catch_up, s.enabled],
  );
}

async function writeHook(tx: Queryable, jobId: string, h: HookInput): Promise<void> {
  if (h.id === undefined) {
    await addHook(tx, { jobId, command: h.command, timing: h.timing, onError: h.on_error, enabled: h.enabled });
    return;
  }
  await tx.query('UPDATE backup_hooks SET command = $3, timing = $4, on_error = $5, enabled = $6 WHERE id = $1 AND job_id = $2',
    [h.id, jobId, h.command, h.timing, h.on_error, h.enabled]);
}

async function writeChange(tx: Queryable, deviceId: string, change: ConfigChange): Promise<void> {
  for (const id of change.delete_jobs ?? []) await tx.query('DELETE FROM backup_jobs WHERE id = $1 AND device_id = $2', [id, deviceId]);
  for (const id of change.delete_schedules ?? []) await tx.query('DELETE FROM schedules WHERE id = $1', [id]);
  for (const id of change.delete_hooks ?? []) await tx.query('DELETE FROM backup_hooks WHERE id = $1', [id]);
  for (const [i, j] of (change.jobs ?? []).entries()) {
    let jobId = j.id;
    try {
      if (jobId === undefined) {
        jobId = (await addJob(tx, {
          deviceId, name: j.name ?? '', description: j.description ?? null, sourcePaths: j.source_paths ?? [], excludePatterns: j.exclude_patterns,
          tags: j.tags, resticArgs: j.restic_args, repositoryId: j.repository_id ?? null, enabled: j.enabled,
        })).id;
      } else {
        await updateJob(tx, { ...j, id: jobId });
      }
    } catch (e) {
      // a name swap within one change, or a concurrent writer: the unique (device, name) refuses it
      if (isAppError(e, 'CONFLICT') || sqlState((e as Error).cause) === '23505') {
        throw new Refused([{ field: `jobs[${i}].name`, message: `a job named "${j.name ?? ''}" already exists on this device` }]);
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
export async function applyConfigChange(db: Database, deviceId: string, change: ConfigChange): Promise<{ ok: true } | { ok: false; errors: FieldError[] }> {
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

/**
 * Every setting rbackup2 knows (CONTRACTS §3 `settings`), with its type, range and meaning, in one
 * place. Whatever writes a setting (POST /config, `rbackup2 setting set`) asks settingProblem();
 * whatever reads the table (the config loader, GET /status) asks storedSettingProblems() so a value
 * edited by SQL into something wrong is reported, not silently replaced. An unknown key is refused
 * with the list of known ones: a typo must never be stored and then ignored.
 */
import { DEFAULT_SETTINGS, SETTING_RANGES } from './device-config.js';
import { RUN_HISTORY_CLEANUP_MARKER_KEY } from '../db/queries/settings.js';
import { maintenanceSettingProblem } from '../maintenance/maintenance-settings.js';

export type SettingType = 'integer' | 'text' | 'secret' | 'boolean' | 'path';

export interface SettingSpec {
  key: string;
  type: SettingType;
  /** Inclusive range of an integer setting. */
  range?: readonly [number, number];
  /** Built-in default ('' = none). */
  default: string;
  description: string;
}

const int = (key: string, description: string): SettingSpec => ({
  key,
  type: 'integer',
  range: SETTING_RANGES[key] as readonly [number, number],
  default: DEFAULT_SETTINGS[key] ?? '',
  description,
});
const of = (key: string, type: SettingType, description: string): SettingSpec => ({
  key,
  type,
  default: DEFAULT_SETTINGS[key] ?? '',
  description,
});

/** The known settings, by key. */
export const SETTINGS: ReadonlyMap<string, SettingSpec> = new Map(
  [
    int('sync_interval_seconds', 'seconds between config checks when database notifications are off'),
    int('max_concurrent_backups', 'backups this device runs at the same time'),
    int('run_retention_days', 'days run records are kept'),
    int('missed_run_grace_seconds', 'how late a scheduled run may start before it counts as missed'),
    int('retry_delay_seconds', 'seconds before a failed automatic run is retried'),
    int('retry_max_attempts', 'retries of a failed automatic run (0 = none)'),
    int('heartbeat_interval_seconds', 'seconds between the agent heartbeats'),
    int('stall_timeout_seconds', 'seconds without restic progress before a backup is stopped as stalled'),
    int('backup_timeout_seconds', 'hard limit of one backup in seconds (0 = none)'),
    of('repository_url', 'text', 'restic repository of jobs without a repository of their own'),
    of('repository_password', 'secret', 'password of repository_url'),
    of('repository_password_file', 'path', 'file holding the password of repository_url'),
    of('repository_password_command', 'text', 'command printing the password of repository_url'),
    of('repository_cache_dir', 'path', 'restic cache folder of repository_url'),
    of('allow_local_command_changes', 'boolean', 'lets the local UI/API change hooks, restic args and repositories'),
    of('ui_password_hash', 'secret', 'hash of the UI password (set with rbackup2 ui-password)'),
    of('restore_roots', 'text', 'folders restores may write into'),
    {
      ...int('stale_after_seconds', 'seconds after its last success a scheduled job is reported stale (job.stale)'),
      default: '',
    },
    {
      ...int('silent_after_seconds', 'seconds without a check-in before a device is reported silent (device.silent)'),
      default: '259200',
    },
    // issue 18: retention and repository health (src/maintenance/)
    of('retention', 'text', 'default retention policy (JSON of restic keep options) of jobs without their own'),
    of(
      'prune_schedule',
      'text',
      "cron of the repositories' prune (per repository: repositories.prune_schedule); off = never",
    ),
    of(
      'check_schedule',
      'text',
      "cron of the repositories' check (per repository: repositories.check_schedule); off = never",
    ),
    of('check_read_data_subset', 'text', 'part of the data a check reads (5%, 1/10, 500M; empty = none)'),
    int('prune_timeout_seconds', 'hard limit of one prune in seconds'),
    int('check_timeout_seconds', 'hard limit of one check in seconds'),
    int('lease_seconds', 'life of a repository lease without renewal, seconds'),
    int('lease_wait_seconds', 'longest wait for a repository lease (backups behind a prune, a prune behind backups)'),
  ].map((s) => [s.key, s]),
);

/** Known keys, sorted, for error messages. */
export function knownSettingKeys(): string[] {
  return [...SETTINGS.keys()].sort();
}

/**
 * Why `value` cannot be stored for `key`, as one sentence naming both, or null. Unknown keys name
 * the known ones.
 */
export function settingProblem(key: string, value: string): string | null {
  const spec = SETTINGS.get(key);
  if (!spec) return `unknown setting "${key.slice(0, 64)}"; known settings: ${knownSettingKeys().join(', ')}`;
  const v = value.trim();
  if (spec.type === 'integer' && spec.range) {
    const [min, max] = spec.range;
    if (!/^-?\d{1,12}$/.test(v) || Number(v) < min || Number(v) > max)
      return `setting ${key} must be a whole number from ${min} to ${max} (got "${value.slice(0, 40)}")`;
  }
  if (spec.type === 'boolean' && v !== '' && v !== 'true' && v !== 'false')
    return `setting ${key} must be true or false (got "${value.slice(0, 40)}")`;
  return maintenanceSettingProblem(key, value);
}

/** A setting row as stored, with where it applies. */
export interface StoredSetting {
  /** null = global, a string = that device's, undefined = an effective value (scope not known). */
  deviceId?: string | null;
  key: string;
  value: string;
}

/**
 * Problems of rows already in the table (written by SQL, or before this check existed): one sentence
 * each, naming the row's scope, key and what the agent uses instead. The retention marker row is
 * internal and not checked.
 */
export function storedSettingProblems(rows: readonly StoredSetting[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.key === RUN_HISTORY_CLEANUP_MARKER_KEY) continue;
    const problem = settingProblem(r.key, r.value);
    if (!problem) continue;
    const scope =
      r.deviceId === undefined ? 'setting' : r.deviceId === null ? 'global setting' : `setting of device ${r.deviceId}`;
    const spec = SETTINGS.get(r.key);
    const used = spec ? `; the default ${spec.default === '' ? '(none)' : spec.default} is used` : '; it is ignored';
    out.push(`${scope} in the database: ${problem}${used}`);
  }
  return out;
}

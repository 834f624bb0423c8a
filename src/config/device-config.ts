/**
 * The device configuration as the agent uses it: what the database (or the last-known-good cache)
 * says this device should do. Loaded by src/db/device-config-query.ts, consumed by the scheduler and
 * the backup executor. Plain data (JSON-serialisable: dates are ISO strings) so it can be cached on
 * disk and diffed.
 */
import { maintenanceSettingProblem } from '../maintenance/maintenance-settings.js';

/** A restic repository and how to open it (CONTRACTS §3 `repositories`, or the global settings). */
export interface RepositoryConfig {
  /** `repositories.id`, or null for the repository given by the `repository_*` settings. */
  id: string | null;
  /** Maintenance schedules (migration 011): a cron expression, 'off', or null = the global setting. */
  pruneSchedule?: string | null;
  checkSchedule?: string | null;
  /** `restic check --read-data-subset` value (`5%`, `1/10`), or null = the global setting. */
  checkReadDataSubset?: string | null;
  name: string;
  /** restic repository URL or path (RESTIC_REPOSITORY). */
  url: string;
  password: string | null;
  passwordFile: string | null;
  passwordCommand: string | null;
  /** RESTIC_CACHE_DIR; null = the agent picks one under client.data_dir. */
  cacheDir: string | null;
  /** Extra environment for restic (cloud credentials such as AWS_ACCESS_KEY_ID). */
  env: Record<string, string>;
}

export interface ScheduleConfig {
  id: number;
  jobId: string;
  type: 'cron' | 'interval';
  /** 5 fields, or 6 with seconds first (croner syntax). */
  cronExpression: string | null;
  intervalSeconds: number | null;
  /** IANA zone name; null = the device's local zone. */
  timezone: string | null;
  /** Relica's "flexible": run once after a missed due time. */
  catchUp: boolean;
  enabled: boolean;
  /** ISO 8601 or null. */
  lastRunAt: string | null;
  nextRunAt: string | null;
}

export interface HookConfig {
  id: number;
  jobId: string;
  /** Run through the system shell as written by the admin. */
  command: string;
  timing: 'start' | 'end';
  onError: 'stop' | 'continue';
  enabled: boolean;
}

export interface JobConfig {
  id: string;
  deviceId: string;
  name: string;
  description: string | null;
  sourcePaths: string[];
  excludePatterns: string[];
  tags: string[];
  /** Extra restic arguments, each its own argv entry. */
  resticArgs: string[];
  /**
   * The stable restic --host of the job's snapshots (C29): restic picks the parent snapshot by
   * host and paths, so a renamed computer would re-read every file. null/absent = not recorded
   * yet (the current host name is used and recorded after the first backup).
   */
  resticHost?: string | null;
  repositoryId: string | null;
  /** The repository resolved from repositoryId or the settings; null when none is configured. */
  repository: RepositoryConfig | null;
  enabled: boolean;
  originName: string | null;
  originId: string | null;
  accountId: string | null;
  schedules: ScheduleConfig[];
  hooks: HookConfig[];
  /**
   * The effective retention policy (issue 18): the job's own `retention`, else the global
   * `retention` setting; null = keep everything. Absent in caches written before issue 18.
   */
  retention?: import('../maintenance/retention-policy.js').RetentionPolicy | null;
  /** Why the stored retention cannot be used (a forget then refuses, naming it); null when fine. */
  retentionProblem?: string | null;
  /** ISO 8601. */
  updatedAt: string;
}

/** A job row that could not be used, with the reason (the other jobs still load). */
export interface InvalidJob {
  id: string;
  name: string;
  reason: string;
}

export interface DeviceConfig {
  deviceId: string;
  deviceName: string;
  /** Effective settings: a device-specific value overrides the global one. */
  settings: Record<string, string>;
  jobs: JobConfig[];
  invalidJobs: InvalidJob[];
  /** ISO 8601: when this config was read from the database. */
  loadedAt: string;
}

/** Typed view of the settings the agent itself reads, with the defaults of CONTRACTS §3. */
export interface AgentSettings {
  syncIntervalSeconds: number;
  maxConcurrentBackups: number;
  runRetentionDays: number;
  missedRunGraceSeconds: number;
  retryDelaySeconds: number;
  retryMaxAttempts: number;
  heartbeatIntervalSeconds: number;
  /** Seconds without restic progress before a backup is stopped as stalled (C27). */
  stallTimeoutSeconds: number;
  /** Hard limit of one backup, seconds; 0 = none. */
  backupTimeoutSeconds: number;
  /** Hard limits of a prune and a check, seconds (restic 0.14 prints little for them: no stall rule). */
  pruneTimeoutSeconds: number;
  checkTimeoutSeconds: number;
  /** Life of a repository lease without renewal, seconds (renewed every third of it). */
  leaseSeconds: number;
  /** Longest wait of a backup for a waiting prune/check, and of a prune/check for running backups, seconds. */
  leaseWaitSeconds: number;
}

export const DEFAULT_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  sync_interval_seconds: '300',
  max_concurrent_backups: '1',
  run_retention_days: '90',
  repository_url: '',
  repository_password: '',
  repository_cache_dir: '',
  missed_run_grace_seconds: '300',
  retry_delay_seconds: '600',
  retry_max_attempts: '3',
  heartbeat_interval_seconds: '60',
  stall_timeout_seconds: '1800',
  backup_timeout_seconds: '0',
  // issue 18: retention and repository health (doc in src/maintenance/)
  retention: '',
  prune_schedule: '0 3 * * 0',
  check_schedule: '0 4 1 * *',
  check_read_data_subset: '',
  prune_timeout_seconds: '86400',
  check_timeout_seconds: '86400',
  lease_seconds: '120',
  lease_wait_seconds: '1800',
  // issue 19: a device without a check-in for 3 days is device.silent (migration 012 inserts the
  // same value; stale_after_seconds has no default: twice the job's longest schedule gap)
  silent_after_seconds: '259200',
});

/** Range of each whole-number setting the agent reads: [min, max]. */
export const SETTING_RANGES: Readonly<Record<string, readonly [number, number]>> = Object.freeze({
  sync_interval_seconds: [1, 86_400],
  max_concurrent_backups: [1, 64],
  run_retention_days: [1, 36_500],
  missed_run_grace_seconds: [0, 86_400],
  retry_delay_seconds: [1, 86_400],
  retry_max_attempts: [0, 20],
  heartbeat_interval_seconds: [5, 86_400],
  stall_timeout_seconds: [10, 604_800],
  backup_timeout_seconds: [0, 31_536_000],
  stale_after_seconds: [10, 31_536_000],
  silent_after_seconds: [10, 31_536_000],
  prune_timeout_seconds: [60, 604_800],
  check_timeout_seconds: [60, 604_800],
  lease_seconds: [10, 3600],
  lease_wait_seconds: [0, 86_400],
});

/**
 * Why `value` is not acceptable for setting `key`, as one sentence naming both, or null. Only the
 * whole-number settings of SETTING_RANGES and the maintenance settings (retention, prune/check schedules,
 * check_read_data_subset) are checked; other keys are free text.
 */
export function settingValueProblem(key: string, value: string): string | null {
  const range = SETTING_RANGES[key];
  if (!range) return maintenanceSettingProblem(key, value);
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isInteger(n) || n < range[0] || n > range[1]) {
    return `setting ${key} must be a whole number from ${range[0]} to ${range[1]} (got "${value.slice(0, 40)}")`;
  }
  return null;
}

function positiveInt(settings: Record<string, string>, key: string): number {
  const [min, max] = SETTING_RANGES[key] ?? [0, 0];
  const raw = settings[key] ?? DEFAULT_SETTINGS[key] ?? '0';
  const n = Number(raw);
  const fallback = Number(DEFAULT_SETTINGS[key] ?? min);
  if (!Number.isInteger(n) || n < min || n > max) return fallback;
  return n;
}

/**
 * The typed settings of a device config. A value that is not a whole number in range falls back
 * to the default (the loader reports such values as config warnings).
 */
export function agentSettings(settings: Record<string, string>): AgentSettings {
  return {
    syncIntervalSeconds: positiveInt(settings, 'sync_interval_seconds'),
    maxConcurrentBackups: positiveInt(settings, 'max_concurrent_backups'),
    runRetentionDays: positiveInt(settings, 'run_retention_days'),
    missedRunGraceSeconds: positiveInt(settings, 'missed_run_grace_seconds'),
    retryDelaySeconds: positiveInt(settings, 'retry_delay_seconds'),
    retryMaxAttempts: positiveInt(settings, 'retry_max_attempts'),
    heartbeatIntervalSeconds: positiveInt(settings, 'heartbeat_interval_seconds'),
    stallTimeoutSeconds: positiveInt(settings, 'stall_timeout_seconds'),
    backupTimeoutSeconds: positiveInt(settings, 'backup_timeout_seconds'),
    pruneTimeoutSeconds: positiveInt(settings, 'prune_timeout_seconds'),
    checkTimeoutSeconds: positiveInt(settings, 'check_timeout_seconds'),
    leaseSeconds: positiveInt(settings, 'lease_seconds'),
    leaseWaitSeconds: positiveInt(settings, 'lease_wait_seconds'),
  };
}

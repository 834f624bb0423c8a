import type { RetentionPolicy } from '../maintenance/retention-policy.js';

/**
 * Shapes of a Relica import plan (see plan.ts): plain JSON-serialisable data, dates ISO 8601.
 */
import type { RelicaSchedule } from './state-schema.js';

/** Where the repository password comes from. `value` is the interactive prompt's answer. */
export type PasswordSource =
  { kind: 'file'; path: string } | { kind: 'command'; command: string } | { kind: 'value'; password: string };

/**
 * The restic repository the imported jobs use. `configured`: whatever rbackup2 already has (a
 * `repositories` row with the Relica destination's id from an earlier import, or the
 * `repository_url` setting); the import fails if there is none. `new`: a `repositories` row with
 * the Relica destination's UUID as id, written (or updated) by the import.
 */
export type PlannedRepository =
  | { kind: 'configured'; destinationId: string | null }
  | { kind: 'new'; id: string; name: string; url: string; password: PasswordSource };

export interface PlannedSchedule {
  /** 5-field cron, device-local time (schedules.timezone NULL). */
  cron: string;
  /** Relica's "HH:MM" it came from. */
  timeOfDay: string;
  catchUp: boolean;
  /** Seeds schedules.last_run_at (ISO 8601) from Relica's last_backups_done; null = never. */
  lastRunAt: string | null;
}

export interface PlannedHook {
  command: string;
  timing: 'start' | 'end';
  onError: 'stop' | 'continue';
  /** Relica's description; rbackup2 has no column for it (reported as not carried over). */
  description: string | null;
}

export interface PlannedJob {
  /** Relica's backup UUID (lower case): backup_jobs.id, and the `backup:<uuid>` snapshot tag. */
  id: string;
  /** Relica's full name, e.g. `device1/Dokumenty`. */
  name: string;
  originName: string;
  originId: string;
  accountId: string | null;
  /** Relica's `include`, duplicates removed, each path exactly as written. */
  sourcePaths: string[];
  /** Relica's `exclude`, as written. */
  excludePatterns: string[];
  /** The job's own extra tags (none from Relica; the backup:/backup_name= tags are automatic). */
  tags: string[];
  /** Empty for `scheduled: false`. */
  schedules: PlannedSchedule[];
  hooks: PlannedHook[];
  /** Last successful Relica backup (ISO 8601) or null. */
  lastRunAt: string | null;
  /** The chosen destination's `retention_days` > 0 as `{keep_within: "<n>d"}`; null keeps everything. */
  retention: RetentionPolicy | null;
  /** Relica facts kept in backup_jobs.metadata -> 'relica' (nothing of the source is lost). */
  relica: {
    created: string | null;
    destinations: string[];
    schedule: RelicaSchedule;
    lastBackupsDone: Record<string, string>;
  };
}

export interface ImportPlan {
  /** The state file it was made from. */
  file: string;
  /** devices row: id = the Relica origin's UUID, name = the origin's name. */
  device: { id: string; name: string; platform: string | null };
  repository: PlannedRepository;
  jobs: PlannedJob[];
  /** Backups in the file that belong to other origins (left out). */
  skippedOtherOrigins: number;
  /** What the user must set up by hand (credentials, peers, retention...). */
  notCarriedOver: string[];
  /** JSON paths of fields the importer does not know (ignored, reported). */
  unknownFields: string[];
  warnings: string[];
}

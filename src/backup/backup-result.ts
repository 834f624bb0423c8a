/**
 * The in-memory result of one backup run: every field the `runs` row of CONTRACTS §3 needs, plus
 * what the UI shows (warnings, unreadable paths, hook results). Built by run-backup.ts.
 */
import type { RunStats } from '../run-stats.js';
import type { HookResult } from './hooks.js';
import type { ErrorKind, Outcome, RunStatus } from './outcome.js';
import type { ErrorItem, ParsedOutput } from '../restic/backup-output.js';

export interface BackupResult extends RunStats {
  jobId: string;
  status: RunStatus;
  errorKind: ErrorKind | null;
  /** restic's exit code of the last attempt; null when it did not run or died by a signal. */
  exitCode: number | null;
  errorMessage: string | null;
  /** ISO 8601 */
  startTime: string;
  endTime: string;
  /** seconds, whole run including hooks and lock handling */
  durationSeconds: number;
  /** As restic printed it (8 or 64 hex), or null (no snapshot, or 0.17+ skip-if-unchanged). */
  snapshotId: string | null;
  /** Bounded tail of restic's non-JSON output (runs.restic_output). */
  resticOutput: string;
  /** Error items, one per line, capped, with `… and N more` (runs.restic_errors). */
  resticErrors: string;
  errorItems: ErrorItem[];
  /** Total error items restic reported (kept + dropped). */
  errorCount: number;
  warnings: string[];
  unreadablePaths: string[];
  hooks: HookResult[];
  /** restic backup invocations (more than 1 after waiting for a lock). */
  attempts: number;
  resticVersion: string;
  /** The argv given to restic (no secrets ever appear in it). */
  args: string[];
  /** The --host the snapshot was written with (C29); absent when restic did not run. */
  resticHost?: string;
}

/** Text for runs.restic_errors: `item: message` lines plus `… and N more error items`. */
export function formatErrorItems(items: readonly ErrorItem[], total: number): string {
  const lines = items.map((e) => `${e.during ? `[${e.during}] ` : ''}${e.item ? `${e.item}: ` : ''}${e.message}`);
  if (total > items.length) lines.push(`… and ${total - items.length} more error items`);
  return lines.join('\n');
}

/** Text for runs.restic_output from the parser's bounded tail. */
export function formatOutputTail(parsed: ParsedOutput): string {
  const head = parsed.textDropped > 0 ? [`[${parsed.textDropped} earlier lines dropped]`] : [];
  return [...head, ...parsed.textTail].join('\n');
}

/** Merge an outcome and parsed output into the statistics part of a result. */
export function statsFrom(parsed: ParsedOutput | null, outcome: Outcome): RunStats & Pick<BackupResult, 'snapshotId'> {
  const s = parsed?.summary ?? null;
  const keepId = outcome.status === 'success' || outcome.status === 'partial';
  return {
    filesNew: s?.filesNew ?? null,
    filesChanged: s?.filesChanged ?? null,
    filesUnmodified: s?.filesUnmodified ?? null,
    dirsNew: s?.dirsNew ?? null,
    dirsChanged: s?.dirsChanged ?? null,
    dirsUnmodified: s?.dirsUnmodified ?? null,
    dataAddedBytes: s?.dataAdded ?? null,
    totalFilesProcessed: s?.totalFilesProcessed ?? null,
    totalBytesProcessed: s?.totalBytesProcessed ?? null,
    snapshotId: keepId ? (s?.snapshotId ?? null) : null,
  };
}

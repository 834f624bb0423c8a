/**
 * What the restore routes (routes-restore.ts, issue 17) need from the agent; src/agent/agent-restore.ts
 * implements it.
 */
import type { Readable } from 'node:stream';
import type { FolderEntry, RestoreRequest, SnapshotItem } from '../restore/restore-service.js';
import type { ResticError } from '../restic/errors.js';

export interface RestoreStarted {
  state: 'started' | 'queued';
  restore_id: string;
  /** The run's id once it started and was recorded; null while queued. */
  run_id: number | null;
  job_id: string;
  snapshot_id: string;
  paths: string[];
  target: string;
  files: number;
  /** bytes */
  total_bytes: number;
}

export interface DownloadHandle {
  filename: string;
  kind: 'file' | 'archive';
  /** bytes, for a file */
  size: number | null;
  stream: Readable;
  done: Promise<ResticError | null>;
  cancel(): void;
}

export interface RestorePort {
  snapshotList(jobId: string, refresh: boolean): Promise<{ snapshots: SnapshotItem[]; read_at: string }>;
  browse(
    jobId: string,
    snapshotId: string,
    path: string | undefined,
  ): Promise<{ entries: FolderEntry[] } & Record<string, unknown>>;
  startRestore(req: RestoreRequest): Promise<RestoreStarted>;
  download(jobId: string, snapshotId: string, path: string, archive: 'zip' | 'tar'): Promise<DownloadHandle>;
  /** Whether the UI should remind the owner to save the recovery kit (embedded database, not confirmed yet). */
  recoveryKitReminder(): Promise<{ remind: boolean; confirmed_at: string | null }>;
  /** The owner confirmed they saved the kit: the reminder stops. */
  confirmRecoveryKit(): Promise<{ remind: boolean; confirmed_at: string | null }>;
}

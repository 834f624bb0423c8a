/**
 * Where run records go. The run lifecycle only talks to this interface; DbRunStore writes straight
 * to the database, and the journal (src/runs/journal-run-store.ts) puts a durable local record in
 * front of it so a database outage loses nothing (C17).
 */
import type { Database, RunCompletion, RunOperation, TriggeredBy } from '../db/index.js';
// The query modules, not the db/index barrel: the barrel loads both drivers, and the one-shot
// `rbackup2 backup` on PostgreSQL must not load PGlite (issue 13).
import { completeRun, insertRunStarted } from '../db/queries/runs.js';
import { updateScheduleLastRun } from '../db/queries/schedules.js';

export interface RunStartRecord {
  /** The agent's own UUID for the run: makes every database write idempotent. */
  clientRunId: string;
  /** The job; null for a repository-level run (then repositoryId is set). */
  jobId: string | null;
  /** runs.operation; absent in journal entries written before issue 14 (= 'backup'). */
  operation?: RunOperation;
  /** runs.repository_id (non-backup operations). */
  repositoryId?: string | null;
  /** runs.restic_repository_id (migration 011): restic's id of the repository a maintenance run worked on. */
  resticRepositoryId?: string | null;
  deviceId: string;
  startTime: Date;
  triggeredBy: TriggeredBy;
  metadata: Record<string, unknown>;
  /** Who runs it (C33); written to runs.owner_*. */
  owner?: { host: string; pid: number; startedAt: string };
}

export interface RunFinishRecord {
  clientRunId: string;
  jobId: string | null;
  /** Absent = 'backup' (journal entries written before issue 14). */
  operation?: RunOperation;
  completion: RunCompletion;
  /** A backup's start time becomes schedules.last_run_at of its job (the scheduler counts from it). */
  startTime: Date;
}

export interface RunStore {
  /** Record a run as `running`; resolves with the database id, or null when it is not (yet) there. */
  started(r: RunStartRecord): Promise<number | null>;
  /** Record the outcome. Never throws for a database outage when a journal is in front. */
  finished(r: RunFinishRecord, startRecord: RunStartRecord, runId: number | null): Promise<number | null>;
}

/** Write run records straight to the database; errors propagate to the caller. */
export class DbRunStore implements RunStore {
  constructor(private readonly db: Database) {}

  async started(r: RunStartRecord): Promise<number | null> {
    return insertRunStarted(this.db, r);
  }

  async finished(r: RunFinishRecord, s: RunStartRecord, runId: number | null): Promise<number | null> {
    return this.db.transaction(async (tx) => {
      // A start that never reached the database is inserted now (idempotent per clientRunId).
      const id = runId ?? (await insertRunStarted(tx, s));
      await completeRun(tx, id, r.completion);
      // Only a backup moves the job's schedule: a forget or check of it is not a backup run.
      if ((r.operation ?? s.operation ?? 'backup') === 'backup' && r.jobId !== null)
        await updateScheduleLastRun(tx, r.jobId, r.startTime);
      return id;
    });
  }
}

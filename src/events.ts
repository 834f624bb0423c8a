/**
 * The agent's in-process event bus: run lifecycle and config reloads, consumed by the SSE stream
 * of the API and by metrics. Created once in the composition root (no module-level instance).
 */
import { EventEmitter } from 'node:events';
import type { ProgressEvent } from './restic/backup-output.js';
import type { RunOperation, RunStatus } from './db/queries/runs.js';

/** Live progress of a running backup, as the parser reports it (restic `status` lines). */
export type RunProgress = Omit<ProgressEvent, 'errorCount'>;

/** What every run event names: the run, its kind, and what it worked on. */
export interface RunEventBase {
  runId: number | null;
  /** runs.operation: backup, forget, prune, check, restore, unlock. */
  operation: RunOperation;
  /** The job; null for a repository-level run. */
  jobId: string | null;
  /** The job's name, or the repository's for a repository-level run. */
  jobName: string;
  /** runs.repository_id; null for backups and the settings repository. */
  repositoryId: string | null;
}

/**
 * The one way to observe a run (issue 14): the SSE stream, the metrics and later the notifications
 * subscribe to these; the run lifecycle (src/runs/run-lifecycle.ts) is the only publisher.
 */
export interface AgentEvents {
  'run.started': RunEventBase & { triggeredBy: string; startTime: string };
  'run.progress': RunEventBase & { progress: RunProgress };
  /** After the outcome is recorded (or journalled): the outcome, its error and the figures metrics need. */
  'run.finished': RunEventBase & {
    triggeredBy: string;
    status: Exclude<RunStatus, 'running'>;
    /** ISO 8601. */
    endTime: string;
    durationSeconds: number;
    snapshotId: string | null;
    exitCode: number | null;
    errorMessage: string | null;
    /** A short machine-readable reason (backup: error kind such as `empty_source`), or null. */
    errorKind: string | null;
    totalFilesProcessed: number | null;
    dataAddedBytes: number | null;
  };
  'config.reloaded': { changes: string[]; loadedAt: string };
}

export type AgentEventName = keyof AgentEvents;

/** A typed wrapper over EventEmitter; `on` returns the function that removes the listener. */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor(maxListeners = 100) {
    this.emitter.setMaxListeners(maxListeners);
  }

  emit<K extends AgentEventName>(name: K, payload: AgentEvents[K]): void {
    this.emitter.emit(name, payload);
  }

  on<K extends AgentEventName>(name: K, listener: (payload: AgentEvents[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  /** Listener count over all events (tests check SSE streams leave none behind, C22). */
  listenerCount(): number {
    return this.emitter.eventNames().reduce((n, e) => n + this.emitter.listenerCount(e), 0);
  }
}

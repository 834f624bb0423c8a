/**
 * The agent's in-process event bus: run lifecycle and config reloads, consumed by the SSE stream
 * of the API and by metrics. Created once in the composition root (no module-level instance).
 */
import { EventEmitter } from 'node:events';
import type { ProgressEvent } from './backup/output-parser.js';

/** Live progress of a running backup, as the parser reports it (restic `status` lines). */
export type RunProgress = Omit<ProgressEvent, 'errorCount'>;

export interface AgentEvents {
  'run.started': { runId: number | null; jobId: string; jobName: string; triggeredBy: string; startTime: string };
  'run.progress': { runId: number | null; jobId: string; progress: RunProgress };
  'run.finished': { runId: number | null; jobId: string; jobName: string; status: string; snapshotId: string | null; durationSeconds: number };
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

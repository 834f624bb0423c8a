/**
 * The device's run queue (C12): at most `maxConcurrent` runs at once, never two runs of one job
 * (running or pending), manual triggers ahead of scheduled ones, bounded. Pure bookkeeping: the
 * scheduler asks it what may start and tells it when a run ends; nothing here executes.
 */
import { AppError } from '../errors.js';
import type { TriggeredBy } from './types.js';

/** A requested run of one job. */
export interface RunRequest {
  jobId: string;
  triggeredBy: TriggeredBy;
  scheduleId: number | null;
  /** True when this run retries a failed one (see retry.ts). */
  retry?: boolean;
}

/** What became of a request. `position` is 1-based among pending runs. */
export type OfferResult =
  | { state: 'queued'; position: number }
  | { state: 'already_running' }
  | { state: 'already_queued'; position: number };

/** Most pending runs kept; one per job already bounds it, this guards a runaway config. */
export const DEFAULT_MAX_PENDING = 1000;

function priority(r: RunRequest): number {
  return r.triggeredBy === 'manual' ? 0 : 1;
}

export class RunQueue {
  private readonly pending: RunRequest[] = [];
  private readonly runningJobs = new Map<string, RunRequest>();
  private maxConcurrent: number;
  private readonly maxPending: number;

  /** `maxConcurrent` is the `max_concurrent_backups` setting (>= 1). */
  constructor(opts: { maxConcurrent: number; maxPending?: number }) {
    this.maxConcurrent = Math.max(1, Math.floor(opts.maxConcurrent));
    this.maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING;
  }

  /** Changes the concurrency limit; running runs are never stopped, only fewer start. */
  setMaxConcurrent(n: number): void {
    this.maxConcurrent = Math.max(1, Math.floor(n));
  }

  /** The current concurrency limit. */
  get limit(): number {
    return this.maxConcurrent;
  }

  /**
   * Adds a run request. A job already running gives 'already_running' (nothing queued); a job
   * already pending gives 'already_queued' (coalesced; a manual trigger moves a pending
   * scheduled run ahead, among the manual ones). Throws AppError CONFLICT when the queue is full.
   */
  offer(req: RunRequest): OfferResult {
    if (this.runningJobs.has(req.jobId)) return { state: 'already_running' };
    const idx = this.pending.findIndex((p) => p.jobId === req.jobId);
    if (idx >= 0) {
      const existing = this.pending[idx] as RunRequest;
      if (priority(req) < priority(existing)) {
        this.pending.splice(idx, 1);
        this.insert({ ...existing, triggeredBy: req.triggeredBy, scheduleId: req.scheduleId, retry: false });
      }
      return { state: 'already_queued', position: this.positionOf(req.jobId) ?? 0 };
    }
    if (this.pending.length >= this.maxPending) {
      throw new AppError('CONFLICT', `run queue is full (${this.maxPending} pending runs)`);
    }
    this.insert({ ...req });
    return { state: 'queued', position: this.positionOf(req.jobId) ?? 0 };
  }

  private insert(req: RunRequest): void {
    const p = priority(req);
    let at = this.pending.findIndex((q) => priority(q) > p);
    if (at < 0) at = this.pending.length;
    this.pending.splice(at, 0, req);
  }

  /**
   * Moves pending runs to running while fewer than `maxConcurrent` run, in queue order, and
   * returns the ones to start now. A pending job that is somehow running is skipped.
   */
  takeStartable(): RunRequest[] {
    const out: RunRequest[] = [];
    while (this.runningJobs.size < this.maxConcurrent) {
      const i = this.pending.findIndex((p) => !this.runningJobs.has(p.jobId));
      if (i < 0) break;
      const [next] = this.pending.splice(i, 1);
      if (!next) break;
      this.runningJobs.set(next.jobId, next);
      out.push(next);
    }
    return out;
  }

  /** Marks the job's run as ended (success or not); returns false if it was not running. */
  finish(jobId: string): boolean {
    return this.runningJobs.delete(jobId);
  }

  /** Drops the job's pending run (job removed or disabled); returns true when one was dropped. */
  dropPending(jobId: string): boolean {
    const i = this.pending.findIndex((p) => p.jobId === jobId);
    if (i < 0) return false;
    this.pending.splice(i, 1);
    return true;
  }

  /** Drops every pending run (agent stopping); returns how many were dropped. */
  clearPending(): number {
    return this.pending.splice(0).length;
  }

  /** 1-based position of the job's pending run, or null. */
  positionOf(jobId: string): number | null {
    const i = this.pending.findIndex((p) => p.jobId === jobId);
    return i < 0 ? null : i + 1;
  }

  /** The request the job is running under, or null. */
  runningRequest(jobId: string): RunRequest | null {
    return this.runningJobs.get(jobId) ?? null;
  }

  isRunning(jobId: string): boolean {
    return this.runningJobs.has(jobId);
  }

  /** Number of runs in progress. */
  get runningCount(): number {
    return this.runningJobs.size;
  }

  /** Copies of the pending requests, in the order they will start. */
  pendingRequests(): RunRequest[] {
    return this.pending.map((p) => ({ ...p }));
  }
}

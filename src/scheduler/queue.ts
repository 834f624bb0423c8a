/**
 * The device's task queue (C12, issue 14): every task of this agent (a backup, a forget, a prune,
 * a check, a restore, an unlock) waits here until it may start. Rules:
 * - at most `maxConcurrent` backups at once (`max_concurrent_backups`);
 * - never two tasks with one key (a backup's key is its job id), running or pending;
 * - an exclusive task (prune, check, forget, unlock: restic takes an exclusive repository lock for
 *   them) never runs beside a backup or another exclusive task on the same repository; a pending
 *   exclusive task holds back later backups of its repository so a stream of backups cannot
 *   starve it;
 * - other non-backup tasks (restore) run beside backups, at most `maxConcurrent` of them, but never
 *   beside (or ahead of a pending) exclusive task of their repository (issue 17);
 * - manual triggers ahead of scheduled ones; bounded (`maxPending`).
 * Pure bookkeeping: the scheduler asks it what may start and tells it when a task ends; nothing
 * here executes.
 */
import { AppError } from '../errors.js';
import type { RunOperation } from '../db/queries/runs.js';
import type { TriggeredBy } from './types.js';

/** The operations that need restic's exclusive repository lock (restic docs: "forget", "prune", "check", "unlock"). */
export const EXCLUSIVE_OPERATIONS: ReadonlySet<RunOperation> = new Set(['forget', 'prune', 'check', 'unlock']);

/** A requested task. A backup request needs only `jobId`, `triggeredBy`, `scheduleId`. */
export interface TaskRequest<T = unknown> {
  /** One task per key at a time; default the job id (a backup). */
  key?: string;
  /** The job; null for a repository-level task. */
  jobId: string | null;
  /** Default 'backup'. */
  kind?: RunOperation;
  /** What identifies the repository (see repositoryKey in src/tasks/task.ts); default: the job's own. */
  repository?: string;
  triggeredBy: TriggeredBy;
  scheduleId: number | null;
  /** True when this run retries a failed one (see retry.ts). */
  retry?: boolean;
  /** What the scheduler runs for a non-backup task (opaque here). */
  payload?: T;
}

/** A backup request (the scheduler's own). */
export type RunRequest = TaskRequest;

/** What became of a request. `position` is 1-based among pending tasks. */
export type OfferResult =
  { state: 'queued'; position: number } | { state: 'already_running' } | { state: 'already_queued'; position: number };

/** Most pending tasks kept; one per key already bounds backups, this guards a runaway config or caller. */
export const DEFAULT_MAX_PENDING = 1000;

interface Entry<T> extends TaskRequest<T> {
  key: string;
  kind: RunOperation;
  repository: string;
}

function priority(r: TaskRequest): number {
  return r.triggeredBy === 'manual' ? 0 : 1;
}

function normalise<T>(r: TaskRequest<T>): Entry<T> {
  const key = r.key ?? r.jobId;
  if (!key) throw new AppError('INVALID_INPUT', 'a task request needs a key or a job id');
  return { ...r, key, kind: r.kind ?? 'backup', repository: r.repository ?? `job:${key}` };
}

export class TaskQueue<T = unknown> {
  private readonly pending: Entry<T>[] = [];
  private readonly running = new Map<string, Entry<T>>();
  private maxConcurrent: number;
  private readonly maxPending: number;

  /** `maxConcurrent` is the `max_concurrent_backups` setting (>= 1). */
  constructor(opts: { maxConcurrent: number; maxPending?: number }) {
    this.maxConcurrent = Math.max(1, Math.floor(opts.maxConcurrent));
    this.maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING;
  }

  /** Changes the concurrency limit; running tasks are never stopped, only fewer start. */
  setMaxConcurrent(n: number): void {
    this.maxConcurrent = Math.max(1, Math.floor(n));
  }

  /** The current concurrency limit of backups. */
  get limit(): number {
    return this.maxConcurrent;
  }

  /**
   * Adds a request. A key already running gives 'already_running' (nothing queued); a key already
   * pending gives 'already_queued' (coalesced; a manual trigger moves a pending scheduled one
   * ahead, among the manual ones). Throws AppError CONFLICT when the queue is full.
   */
  offer(request: TaskRequest<T>): OfferResult {
    const req = normalise(request);
    if (this.running.has(req.key)) return { state: 'already_running' };
    const idx = this.pending.findIndex((p) => p.key === req.key);
    if (idx >= 0) {
      const existing = this.pending[idx] as Entry<T>;
      if (priority(req) < priority(existing)) {
        this.pending.splice(idx, 1);
        this.insert({ ...existing, triggeredBy: req.triggeredBy, scheduleId: req.scheduleId, retry: false });
      }
      return { state: 'already_queued', position: this.positionOf(req.key) ?? 0 };
    }
    if (this.pending.length >= this.maxPending) {
      throw new AppError('CONFLICT', `task queue is full (${this.maxPending} pending tasks)`);
    }
    this.insert(req);
    return { state: 'queued', position: this.positionOf(req.key) ?? 0 };
  }

  private insert(req: Entry<T>): void {
    const p = priority(req);
    let at = this.pending.findIndex((q) => priority(q) > p);
    if (at < 0) at = this.pending.length;
    this.pending.splice(at, 0, req);
  }

  private count(pred: (e: Entry<T>) => boolean): number {
    let n = 0;
    for (const e of this.running.values()) if (pred(e)) n++;
    return n;
  }

  /**
   * Moves pending tasks to running, in queue order, while the rules allow (see the module doc),
   * and returns the ones to start now. A task that may not start yet keeps its place; one behind
   * it on another repository may start.
   */
  takeStartable(): TaskRequest<T>[] {
    const out: Entry<T>[] = [];
    /** Repositories a pending exclusive task waits for: later backups of them wait too. */
    const reserved = new Set<string>();
    for (let i = 0; i < this.pending.length;) {
      const e = this.pending[i] as Entry<T>;
      if (this.mayStart(e, reserved)) {
        this.pending.splice(i, 1);
        this.running.set(e.key, e);
        out.push(e);
        continue;
      }
      if (EXCLUSIVE_OPERATIONS.has(e.kind)) reserved.add(e.repository);
      i++;
    }
    return out.map((e) => ({ ...e }));
  }

  private mayStart(e: Entry<T>, reserved: ReadonlySet<string>): boolean {
    if (this.running.has(e.key)) return false;
    const sameRepo = (r: Entry<T>) => r.repository === e.repository;
    // An exclusive task waits for everything on its repository (backups, restores: restic's
    // non-exclusive locks), and everything on a repository waits for its exclusive task.
    if (EXCLUSIVE_OPERATIONS.has(e.kind)) return this.count(sameRepo) === 0;
    if (e.kind === 'backup')
      return (
        !reserved.has(e.repository) &&
        this.count((r) => r.kind === 'backup') < this.maxConcurrent &&
        this.count((r) => sameRepo(r) && EXCLUSIVE_OPERATIONS.has(r.kind)) === 0
      );
    return (
      !reserved.has(e.repository) &&
      this.count((r) => sameRepo(r) && EXCLUSIVE_OPERATIONS.has(r.kind)) === 0 &&
      this.count((r) => r.kind === e.kind) < this.maxConcurrent
    );
  }

  /** Marks the task with `key` as ended (success or not); returns false if it was not running. */
  finish(key: string): boolean {
    return this.running.delete(key);
  }

  /** Drops the pending task with `key` (job removed or disabled); returns true when one was dropped. */
  dropPending(key: string): boolean {
    const i = this.pending.findIndex((p) => p.key === key);
    if (i < 0) return false;
    this.pending.splice(i, 1);
    return true;
  }

  /** Drops every pending task (agent stopping); returns how many were dropped. */
  clearPending(): number {
    return this.pending.splice(0).length;
  }

  /** 1-based position of the pending task with `key`, or null. */
  positionOf(key: string): number | null {
    const i = this.pending.findIndex((p) => p.key === key);
    return i < 0 ? null : i + 1;
  }

  /** The request the task with `key` runs under, or null. */
  runningRequest(key: string): TaskRequest<T> | null {
    return this.running.get(key) ?? null;
  }

  isRunning(key: string): boolean {
    return this.running.has(key);
  }

  /** Number of tasks in progress (every kind). */
  get runningCount(): number {
    return this.running.size;
  }

  /** Copies of the running requests. */
  runningRequests(): TaskRequest<T>[] {
    return [...this.running.values()].map((p) => ({ ...p }));
  }

  /** Copies of the pending requests, in queue order. */
  pendingRequests(): TaskRequest<T>[] {
    return this.pending.map((p) => ({ ...p }));
  }
}

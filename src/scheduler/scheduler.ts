/**
 * The scheduler: keeps each job's due times from the device config, wakes up when one is due
 * (every timer delay capped at `maxTimerDelayMs`, 60 s by default, so a wall-clock jump is
 * noticed within a minute: C09), starts runs through the injected `execute` via the bounded run
 * queue (C12), owes one catch-up run per job after a sleep or downtime (C08), and retries failed
 * automatic runs (retry.ts). Time comes only from the injected Clock.
 */
import { MAX_TIMER_DELAY_MS, type Clock } from '../clock.js';
import { agentSettings, type AgentSettings, type DeviceConfig, type JobConfig } from '../config/device-config.js';
import { AppError, errorMessage } from '../errors.js';
import {
  computeDue,
  configLastRunAt,
  dueAfterBackwardJump,
  initialDue,
  newJobState,
  nextRegularDue,
  type JobState,
  type ScheduleState,
} from './job-state.js';
import { decideJobRun } from './missed.js';
import { TaskQueue, type TaskRequest } from './queue.js';
import { repositoryKey, type Task } from '../tasks/task.js';
import type { ScheduledTask } from './scheduled-task.js';
import { buildStatus, type JobScheduleStatus } from './status.js';
import { sameScheduleTiming } from '../config/config-diff.js';
import { retryDecision } from './retry.js';
import { silentLogger, type ExecuteFn, type SchedulerLogger, type TriggeredBy } from './types.js';
import { wallClockJump, type ClockReading } from './wall-clock.js';

export type { JobScheduleStatus } from './status.js';

export interface SchedulerOptions {
  clock: Clock;
  /** The device's IANA zone, for schedules whose timezone is null. */
  localZone: string;
  execute: ExecuteFn;
  /** Called whenever a schedule's next due time changes (to store schedules.next_run_at). */
  onNextRunComputed?: (scheduleId: number, nextRunAt: Date | null) => void;
  logger?: SchedulerLogger;
  /** Longest single timer delay (ms), default 60 000; always capped below 2^31-1. */
  maxTimerDelayMs?: number;
  /**
   * Runs a task of any kind other than the job backups above (forget, prune, check...) and
   * resolves when it has ended and been recorded (the agent: RunLifecycle.run). Without it
   * `enqueue` refuses.
   */
  runTask?: (task: Task) => Promise<{ status: string }>;
}

type RunRequest = TaskRequest<Task>;

/** Answer to a trigger; `position` is 1-based in the queue (0 when started). */
export type TriggerResult =
  | { state: 'started' | 'queued'; position: number }
  | { state: 'already_running' }
  | { state: 'already_queued'; position: number };

export class Scheduler {
  private readonly clock: Clock;
  private readonly localZone: string;
  private readonly execute: ExecuteFn;
  private readonly onNextRun: (scheduleId: number, nextRunAt: Date | null) => void;
  private readonly log: SchedulerLogger;
  private readonly maxDelay: number;
  private readonly jobs = new Map<string, JobState>();
  private readonly queue = new TaskQueue<Task>({ maxConcurrent: 1 });
  private readonly runTask: ((task: Task) => Promise<{ status: string }>) | null;
  /** Tasks other than job backups that come back on their own (see scheduled-task.ts), by id. */
  private readonly scheduledTasks = new Map<string, { task: ScheduledTask; dueAt: number | null }>();
  private readonly running = new Map<string, Promise<void>>();
  private settings: AgentSettings = agentSettings({});
  private config: DeviceConfig | null = null;
  private started = false;
  private stopping = false;
  private cancelTimer: (() => void) | null = null;
  private lastTick: ClockReading | null = null;
  private zeroDelays = 0;

  constructor(opts: SchedulerOptions) {
    this.clock = opts.clock;
    this.localZone = opts.localZone;
    this.execute = opts.execute;
    this.runTask = opts.runTask ?? null;
    const notify = opts.onNextRunComputed ?? (() => undefined);
    this.onNextRun = (id, at) => {
      try {
        notify(id, at);
      } catch (err) {
        this.log.error({ scheduleId: id, err: errorMessage(err) }, 'onNextRunComputed failed');
      }
    };
    this.log = opts.logger ?? silentLogger;
    this.maxDelay = Math.min(Math.max(1, opts.maxTimerDelayMs ?? 60_000), MAX_TIMER_DELAY_MS);
  }

  /** Loads the first config (same as reload). */
  load(config: DeviceConfig): void {
    this.reload(config);
  }

  /**
   * Applies a new config in place. What changed is computed once, by the config sync that read it
   * (src/config/config-diff.ts, logged and published there); here schedules are matched by id and
   * timing (sameScheduleTiming). Unchanged schedules keep
   * their due times; added or changed schedules of a known job count from now (no catch-up); a
   * job new to the scheduler counts from its last run (so it may owe one catch-up). A running
   * backup finishes on the definition it started with; a removed or disabled job's pending run is
   * dropped; `max_concurrent_backups` applies to runs started from now on.
   */
  reload(config: DeviceConfig): void {
    const now = this.clock.now();
    this.settings = agentSettings(config.settings);
    this.queue.setMaxConcurrent(this.settings.maxConcurrentBackups);
    const ids = new Set(config.jobs.map((j) => j.id));
    for (const [id, state] of this.jobs) {
      if (ids.has(id)) continue;
      if (this.queue.dropPending(id)) this.log.info({ jobId: id }, 'pending run dropped: job removed');
      for (const ss of state.schedules.values()) if (ss.dueAt !== null) this.onNextRun(ss.schedule.id, null);
      this.jobs.delete(id);
    }
    for (const job of config.jobs) this.applyJob(job, now);
    this.config = config;
    this.pump();
    this.rearm();
  }

  private applyJob(job: JobConfig, now: number): void {
    let state = this.jobs.get(job.id);
    const isNew = !state;
    const wasEnabled = state ? state.job.enabled : job.enabled;
    if (!state) {
      state = newJobState(job);
      this.jobs.set(job.id, state);
    }
    state.job = job;
    const fromConfig = configLastRunAt(job);
    if (fromConfig !== null && (state.lastRunAt === null || fromConfig > state.lastRunAt)) state.lastRunAt = fromConfig;
    if (!job.enabled && this.queue.dropPending(job.id))
      this.log.info({ jobId: job.id }, 'pending run dropped: job disabled');
    if (!job.enabled) state.retry.retryAt = null;
    const old = state.schedules;
    state.schedules = new Map();
    for (const s of job.schedules) {
      const prev = old.get(s.id);
      old.delete(s.id);
      let next: { dueAt: number | null; error: string | null };
      if (prev && sameScheduleTiming(prev.schedule, s) && wasEnabled === job.enabled) {
        next = { dueAt: prev.dueAt, error: prev.error };
      } else if (isNew) {
        next = initialDue(job, s, state.lastRunAt, now, this.localZone);
      } else {
        next = computeDue(job, s, now, state.lastRunAt, this.localZone);
      }
      if (next.error) this.log.warn({ jobId: job.id, scheduleId: s.id }, next.error);
      state.schedules.set(s.id, { schedule: s, dueAt: null, error: next.error });
      this.setDue(state, s.id, next.dueAt, prev?.dueAt ?? null);
    }
    for (const gone of old.values()) if (gone.dueAt !== null) this.onNextRun(gone.schedule.id, null);
  }

  private setDue(state: JobState, scheduleId: number, dueAt: number | null, previous: number | null): void {
    const ss = state.schedules.get(scheduleId);
    if (!ss) return;
    ss.dueAt = dueAt;
    if (dueAt !== previous) this.onNextRun(scheduleId, dueAt === null ? null : new Date(dueAt));
  }

  /**
   * Asks for a run of `jobId` now (manual: ahead of scheduled runs; 'missed': the one catch-up
   * after an interrupted run, C07). A job already running or queued is not queued twice.
   * Throws AppError NOT_FOUND for an unknown job, CONFLICT while stopping or when the queue is full.
   */
  trigger(jobId: string, triggeredBy: 'manual' | 'missed' = 'manual'): TriggerResult {
    if (this.stopping) throw new AppError('CONFLICT', 'the agent is stopping; no new backups start');
    const state = this.jobs.get(jobId);
    if (!state) throw new AppError('NOT_FOUND', `job ${jobId} not found`);
    const res = this.queue.offer({
      jobId,
      repository: repositoryKey(state.job.repository, jobId),
      triggeredBy,
      scheduleId: null,
    });
    if (res.state !== 'queued') return res;
    this.pump();
    if (this.queue.isRunning(jobId)) return { state: 'started', position: 0 };
    return { state: 'queued', position: this.queue.positionOf(jobId) ?? res.position };
  }

  /**
   * Asks for a task of any kind (a forget, a prune, a check...) through the same queue as the
   * backups: it starts when the queue's rules allow (an exclusive task never beside a backup or
   * another exclusive task of its repository). A task whose key is already running or queued is
   * not queued twice. Throws AppError CONFLICT while stopping, when the queue is full, or when no
   * runTask was given.
   */
  enqueue(task: Task): TriggerResult {
    if (this.stopping) throw new AppError('CONFLICT', 'the agent is stopping; no new tasks start');
    if (!this.runTask) throw new AppError('CONFLICT', `this scheduler cannot run ${task.kind} tasks`);
    if (task.kind === 'backup' && task.job && this.jobs.has(task.job.id)) return this.trigger(task.job.id, 'manual');
    const res = this.queue.offer(this.requestOf(task, task.triggeredBy));
    if (res.state !== 'queued') return res;
    this.pump();
    if (this.queue.isRunning(task.key)) return { state: 'started', position: 0 };
    return { state: 'queued', position: this.queue.positionOf(task.key) ?? res.position };
  }

  private requestOf(task: Task, triggeredBy: TriggeredBy): RunRequest {
    return {
      key: task.key,
      jobId: task.job?.id ?? null,
      kind: task.kind,
      repository: task.repository,
      triggeredBy,
      scheduleId: null,
      payload: task,
    };
  }

  /**
   * Adds (or replaces, by id) a task that says itself when it is next due; each time it is due the
   * scheduler builds its Task and queues it. Issue 18's maintenance schedules come in this way.
   */
  addScheduledTask(st: ScheduledTask): void {
    this.scheduledTasks.set(st.id, { task: st, dueAt: st.nextDue(this.clock.now(), null) });
    this.rearm();
  }

  /** Removes a scheduled task (its pending run, if any, is dropped); false when unknown. */
  removeScheduledTask(id: string): boolean {
    const entry = this.scheduledTasks.get(id);
    if (!entry) return false;
    this.scheduledTasks.delete(id);
    this.rearm();
    return true;
  }

  /** Next due time of a scheduled task, or null (unknown, or not due again). */
  scheduledTaskDue(id: string): Date | null {
    const at = this.scheduledTasks.get(id)?.dueAt ?? null;
    return at === null ? null : new Date(at);
  }

  /** Starts scheduling: runs owed catch-ups and due runs, then arms the timer. */
  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    this.tick();
  }

  /**
   * Stops starting runs (pending ones are dropped, timers cancelled) and resolves when the runs
   * in progress have ended; cancelling them is the caller's job (executor, C07).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    const dropped = this.queue.clearPending();
    if (dropped > 0) this.log.info({ dropped }, 'pending runs dropped: agent stopping');
    await Promise.all([...this.running.values()]);
  }

  /** Per job: next run, running, queued, retry, schedule errors; sorted by job name. */
  status(): JobScheduleStatus[] {
    return buildStatus(this.jobs.values(), this.queue);
  }

  private tick(): void {
    if (!this.started || this.stopping) return;
    const now = this.clock.now();
    const reading = { wall: now, mono: this.clock.monotonic() };
    const jump = this.lastTick ? wallClockJump(this.lastTick, reading) : 0;
    this.lastTick = reading;
    if (jump !== 0) {
      this.log.warn({ jumpSeconds: Math.round(jump / 1000) }, 'wall clock jumped; checking for missed runs');
      if (jump < 0) this.afterBackwardJump(now);
    }
    const grace = this.settings.missedRunGraceSeconds;
    for (const state of this.jobs.values()) this.tickJob(state, now, grace);
    this.tickScheduledTasks(now);
    this.pump();
    this.rearm();
  }

  private tickJob(state: JobState, now: number, grace: number): void {
    const entries = [...state.schedules.values()].map((s) => ({
      scheduleId: s.schedule.id,
      dueAt: s.dueAt,
      catchUp: s.schedule.catchUp,
    }));
    const decision = decideJobRun(entries, now, grace);
    for (const id of decision.passed) {
      const ss = state.schedules.get(id) as ScheduleState;
      // Counted from now when the job never ran, so an interval never run is not due again at once.
      const next = computeDue(state.job, ss.schedule, now, state.lastRunAt ?? now, this.localZone);
      ss.error = next.error;
      this.setDue(state, id, next.dueAt, ss.dueAt);
    }
    let req: RunRequest | null = null;
    if (decision.run) {
      req = {
        jobId: state.job.id,
        repository: repositoryKey(state.job.repository, state.job.id),
        triggeredBy: decision.run.triggeredBy,
        scheduleId: decision.run.scheduleId,
      };
      state.retry.retryAt = null;
    } else if (decision.passed.length > 0) {
      this.log.info({ jobId: state.job.id }, 'missed run not caught up: catch_up is off');
    } else if (state.retry.retryAt !== null && state.retry.retryAt <= now) {
      req = {
        jobId: state.job.id,
        repository: repositoryKey(state.job.repository, state.job.id),
        triggeredBy: state.retry.triggeredBy,
        scheduleId: state.retry.scheduleId,
        retry: true,
      };
      state.retry.retryAt = null;
    }
    if (!req) return;
    try {
      const res = this.queue.offer(req);
      if (res.state !== 'queued')
        this.log.info({ jobId: req.jobId, state: res.state }, 'due run coalesced: job already running or queued');
    } catch (err) {
      this.log.error({ jobId: req.jobId, err: errorMessage(err) }, 'due run not queued');
    }
  }

  private tickScheduledTasks(now: number): void {
    for (const [id, entry] of this.scheduledTasks) {
      if (entry.dueAt === null || entry.dueAt > now) continue;
      entry.dueAt = entry.task.nextDue(now, now);
      try {
        const res = this.queue.offer(this.requestOf(entry.task.create('schedule'), 'schedule'));
        if (res.state !== 'queued') this.log.info({ task: id, state: res.state }, 'due task coalesced');
      } catch (err) {
        this.log.error({ task: id, err: errorMessage(err) }, 'due task not queued');
      }
    }
  }

  private afterBackwardJump(now: number): void {
    for (const state of this.jobs.values()) {
      for (const ss of state.schedules.values()) {
        const next = dueAfterBackwardJump(state.job, ss.schedule, state.lastRunAt, now, this.localZone);
        ss.error = next.error;
        this.setDue(state, ss.schedule.id, next.dueAt, ss.dueAt);
      }
      const r = state.retry;
      if (r.retryAt !== null) r.retryAt = Math.min(r.retryAt, now + this.settings.retryDelaySeconds * 1000);
    }
  }

  private rearm(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    if (!this.started || this.stopping) return;
    let next: number | null = null;
    for (const state of this.jobs.values()) {
      for (const t of [nextRegularDue(state), state.retry.retryAt])
        if (t !== null && (next === null || t < next)) next = t;
    }
    for (const { dueAt } of this.scheduledTasks.values())
      if (dueAt !== null && (next === null || dueAt < next)) next = dueAt;
    const now = this.clock.now();
    let delay = next === null ? this.maxDelay : Math.min(this.maxDelay, Math.max(0, Math.ceil(next - now)));
    // Guard against a due time that stays in the past (a bug): never spin, re-check each second.
    this.zeroDelays = delay === 0 ? this.zeroDelays + 1 : 0;
    if (this.zeroDelays > 100) {
      if (this.zeroDelays === 101)
        this.log.error({}, 'scheduler: a due time stays in the past; checking once a second');
      delay = 1000;
    }
    this.cancelTimer = this.clock.setTimer(() => {
      this.cancelTimer = null;
      this.tick();
    }, delay);
  }

  private pump(): void {
    if (!this.started || this.stopping) return;
    for (const req of this.queue.takeStartable()) this.startRun(req);
  }

  private startTask(req: RunRequest, task: Task): void {
    const key = task.key;
    this.log.info({ task: key, operation: task.kind, triggeredBy: req.triggeredBy }, `${task.kind} starting`);
    const done = (async () => {
      try {
        await (this.runTask as (t: Task) => Promise<{ status: string }>)(task);
      } catch (err) {
        this.log.error({ task: key, err: errorMessage(err) }, 'task executor threw');
      }
      this.queue.finish(key);
      this.running.delete(key);
      this.pump();
      this.rearm();
    })();
    this.running.set(key, done);
  }

  private startRun(req: RunRequest): void {
    if (req.payload && req.kind !== undefined && req.kind !== 'backup') {
      this.startTask(req, req.payload);
      return;
    }
    const state = req.jobId ? this.jobs.get(req.jobId) : undefined;
    if (!state) {
      this.queue.finish(req.key ?? req.jobId ?? '');
      return;
    }
    const job = state.job;
    const startedAt = this.clock.now();
    state.lastRunAt = startedAt;
    state.runningSince = startedAt;
    if (req.retry) state.retry.attemptsMade += 1;
    else if (req.triggeredBy !== 'manual')
      state.retry = { attemptsMade: 0, retryAt: null, triggeredBy: req.triggeredBy, scheduleId: req.scheduleId };
    for (const ss of state.schedules.values()) {
      if (ss.schedule.type !== 'interval') continue;
      const next = computeDue(job, ss.schedule, startedAt, startedAt, this.localZone);
      this.setDue(state, ss.schedule.id, next.dueAt, ss.dueAt);
    }
    this.log.info(
      { jobId: job.id, jobName: job.name, triggeredBy: req.triggeredBy, scheduleId: req.scheduleId },
      'backup starting',
    );
    const done = (async () => {
      let status = 'failed';
      try {
        status = (await this.execute(job, req.triggeredBy, req.scheduleId)).status;
      } catch (err) {
        this.log.error({ jobId: job.id, err: errorMessage(err) }, 'backup executor threw');
      }
      this.finishRun(req, status);
    })();
    this.running.set(job.id, done);
  }

  private finishRun(req: RunRequest, status: string): void {
    const jobId = req.jobId ?? '';
    this.queue.finish(jobId);
    this.running.delete(jobId);
    const state = this.jobs.get(jobId);
    if (state) {
      state.runningSince = null;
      if (!this.stopping && (req.triggeredBy !== 'manual' || status === 'success' || status === 'partial')) {
        this.applyRetry(state, status);
      }
    }
    this.pump();
    this.rearm();
  }

  private applyRetry(state: JobState, status: string): void {
    const d = retryDecision({
      status,
      attemptsMade: state.retry.attemptsMade,
      finishedAt: this.clock.now(),
      nextRegularRunAt: nextRegularDue(state),
      retryDelaySeconds: this.settings.retryDelaySeconds,
      retryMaxAttempts: this.settings.retryMaxAttempts,
    });
    if (d.action === 'reset') state.retry = { ...state.retry, attemptsMade: 0, retryAt: null };
    else if (d.action === 'retry') {
      state.retry.retryAt = d.retryAt;
      this.log.info(
        { jobId: state.job.id, attempt: d.attempt, retryAt: new Date(d.retryAt).toISOString() },
        'backup will be retried',
      );
    } else {
      state.retry.retryAt = null;
      this.log.info({ jobId: state.job.id, status }, `no retry: ${d.reason}`);
    }
  }
}

/**
 * The scheduler: keeps each job's due times from the device config, wakes up when one is due
 * (every timer delay capped at `maxTimerDelayMs`, 60 s by default, so a wall-clock jump is
 * noticed within a minute: C09), starts runs through the injected `execute` via the bounded run
 * queue (C12), owes one catch-up run per job after a sleep or downtime (C08), and retries failed
 * automatic runs (retry.ts). Time comes only from the injected Clock.
 */
import type { Clock } from '../clock.js';
import { agentSettings, type AgentSettings, type DeviceConfig, type JobConfig } from '../config/device-config.js';
import { AppError, errorMessage } from '../errors.js';
import {
  computeDue, configLastRunAt, dueAfterBackwardJump, initialDue, newJobState, nextRegularDue,
  type JobState, type ScheduleState,
} from './job-state.js';
import { decideJobRun } from './missed.js';
import { RunQueue, type RunRequest } from './queue.js';
import { buildStatus, type JobScheduleStatus } from './status.js';
import { diffDeviceConfig, sameScheduleTiming, type ConfigChange } from './reload-diff.js';
import { retryDecision } from './retry.js';
import { silentLogger, type ExecuteFn, type SchedulerLogger } from './types.js';
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
}

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
  private readonly queue = new RunQueue({ maxConcurrent: 1 });
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
    const notify = opts.onNextRunComputed ?? (() => undefined);
    this.onNextRun = (id, at) => {
      try {
        notify(id, at);
      } catch (err) {
        this.log.error({ scheduleId: id, err: errorMessage(err) }, 'onNextRunComputed failed');
      }
    };
    this.log = opts.logger ?? silentLogger;
    this.maxDelay = Math.min(Math.max(1, opts.maxTimerDelayMs ?? 60_000), 2 ** 31 - 1);
  }

  /** Loads the first config (same as reload); returns the changes from an empty config. */
  load(config: DeviceConfig): ConfigChange[] {
    return this.reload(config);
  }

  /**
   * Applies a new config in place and returns what changed (also logged). Unchanged schedules keep
   * their due times; added or changed schedules of a known job count from now (no catch-up); a
   * job new to the scheduler counts from its last run (so it may owe one catch-up). A running
   * backup finishes on the definition it started with; a removed or disabled job's pending run is
   * dropped; `max_concurrent_backups` applies to runs started from now on.
   */
  reload(config: DeviceConfig): ConfigChange[] {
    const changes = diffDeviceConfig(this.config, config);
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
    // The changes are logged once, by the config sync that read them (src/config/config-sync.ts).
    this.pump();
    this.rearm();
    return changes;
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
    if (!job.enabled && this.queue.dropPending(job.id)) this.log.info({ jobId: job.id }, 'pending run dropped: job disabled');
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
    const res = this.queue.offer({ jobId, triggeredBy, scheduleId: null });
    if (res.state !== 'queued') return res;
    this.pump();
    if (this.queue.isRunning(jobId)) return { state: 'started', position: 0 };
    return { state: 'queued', position: this.queue.positionOf(jobId) ?? res.position };
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
    this.pump();
    this.rearm();
  }

  private tickJob(state: JobState, now: number, grace: number): void {
    const entries = [...state.schedules.values()].map((s) => ({ scheduleId: s.schedule.id, dueAt: s.dueAt, catchUp: s.schedule.catchUp }));
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
      req = { jobId: state.job.id, triggeredBy: decision.run.triggeredBy, scheduleId: decision.run.scheduleId };
      state.retry.retryAt = null;
    } else if (decision.passed.length > 0) {
      this.log.info({ jobId: state.job.id }, 'missed run not caught up: catch_up is off');
    } else if (state.retry.retryAt !== null && state.retry.retryAt <= now) {
      req = { jobId: state.job.id, triggeredBy: state.retry.triggeredBy, scheduleId: state.retry.scheduleId, retry: true };
      state.retry.retryAt = null;
    }
    if (!req) return;
    try {
      const res = this.queue.offer(req);
      if (res.state !== 'queued') this.log.info({ jobId: req.jobId, state: res.state }, 'due run coalesced: job already running or queued');
    } catch (err) {
      this.log.error({ jobId: req.jobId, err: errorMessage(err) }, 'due run not queued');
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
      for (const t of [nextRegularDue(state), state.retry.retryAt]) if (t !== null && (next === null || t < next)) next = t;
    }
    const now = this.clock.now();
    let delay = next === null ? this.maxDelay : Math.min(this.maxDelay, Math.max(0, Math.ceil(next - now)));
    // Guard against a due time that stays in the past (a bug): never spin, re-check each second.
    this.zeroDelays = delay === 0 ? this.zeroDelays + 1 : 0;
    if (this.zeroDelays > 100) {
      if (this.zeroDelays === 101) this.log.error({}, 'scheduler: a due time stays in the past; checking once a second');
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

  private startRun(req: RunRequest): void {
    const state = this.jobs.get(req.jobId);
    if (!state) {
      this.queue.finish(req.jobId);
      return;
    }
    const job = state.job;
    const startedAt = this.clock.now();
    state.lastRunAt = startedAt;
    state.runningSince = startedAt;
    if (req.retry) state.retry.attemptsMade += 1;
    else if (req.triggeredBy !== 'manual') state.retry = { attemptsMade: 0, retryAt: null, triggeredBy: req.triggeredBy, scheduleId: req.scheduleId };
    for (const ss of state.schedules.values()) {
      if (ss.schedule.type !== 'interval') continue;
      const next = computeDue(job, ss.schedule, startedAt, startedAt, this.localZone);
      this.setDue(state, ss.schedule.id, next.dueAt, ss.dueAt);
    }
    this.log.info({ jobId: job.id, jobName: job.name, triggeredBy: req.triggeredBy, scheduleId: req.scheduleId }, 'backup starting');
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
    this.queue.finish(req.jobId);
    this.running.delete(req.jobId);
    const state = this.jobs.get(req.jobId);
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
      status, attemptsMade: state.retry.attemptsMade, finishedAt: this.clock.now(),
      nextRegularRunAt: nextRegularDue(state), retryDelaySeconds: this.settings.retryDelaySeconds,
      retryMaxAttempts: this.settings.retryMaxAttempts,
    });
    if (d.action === 'reset') state.retry = { ...state.retry, attemptsMade: 0, retryAt: null };
    else if (d.action === 'retry') {
      state.retry.retryAt = d.retryAt;
      this.log.info({ jobId: state.job.id, attempt: d.attempt, retryAt: new Date(d.retryAt).toISOString() }, 'backup will be retried');
    } else {
      state.retry.retryAt = null;
      this.log.info({ jobId: state.job.id, status }, `no retry: ${d.reason}`);
    }
  }
}

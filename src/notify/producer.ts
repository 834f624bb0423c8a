/**
 * The agent's notification producer (issue 19 points 2 and 3): subscribes to the event bus
 * (`run.started`, `run.finished`; src/events.ts) and writes notifications into the outbox. It is
 * never called from the run code, and it never delays a backup: events go into a bounded in-memory
 * queue that one background worker drains; a database that does not take a row sends it to the
 * local journal (src/notify/outbox-journal.ts), replayed every `replaySeconds` and at stop.
 *
 * One notification per streak (src/notify/streak.ts): the job's previous outcome comes from this
 * process's memory, or (first time per job) from the runs table. Every run also gives the internal
 * `run.started` / `run.succeeded` rows for healthchecks pings.
 */
import type { Clock } from '../clock.js';
import type { Queryable } from '../db/database.js';
import { enqueueNotification, previousOutcome } from '../db/queries/notifications.js';
import { errorMessage } from '../errors.js';
import type { AgentEvents, EventBus } from '../events.js';
import { stableId, type NotificationPayload, type OutboxEvent } from './events.js';
import { Loop } from './loop.js';
import { OutboxJournal } from './outbox-journal.js';
import { outcomeOf, streakEvent, type Outcome } from './streak.js';

export interface ProducerLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface ProducerOptions {
  db: Queryable;
  events: EventBus;
  clock: Clock;
  logger: ProducerLogger;
  dataDir: string;
  deviceId: string;
  deviceName: string;
  /** Link to a run (null when unknown), e.g. the local UI's run page. */
  runLink?: (runId: number | null, jobId: string) => string | null;
  /** Called after a row reached the outbox (the embedded notifier kicks itself). */
  onEnqueued?: () => void;
  /** Seconds between journal replays (default 30). */
  replaySeconds?: number;
  /** In-memory queue bound (default 1000; beyond it events go straight to the journal). */
  maxQueue?: number;
}

export class NotificationProducer {
  private readonly queue: NotificationPayload[] = [];
  private readonly last = new Map<string, Outcome>();
  private readonly journal: OutboxJournal;
  private readonly replayLoop: Loop;
  private readonly unsubscribe: (() => void)[] = [];
  private draining: Promise<void> | null = null;
  private pendingOrder: Promise<void> = Promise.resolve();

  constructor(private readonly o: ProducerOptions) {
    this.journal = new OutboxJournal(o.dataDir);
    this.replayLoop = new Loop(o.clock, (o.replaySeconds ?? 30) * 1000, () => this.replay());
  }

  /** Subscribe to the bus and start journal replays. */
  start(): void {
    this.unsubscribe.push(this.o.events.on('run.started', (e) => this.onStarted(e)));
    this.unsubscribe.push(this.o.events.on('run.finished', (e) => this.onFinished(e)));
    this.replayLoop.start();
  }

  private base(event: OutboxEvent, id: string, jobId: string | null, jobName: string | null, runId: number | null) {
    return {
      id,
      event,
      time: new Date(this.o.clock.now()).toISOString(),
      device_id: this.o.deviceId,
      device_name: this.o.deviceName,
      job_id: jobId,
      job_name: jobName,
      run_id: runId,
      link: jobId ? (this.o.runLink?.(runId, jobId) ?? null) : null,
    };
  }

  private onStarted(e: AgentEvents['run.started']): void {
    // The healthchecks start ping is about backups; forget, prune and check have no ping.
    if (e.operation !== 'backup' || !e.jobId) return;
    const id = stableId('run.started', this.o.deviceId, e.jobId, e.runId ?? e.startTime);
    this.push({
      ...this.base('run.started', id, e.jobId, e.jobName, e.runId),
      status: 'running',
      message: `${e.jobName} started`,
    });
  }

  private onFinished(finished: AgentEvents['run.finished']): void {
    if (finished.operation === 'check' || finished.operation === 'prune') {
      this.onMaintenanceFinished(finished);
      return;
    }
    if (finished.operation !== 'backup' || !finished.jobId) return;
    const e = { ...finished, jobId: finished.jobId };
    const outcome = outcomeOf(e.status);
    if (!outcome) return;
    // Decided in order of the events: the previous outcome of the same job must be settled first.
    this.pendingOrder = this.pendingOrder.then(async () => {
      const prev = await this.previous(e.jobId, e.runId);
      this.last.set(e.jobId, outcome);
      const when = e.runId ?? this.o.clock.now();
      if (outcome === 'success')
        this.push({
          ...this.base(
            'run.succeeded',
            stableId('run.succeeded', this.o.deviceId, e.jobId, when),
            e.jobId,
            e.jobName,
            e.runId,
          ),
          status: 'success',
          message: `${e.jobName} succeeded`,
        });
      const event = streakEvent(prev, outcome);
      if (!event) return;
      const why = e.errorMessage ? `: ${e.errorMessage.slice(0, 500)}` : '';
      const message =
        event === 'run.failed'
          ? `Backup ${e.jobName} on ${this.o.deviceName} failed${why}`
          : event === 'run.partial'
            ? `Backup ${e.jobName} on ${this.o.deviceName} was partial (some files were not read)${why}`
            : `Backup ${e.jobName} on ${this.o.deviceName} succeeded again after ${prev === 'failed' ? 'failures' : 'partial runs'}`;
      this.push({
        ...this.base(event, stableId(event, this.o.deviceId, e.jobId, when), e.jobId, e.jobName, e.runId),
        status: e.status,
        message,
      });
    });
  }

  /**
   * A failed check or prune (issue 18) is `check.failed` / `prune.failed`, one per failed run: a
   * damaged repository is worth saying every time. Other outcomes send nothing.
   */
  private onMaintenanceFinished(e: AgentEvents['run.finished']): void {
    if (e.status !== 'failed' && e.status !== 'interrupted') return;
    const event = e.operation === 'check' ? 'check.failed' : 'prune.failed';
    const what = e.operation === 'check' ? 'Check' : 'Prune';
    const why = e.errorMessage ? `: ${e.errorMessage.slice(0, 500)}` : '';
    const id = stableId(event, this.o.deviceId, e.repositoryId ?? e.jobId, e.runId ?? e.endTime);
    this.push({
      ...this.base(event, id, e.jobId, e.jobName, e.runId),
      status: e.status,
      message: `${what} of ${e.jobName} on ${this.o.deviceName} failed${why}`,
    });
  }

  private async previous(jobId: string, runId: number | null): Promise<Outcome | null> {
    const known = this.last.get(jobId);
    if (known) return known;
    try {
      return outcomeOf((await previousOutcome(this.o.db, jobId, runId)) ?? '');
    } catch (err) {
      this.o.logger.debug({ jobId, err: errorMessage(err) }, 'previous outcome unknown (database away)');
      return null;
    }
  }

  private push(p: NotificationPayload): void {
    if (this.queue.length >= (this.o.maxQueue ?? 1000)) this.toJournal(p);
    else this.queue.push(p);
    this.draining ??= this.drain().finally(() => (this.draining = null));
  }

  private toJournal(p: NotificationPayload): void {
    try {
      const dropped = this.journal.append(p);
      if (dropped > 0) this.o.logger.warn({ dropped }, 'notification journal full: oldest notifications dropped');
    } catch (err) {
      this.o.logger.warn({ event: p.event, err: errorMessage(err) }, 'notification lost: journal not writable');
    }
  }

  private async write(p: NotificationPayload): Promise<boolean> {
    try {
      await enqueueNotification(this.o.db, {
        id: p.id,
        event: p.event,
        deviceId: p.device_id,
        jobId: p.job_id,
        payload: p,
      });
      return true;
    } catch (err) {
      this.o.logger.debug({ event: p.event, err: errorMessage(err) }, 'outbox not reachable: notification journaled');
      return false;
    }
  }

  private async drain(): Promise<void> {
    let wrote = false;
    for (let p = this.queue.shift(); p; p = this.queue.shift()) {
      if (await this.write(p)) wrote = true;
      else this.toJournal(p);
    }
    if (wrote) this.o.onEnqueued?.();
  }

  /** Move journaled notifications into the outbox (keeps those the database still refuses). */
  async replay(): Promise<void> {
    const waiting = this.journal.read();
    if (waiting.length === 0) return;
    const left: NotificationPayload[] = [];
    for (const p of waiting) if (!(await this.write(p))) left.push(p);
    this.journal.write(left);
    if (left.length < waiting.length) this.o.onEnqueued?.();
  }

  /** Wait until every event seen so far is in the outbox or the journal (tests, stop). */
  async flush(): Promise<void> {
    await this.pendingOrder;
    while (this.draining) await this.draining;
  }

  /** Unsubscribe, write what is queued (bounded by `timeoutMs`; the rest to the journal), stop replays. */
  async stop(timeoutMs = 5000): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    await this.replayLoop.stop();
    let cancel: (() => void) | null = null;
    await Promise.race([this.flush(), new Promise<void>((r) => (cancel = this.o.clock.setTimer(r, timeoutMs)))]);
    (cancel as (() => void) | null)?.();
    for (let p = this.queue.shift(); p; p = this.queue.shift()) this.toJournal(p);
  }
}

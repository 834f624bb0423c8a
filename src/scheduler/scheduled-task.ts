/**
 * A task that comes back on its own (issue 14; backrest's orchestrator tasks are the model): it
 * says when it is next due and builds the Task to run. The scheduler keeps its due time, queues
 * the Task when it is due, and asks again. Job backups keep their own schedules (job-state.ts);
 * issue 18 adds the maintenance schedules (prune, check) as ScheduledTasks.
 */
import type { Task } from '../tasks/task.js';
import type { TriggeredBy } from './types.js';

export interface ScheduledTask {
  /** Stable id (adding one with the same id replaces it), e.g. `prune:<repository id>`. */
  id: string;
  /**
   * When it is next due (ms since the epoch) after `now`, or null for never. `lastRunAt` is when
   * it was last queued by this scheduler (null right after being added). Time comes from the
   * scheduler's Clock.
   */
  nextDue(now: number, lastRunAt: number | null): number | null;
  /** The Task to queue now. */
  create(triggeredBy: TriggeredBy): Task;
}

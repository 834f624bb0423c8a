/**
 * One notification per streak (issue 19 point 2): which event, if any, a finished backup gives,
 * from the job's previous outcome. Pure.
 *
 * - failed after anything but failed -> `run.failed`; failed after failed -> nothing;
 * - partial after anything but partial -> `run.partial`; partial after partial -> nothing;
 * - success after failed or partial -> `run.recovered` (the first success after the streak);
 * - cancelled and interrupted runs are no outcome: they neither start nor end a streak.
 */
import type { NotificationEvent } from './events.js';

export type Outcome = 'success' | 'partial' | 'failed';

/** The outcome a run status counts as, or null (running, cancelled, interrupted). */
export function outcomeOf(status: string): Outcome | null {
  return status === 'success' || status === 'partial' || status === 'failed' ? status : null;
}

/** The event for `current` after `previous` (null = no earlier outcome known), or null. */
export function streakEvent(previous: Outcome | null, current: Outcome): NotificationEvent | null {
  if (current === 'failed') return previous === 'failed' ? null : 'run.failed';
  if (current === 'partial') return previous === 'partial' ? null : 'run.partial';
  return previous === 'failed' || previous === 'partial' ? 'run.recovered' : null;
}

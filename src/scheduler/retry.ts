/**
 * Retry policy for failed runs: a `failed` or `interrupted` run is retried after
 * `retry_delay_seconds` (default 600) up to `retry_max_attempts` (default 3) times, but never at
 * or after the job's next regular run time (that run does the work anyway). A `success` or
 * `partial` run (snapshot saved, CONTRACTS §4) ends the chain; `cancelled` (agent stopping or a
 * user cancel) is not retried. Pure: times are passed in (ms since epoch).
 */

/** Run statuses that ask for a retry. */
export const RETRYABLE_STATUSES: ReadonlySet<string> = new Set(['failed', 'interrupted']);

/** Run statuses that end a retry chain as done. */
export const SUCCESS_STATUSES: ReadonlySet<string> = new Set(['success', 'partial']);

/** Input of retryDecision. */
export interface RetryInput {
  /** `runs.status` of the run that just ended. */
  status: string;
  /** Retries already made in this chain (0 after a regular run). */
  attemptsMade: number;
  /** When the run ended (ms). */
  finishedAt: number;
  /** The job's next regular due time (ms), or null when it has none (manual-only job). */
  nextRegularRunAt: number | null;
  retryDelaySeconds: number;
  retryMaxAttempts: number;
}

/** Outcome: retry at a time, give up (with why), or the chain is over because the run succeeded. */
export type RetryDecision =
  { action: 'retry'; retryAt: number; attempt: number } | { action: 'reset' } | { action: 'none'; reason: string };

/**
 * Decides whether and when to retry the run that just ended. `attempt` in a 'retry' result is
 * the 1-based number of the retry to make. Never schedules a retry at or after
 * `nextRegularRunAt`, nor beyond `retryMaxAttempts`.
 */
export function retryDecision(input: RetryInput): RetryDecision {
  if (SUCCESS_STATUSES.has(input.status)) return { action: 'reset' };
  if (!RETRYABLE_STATUSES.has(input.status)) return { action: 'none', reason: `status ${input.status} is not retried` };
  if (input.attemptsMade >= input.retryMaxAttempts) {
    return {
      action: 'none',
      reason: `gave up after ${input.attemptsMade} retries (retry_max_attempts ${input.retryMaxAttempts})`,
    };
  }
  const retryAt = input.finishedAt + input.retryDelaySeconds * 1000;
  if (input.nextRegularRunAt !== null && retryAt >= input.nextRegularRunAt) {
    return { action: 'none', reason: 'the next regular run comes before the retry would' };
  }
  return { action: 'retry', retryAt, attempt: input.attemptsMade + 1 };
}

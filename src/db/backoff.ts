/**
 * Bounded exponential back-off for reconnecting to the database.
 */
import { MAX_TIMER_DELAY_MS } from '../clock.js';

/**
 * Delay before retry number `attempt` (0 = first retry), milliseconds: base * 2^attempt capped at
 * `maxMs`, then scaled by a factor in [0.5, 1) from `random` so a fleet of agents that lost the
 * server together does not reconnect in lock-step. Never above `maxMs` (itself capped at 2^31-1).
 */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(Math.max(maxMs, 1), MAX_TIMER_DELAY_MS);
  const exp = Math.min(cap, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.max(1, Math.floor(exp * (0.5 + random() / 2)));
}

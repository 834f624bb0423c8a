/**
 * Wall-clock jump detection (C09): between two scheduler wake-ups the wall clock (Clock.now)
 * should move as much as the monotonic clock; a difference means a suspend/resume (the monotonic
 * clock stops while suspended on Linux), an NTP step or a manual clock change.
 */

/** Jumps smaller than this are timer jitter or NTP slewing, not jumps (ms). */
export const JUMP_THRESHOLD_MS = 5_000;

/** Wall and monotonic readings taken at the same moment (ms). */
export interface ClockReading {
  wall: number;
  mono: number;
}

/**
 * How far the wall clock jumped between two readings, in ms (positive = forward, e.g. after a
 * suspend), or 0 when the difference is below `thresholdMs`.
 */
export function wallClockJump(prev: ClockReading, cur: ClockReading, thresholdMs = JUMP_THRESHOLD_MS): number {
  const drift = cur.wall - prev.wall - (cur.mono - prev.mono);
  return Math.abs(drift) >= thresholdMs ? drift : 0;
}

/**
 * Time as the pure core sees it. Modules never call Date.now() or setTimeout themselves; they
 * receive a Clock so tests can move time (DST, sleep, clock jumps) without waiting.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch (wall clock; may jump). */
  now(): number;
  /** Monotonic milliseconds (never jumps); used to notice wall-clock jumps. */
  monotonic(): number;
  /** Run `fn` after `ms` milliseconds (callers cap `ms` below 2^31-1). Returns a cancel function. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** The real clock of the process. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(fn: () => void, ms: number) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
});

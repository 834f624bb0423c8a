/**
 * Time as the pure core sees it. Modules never call Date.now() or setTimeout themselves; they
 * receive a Clock so tests can move time (DST, sleep, clock jumps) without waiting. The timer
 * helpers below (`every`, `sleep`) are the one way to wait or repeat; the 2^31-1 ms clamp lives
 * in the clock, so callers pass the delay they mean.
 */

/** Node fires a setTimeout delay above this after 1 ms (and warns): the longest single timer, ms. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export interface TimerOptions {
  /** Do not keep the process alive for this timer (Node's `unref`; fake clocks ignore it). */
  unref?: boolean;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (wall clock; may jump). */
  now(): number;
  /** Monotonic milliseconds (never jumps); used to notice wall-clock jumps. */
  monotonic(): number;
  /**
   * Run `fn` after `ms` milliseconds, clamped to [0, MAX_TIMER_DELAY_MS] (a longer wait fires at
   * the clamp; callers that must wait longer re-arm). Returns a cancel function.
   */
  setTimer(fn: () => void, ms: number, opts?: TimerOptions): () => void;
}

/** `ms` clamped to what one timer can wait: [0, MAX_TIMER_DELAY_MS]; NaN -> 0. */
export function clampTimerDelay(ms: number): number {
  return ms > 0 ? Math.min(ms, MAX_TIMER_DELAY_MS) : 0;
}

/** The real clock of the process. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(fn: () => void, ms: number, opts?: TimerOptions) {
    const t = setTimeout(fn, clampTimerDelay(ms));
    if (opts?.unref) t.unref();
    return () => clearTimeout(t);
  },
});

/** A repeating task started by `every`. */
export interface Repeating {
  /** Cancel the next run; resolves when a run in progress has ended. Idempotent. */
  stop(): Promise<void>;
}

export interface EveryOptions extends TimerOptions {
  /** Delay before the first run, ms (default: the interval). */
  firstDelayMs?: number;
}

/**
 * Run `fn` every `intervalMs` (a number, or a function read before each wait, e.g. a setting
 * that may change), self-rearming: the next wait starts when the previous run has ended (a
 * returned promise settled), so runs never overlap. A rejected promise is not caught here (the
 * caller's `fn` handles its errors, as with a bare timer). `stop()` ends the loop.
 */
export function every(
  clock: Clock,
  intervalMs: number | (() => number),
  fn: () => void | Promise<unknown>,
  opts: EveryOptions = {},
): Repeating {
  const interval = typeof intervalMs === 'function' ? intervalMs : () => intervalMs;
  let cancel: (() => void) | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = false;
  const arm = (ms: number): void => {
    cancel = clock.setTimer(
      () => {
        cancel = null;
        if (stopped) return;
        let result: void | Promise<unknown>;
        try {
          result = fn();
        } catch (err) {
          arm(interval());
          throw err;
        }
        if (!(result instanceof Promise)) {
          arm(interval());
          return;
        }
        running = result.finally(() => {
          running = null;
          if (!stopped) arm(interval());
        });
      },
      ms,
      opts,
    );
  };
  arm(opts.firstDelayMs ?? interval());
  return {
    async stop() {
      stopped = true;
      cancel?.();
      cancel = null;
      await running?.catch(() => undefined);
    },
  };
}

/**
 * Resolve after `ms` milliseconds on `clock` (clamped as setTimer does), or as soon as `signal`
 * aborts (resolves, never rejects).
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const cancel = clock.setTimer(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

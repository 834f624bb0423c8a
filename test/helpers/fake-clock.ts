/**
 * A Clock for tests (src/clock.ts): time moves only when the test says so. `advance(ms)` moves
 * both clocks and fires due timers in order (awaiting promise callbacks between them);
 * `jumpWallClock(ms)` moves only the wall clock, as a suspend/resume or an NTP step does.
 * Every requested timer delay is recorded (before the clamp) so tests can assert what callers ask
 * for (C09); like the system clock, delays are clamped to [0, 2^31-1] ms.
 */
import { clampTimerDelay, type Clock } from '../../src/clock.js';

interface FakeTimer {
  id: number;
  dueMono: number;
  fn: () => void;
}

/** Lets queued promise callbacks (and their follow-ups) run; no time passes on the fake clock. */
export function flushPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private wall: number;
  private mono = 0;
  private nextId = 1;
  private timers: FakeTimer[] = [];
  /** Every delay passed to setTimer, in call order (ms). */
  readonly timerDelays: number[] = [];

  /** `start`: the initial wall-clock time (Date, ISO string or ms since epoch). */
  constructor(start: Date | string | number) {
    this.wall = new Date(start).getTime();
    if (!Number.isFinite(this.wall)) throw new RangeError(`FakeClock: invalid start ${String(start)}`);
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  /** Clamps the delay as systemClock does ([0, 2^31-1] ms; NaN -> 0); `timerDelays` keeps the requested one. */
  setTimer(fn: () => void, ms: number): () => void {
    this.timerDelays.push(ms);
    const timer: FakeTimer = { id: this.nextId++, dueMono: this.mono + clampTimerDelay(ms), fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Number of timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** The largest delay ever requested (ms), or 0. */
  get maxRequestedDelay(): number {
    return this.timerDelays.reduce((a, b) => Math.max(a, b), 0);
  }

  /**
   * Moves both clocks forward by `ms`, firing every timer that falls due, earliest first (ties in
   * creation order); timers set by callbacks fire too if they fall within the window. Promise
   * callbacks are flushed after each timer and at the end.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`FakeClock: cannot advance by ${ms}`);
    const target = this.mono + ms;
    await flushPromises();
    for (;;) {
      const next = this.earliest();
      if (!next || next.dueMono > target) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.wall += next.dueMono - this.mono;
      this.mono = next.dueMono;
      next.fn();
      await flushPromises();
    }
    this.wall += target - this.mono;
    this.mono = target;
    await flushPromises();
  }

  /** Advances to the given wall-clock time (must not be in the past). */
  async advanceTo(when: Date | string): Promise<void> {
    await this.advance(new Date(when).getTime() - this.wall);
  }

  /** Moves the wall clock only (positive = forward, as after a suspend); fires nothing. */
  jumpWallClock(ms: number): void {
    this.wall += ms;
  }

  private earliest(): FakeTimer | null {
    let best: FakeTimer | null = null;
    for (const t of this.timers) {
      if (!best || t.dueMono < best.dueMono || (t.dueMono === best.dueMono && t.id < best.id)) best = t;
    }
    return best;
  }
}

/**
 * The timer helpers of src/clock.ts: `every` re-arms after each run (never overlapping), reads a
 * changing interval, stops cleanly; `sleep` ends on time or on abort; the system clock clamps
 * over-long delays to 2^31-1 ms instead of letting Node fire them after 1 ms.
 */
import { describe, expect, it } from 'vitest';
import { clampTimerDelay, every, MAX_TIMER_DELAY_MS, sleep, systemClock } from '../../src/clock.js';
import { FakeClock } from '../helpers/fake-clock.js';

describe('every', () => {
  it('runs after the first delay, then every interval counted from the end of the previous run', async () => {
    const clock = new FakeClock(0);
    const runs: number[] = [];
    let release: (() => void) | null = null;
    const loop = every(
      clock,
      1000,
      () => {
        runs.push(clock.monotonic());
        return new Promise<void>((r) => (release = r));
      },
      { firstDelayMs: 10 },
    );
    await clock.advance(10);
    expect(runs).toEqual([10]);
    await clock.advance(5000); // the run has not ended: no second run, no overlap
    expect(runs).toEqual([10]);
    (release as unknown as () => void)();
    await clock.advance(999);
    expect(runs).toEqual([10]);
    await clock.advance(1);
    expect(runs).toEqual([10, 6010]);
    const stopping = loop.stop();
    (release as unknown as () => void)();
    await stopping;
    await clock.advance(10_000);
    expect(runs).toEqual([10, 6010]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('reads the interval before each wait; stop() waits for a run in progress', async () => {
    const clock = new FakeClock(0);
    let interval = 100;
    let ended = 0;
    const loop = every(
      clock,
      () => interval,
      async () => {
        await Promise.resolve();
        ended++;
      },
    );
    interval = 300; // read again when the first run ends, not before
    await clock.advance(100);
    expect(ended).toBe(1);
    await clock.advance(299);
    expect(ended).toBe(1);
    await clock.advance(1);
    expect(ended).toBe(2);
    await loop.stop();
    await loop.stop(); // idempotent
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('sleep and the clamp', () => {
  it('sleep resolves after the delay, or at once when aborted', async () => {
    const clock = new FakeClock(0);
    let done = false;
    void sleep(clock, 500).then(() => (done = true));
    await clock.advance(499);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(done).toBe(true);
    const ac = new AbortController();
    let aborted = false;
    void sleep(clock, 10_000, ac.signal).then(() => (aborted = true));
    ac.abort();
    await clock.advance(0);
    expect(aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('clampTimerDelay keeps delays within what one Node timer can wait', () => {
    expect(clampTimerDelay(2 ** 40)).toBe(MAX_TIMER_DELAY_MS);
    expect(clampTimerDelay(-5)).toBe(0);
    expect(clampTimerDelay(Number.NaN)).toBe(0);
    expect(clampTimerDelay(1234)).toBe(1234);
  });

  it('systemClock does not fire an over-long timer early (Node alone would after 1 ms)', async () => {
    let fired = false;
    const cancel = systemClock.setTimer(() => (fired = true), 2 ** 32, { unref: true });
    await new Promise((r) => setImmediate(r));
    await sleep(systemClock, 20);
    expect(fired).toBe(false);
    cancel();
  });
});

import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/scheduler/fake-clock.js';

describe('FakeClock', () => {
  it('fires timers in due order, including ones set by callbacks within the window', async () => {
    const c = new FakeClock('2026-01-01T00:00:00Z');
    const fired: string[] = [];
    c.setTimer(() => fired.push(`b@${c.monotonic()}`), 200);
    c.setTimer(() => {
      fired.push(`a@${c.monotonic()}`);
      c.setTimer(() => fired.push(`c@${c.monotonic()}`), 50);
    }, 100);
    const cancel = c.setTimer(() => fired.push('never'), 120);
    cancel();
    await c.advance(300);
    expect(fired).toEqual(['a@100', 'c@150', 'b@200']);
    expect(c.now()).toBe(Date.parse('2026-01-01T00:00:00.300Z'));
  });

  it('jumpWallClock moves now() only; out-of-range delays are refused', () => {
    const c = new FakeClock(0);
    c.jumpWallClock(5000);
    expect([c.now(), c.monotonic()]).toEqual([5000, 0]);
    expect(() => c.setTimer(() => undefined, 2 ** 31)).toThrow(RangeError);
    expect(() => c.setTimer(() => undefined, -1)).toThrow(RangeError);
    expect(c.timerDelays).toEqual([2 ** 31, -1]);
  });
});

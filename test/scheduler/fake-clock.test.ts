import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';

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

  it('jumpWallClock moves now() only; out-of-range delays are clamped like the system clock', async () => {
    const c = new FakeClock(0);
    c.jumpWallClock(5000);
    expect([c.now(), c.monotonic()]).toEqual([5000, 0]);
    const fired: string[] = [];
    c.setTimer(() => fired.push('long'), 2 ** 40);
    c.setTimer(() => fired.push('negative'), -1);
    expect(c.timerDelays).toEqual([2 ** 40, -1]);
    await c.advance(0);
    expect(fired).toEqual(['negative']);
    await c.advance(2 ** 31 - 2);
    expect(fired).toEqual(['negative']);
    await c.advance(1);
    expect(fired).toEqual(['negative', 'long']);
  });
});

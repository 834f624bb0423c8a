import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { RunQueue } from '../../src/scheduler/queue.js';

const sched = (jobId: string) => ({ jobId, triggeredBy: 'schedule' as const, scheduleId: 1 });
const manual = (jobId: string) => ({ jobId, triggeredBy: 'manual' as const, scheduleId: null });

describe('RunQueue', () => {
  it('C12 never two runs of one job: running gives already_running, pending coalesces', () => {
    const q = new RunQueue({ maxConcurrent: 1 });
    expect(q.offer(sched('a'))).toEqual({ state: 'queued', position: 1 });
    expect(q.takeStartable().map((r) => r.jobId)).toEqual(['a']);
    expect(q.offer(manual('a'))).toEqual({ state: 'already_running' });
    expect(q.offer(sched('b'))).toEqual({ state: 'queued', position: 1 });
    expect(q.offer(sched('b'))).toEqual({ state: 'already_queued', position: 1 });
    expect(q.pendingRequests()).toHaveLength(1);
    expect(q.takeStartable()).toEqual([]);
    q.finish('a');
    expect(q.takeStartable().map((r) => r.jobId)).toEqual(['b']);
  });

  it('manual triggers go ahead of scheduled ones, FIFO within each; a manual trigger lifts a pending scheduled run', () => {
    const q = new RunQueue({ maxConcurrent: 1 });
    q.offer(sched('busy'));
    q.takeStartable();
    q.offer(sched('s1'));
    q.offer(sched('s2'));
    expect(q.offer(manual('m1'))).toEqual({ state: 'queued', position: 1 });
    expect(q.offer(manual('m2'))).toEqual({ state: 'queued', position: 2 });
    expect(q.offer(manual('s2'))).toEqual({ state: 'already_queued', position: 3 });
    expect(q.pendingRequests().map((r) => `${r.jobId}:${r.triggeredBy}`)).toEqual(['m1:manual', 'm2:manual', 's2:manual', 's1:schedule']);
  });

  it('respects maxConcurrent, also when it changes', () => {
    const q = new RunQueue({ maxConcurrent: 2 });
    for (const id of ['a', 'b', 'c', 'd']) q.offer(sched(id));
    expect(q.takeStartable().map((r) => r.jobId)).toEqual(['a', 'b']);
    expect(q.runningCount).toBe(2);
    q.setMaxConcurrent(3);
    expect(q.takeStartable().map((r) => r.jobId)).toEqual(['c']);
    q.setMaxConcurrent(1);
    q.finish('a');
    expect(q.takeStartable()).toEqual([]);
    expect(q.positionOf('d')).toBe(1);
  });

  it('C12 dropping a removed job\'s pending run; bounded', () => {
    const q = new RunQueue({ maxConcurrent: 1, maxPending: 2 });
    q.offer(sched('a'));
    q.offer(sched('b'));
    expect(q.dropPending('a')).toBe(true);
    expect(q.dropPending('a')).toBe(false);
    q.offer(sched('c'));
    try {
      q.offer(sched('d'));
      expect.unreachable();
    } catch (err) {
      expect(isAppError(err, 'CONFLICT')).toBe(true);
    }
    expect(q.clearPending()).toBe(2);
  });
});

import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { TaskQueue } from '../../src/scheduler/queue.js';

const sched = (jobId: string) => ({ jobId, triggeredBy: 'schedule' as const, scheduleId: 1 });
const manual = (jobId: string) => ({ jobId, triggeredBy: 'manual' as const, scheduleId: null });

describe('TaskQueue', () => {
  it('C12 never two runs of one job: running gives already_running, pending coalesces', () => {
    const q = new TaskQueue({ maxConcurrent: 1 });
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
    const q = new TaskQueue({ maxConcurrent: 1 });
    q.offer(sched('busy'));
    q.takeStartable();
    q.offer(sched('s1'));
    q.offer(sched('s2'));
    expect(q.offer(manual('m1'))).toEqual({ state: 'queued', position: 1 });
    expect(q.offer(manual('m2'))).toEqual({ state: 'queued', position: 2 });
    expect(q.offer(manual('s2'))).toEqual({ state: 'already_queued', position: 3 });
    expect(q.pendingRequests().map((r) => `${r.jobId}:${r.triggeredBy}`)).toEqual([
      'm1:manual',
      'm2:manual',
      's2:manual',
      's1:schedule',
    ]);
  });

  it('respects maxConcurrent, also when it changes', () => {
    const q = new TaskQueue({ maxConcurrent: 2 });
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

  it("C12 dropping a removed job's pending run; bounded", () => {
    const q = new TaskQueue({ maxConcurrent: 1, maxPending: 2 });
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

describe('TaskQueue: tasks that know repositories (issue 14)', () => {
  const backup = (jobId: string, repository: string) => ({
    jobId,
    repository,
    triggeredBy: 'schedule' as const,
    scheduleId: 1,
  });
  const task = (kind: 'forget' | 'prune' | 'check' | 'unlock' | 'restore', key: string, repository: string) => ({
    key,
    jobId: null,
    kind,
    repository,
    triggeredBy: 'manual' as const,
    scheduleId: null,
  });
  const keys = (q: TaskQueue) => q.takeStartable().map((r) => r.key);

  it('an exclusive task waits for a backup of its repository and holds back later backups of it', () => {
    const q = new TaskQueue({ maxConcurrent: 3 });
    q.offer(backup('a', 'R1'));
    expect(keys(q)).toEqual(['a']);
    q.offer(task('forget', 'forget:a', 'R1'));
    q.offer(backup('b', 'R1'));
    q.offer(backup('c', 'R2'));
    // The forget waits for a; b (same repository, behind the forget) waits too; c on R2 starts.
    expect(keys(q)).toEqual(['c']);
    q.finish('a');
    expect(keys(q)).toEqual(['forget:a']);
    expect(keys(q)).toEqual([]);
    q.finish('forget:a');
    expect(keys(q)).toEqual(['b']);
  });

  it('two exclusive tasks on one repository never overlap; on different repositories they run in parallel', () => {
    const q = new TaskQueue({ maxConcurrent: 1 });
    q.offer(task('prune', 'prune:R1', 'R1'));
    q.offer(task('check', 'check:R1', 'R1'));
    q.offer(task('unlock', 'unlock:R2', 'R2'));
    expect(keys(q)).toEqual(['prune:R1', 'unlock:R2']);
    q.offer(backup('x', 'R1'));
    expect(keys(q)).toEqual([]);
    q.finish('prune:R1');
    expect(keys(q)).toEqual(['check:R1']);
    q.finish('check:R1');
    expect(keys(q)).toEqual(['x']);
  });

  it('max_concurrent_backups bounds backups only; a restore runs beside a backup of the same repository', () => {
    const q = new TaskQueue({ maxConcurrent: 1 });
    q.offer(backup('a', 'R1'));
    q.offer(backup('b', 'R2'));
    q.offer(task('restore', 'restore:1', 'R1'));
    q.offer(task('forget', 'forget:c', 'R3'));
    expect(keys(q).sort()).toEqual(['a', 'forget:c', 'restore:1']);
    expect(q.runningRequests().filter((r) => (r.kind ?? 'backup') === 'backup')).toHaveLength(1);
    q.finish('a');
    expect(keys(q)).toEqual(['b']);
  });

  it('a restore never overlaps an exclusive task of its repository, either way round (issue 17)', () => {
    const q = new TaskQueue({ maxConcurrent: 2 });
    q.offer(task('prune', 'prune:R1', 'R1'));
    expect(keys(q)).toEqual(['prune:R1']);
    q.offer(task('restore', 'restore:1', 'R1'));
    q.offer(task('restore', 'restore:2', 'R2'));
    expect(keys(q)).toEqual(['restore:2']); // R1's restore waits for the prune
    q.finish('prune:R1');
    expect(keys(q)).toEqual(['restore:1']);
    q.offer(task('check', 'check:R1', 'R1'));
    q.offer(task('restore', 'restore:3', 'R1'));
    expect(keys(q)).toEqual([]); // the check waits for restore:1; restore:3 waits behind the pending check
    q.finish('restore:1');
    expect(keys(q)).toEqual(['check:R1']);
    q.finish('check:R1');
    expect(keys(q)).toEqual(['restore:3']);
  });

  it('stays bounded for every kind', () => {
    const q = new TaskQueue({ maxConcurrent: 1, maxPending: 2 });
    q.offer(task('prune', 'p1', 'R1'));
    q.offer(task('check', 'c1', 'R1'));
    expect(() => q.offer(task('forget', 'f1', 'R1'))).toThrow(/task queue is full/);
  });
});

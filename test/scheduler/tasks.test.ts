/**
 * Issue 14: the scheduler runs tasks of any kind through its one queue. On a FakeClock: an
 * exclusive task (forget) queued while a backup of its repository runs starts only when the
 * backup ends; two exclusive tasks of one repository run one after the other while one on another
 * repository runs beside them; a task that says when it is next due (ScheduledTask) is queued at
 * those times.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { RunOperation, Task } from '../../src/tasks/task.js';
import { device, every, job } from './helpers.js';

const MIN = 60_000;

function setup(start: string) {
  const clock = new FakeClock(start);
  const log: string[] = [];
  const at = () => new Date(clock.now()).toISOString().slice(11, 19);
  /** A task that takes `ms` on the fake clock and logs its start and end. */
  const task = (kind: RunOperation, key: string, repository: string, ms: number): Task => ({
    kind,
    key,
    job: null,
    repositoryId: null,
    repository,
    triggeredBy: 'manual',
    label: key,
    run: () => Promise.reject(new Error('run by runTask in this test')),
    startMetadata: { ms },
  });
  const scheduler = new Scheduler({
    clock,
    localZone: 'UTC',
    execute: (j) => {
      log.push(`${at()} start backup ${j.id}`);
      return new Promise((resolve) =>
        clock.setTimer(() => {
          log.push(`${at()} end backup ${j.id}`);
          resolve({ status: 'success' });
        }, 10 * MIN),
      );
    },
    runTask: (t) => {
      log.push(`${at()} start ${t.key}`);
      return new Promise((resolve) =>
        clock.setTimer(() => {
          log.push(`${at()} end ${t.key}`);
          resolve({ status: 'success' });
        }, Number(t.startMetadata?.ms)),
      );
    },
  });
  return { clock, log, scheduler, task };
}

const repo = (url: string) => ({
  id: null,
  name: url,
  url,
  password: 'pw',
  passwordFile: null,
  passwordCommand: null,
  cacheDir: null,
  env: {},
});

describe('Scheduler: tasks of several kinds through one queue', () => {
  it('a forget waits for the running backup of its repository; a forget of another repository does not', async () => {
    const h = setup('2026-06-01T00:00:00Z');
    h.scheduler.load(
      device([job('a', [every(3600)], { repository: repo('/r1') }), job('b', [], { repository: repo('/r2') })], {
        max_concurrent_backups: '2',
      }),
    );
    h.scheduler.start();
    await h.clock.advance(MIN); // job a's backup runs 00:00 - 00:10
    expect(h.scheduler.enqueue(h.task('forget', 'forget:a', 'url:/r1', 2 * MIN))).toEqual({
      state: 'queued',
      position: 1,
    });
    expect(h.scheduler.enqueue(h.task('forget', 'forget:b', 'url:/r2', 2 * MIN))).toEqual({
      state: 'started',
      position: 0,
    });
    // A backup of the first repository asked for now waits behind the forget (no starving it).
    h.scheduler.load(
      device(
        [
          job('a', [every(3600)], { repository: repo('/r1') }),
          job('b', [], { repository: repo('/r2') }),
          job('c', [], { repository: repo('/r1') }),
        ],
        { max_concurrent_backups: '2' },
      ),
    );
    expect(h.scheduler.trigger('c')).toEqual({ state: 'queued', position: 2 }); // behind the manual forget
    await h.clock.advance(30 * MIN);
    expect(h.log).toEqual([
      '00:00:00 start backup a',
      '00:01:00 start forget:b',
      '00:03:00 end forget:b',
      '00:10:00 end backup a',
      '00:10:00 start forget:a',
      '00:12:00 end forget:a',
      '00:12:00 start backup c',
      '00:22:00 end backup c',
    ]);
  });

  it('two exclusive tasks on one repository never overlap; tasks on different repositories run in parallel', async () => {
    const h = setup('2026-06-01T00:00:00Z');
    h.scheduler.load(device([]));
    h.scheduler.start();
    h.scheduler.enqueue(h.task('prune', 'prune:r1', 'url:/r1', 5 * MIN));
    h.scheduler.enqueue(h.task('check', 'check:r1', 'url:/r1', 5 * MIN));
    h.scheduler.enqueue(h.task('check', 'check:r2', 'url:/r2', 5 * MIN));
    expect(h.scheduler.enqueue(h.task('check', 'check:r1', 'url:/r1', 5 * MIN))).toEqual({
      state: 'already_queued',
      position: 1,
    });
    await h.clock.advance(20 * MIN);
    expect(h.log).toEqual([
      '00:00:00 start prune:r1',
      '00:00:00 start check:r2',
      '00:05:00 end prune:r1',
      '00:05:00 start check:r1',
      '00:05:00 end check:r2',
      '00:10:00 end check:r1',
    ]);
  });

  it('a scheduled task says when it is next due and is queued then (backrest-style)', async () => {
    const h = setup('2026-06-01T00:00:00Z');
    h.scheduler.load(device([]));
    h.scheduler.start();
    const made: string[] = [];
    h.scheduler.addScheduledTask({
      id: 'check:r1',
      nextDue: (now) => Math.floor(now / (6 * 3600_000)) * 6 * 3600_000 + 6 * 3600_000, // every 6 h on the clock
      create: (by) => {
        made.push(by);
        return h.task('check', 'check:r1', 'url:/r1', MIN);
      },
    });
    expect(h.scheduler.scheduledTaskDue('check:r1')?.toISOString()).toBe('2026-06-01T06:00:00.000Z');
    await h.clock.advanceTo('2026-06-01T13:00:00Z');
    expect(h.log).toEqual([
      '06:00:00 start check:r1',
      '06:01:00 end check:r1',
      '12:00:00 start check:r1',
      '12:01:00 end check:r1',
    ]);
    expect(made).toEqual(['schedule', 'schedule']);
    expect(h.scheduler.removeScheduledTask('check:r1')).toBe(true);
    await h.clock.advanceTo('2026-06-02T00:00:00Z');
    expect(h.log).toHaveLength(4);
  });

  it('refuses a task while stopping, and when no runTask was given', async () => {
    const h = setup('2026-06-01T00:00:00Z');
    h.scheduler.load(device([]));
    h.scheduler.start();
    await h.scheduler.stop();
    expect(() => h.scheduler.enqueue(h.task('unlock', 'unlock:r1', 'url:/r1', MIN))).toThrow(/stopping/);
    const bare = new Scheduler({ clock: h.clock, localZone: 'UTC', execute: () => Promise.resolve({ status: 'x' }) });
    expect(() => bare.enqueue(h.task('unlock', 'unlock:r1', 'url:/r1', MIN))).toThrow(/cannot run unlock/);
  });
});

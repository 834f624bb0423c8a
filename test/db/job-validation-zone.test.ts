/**
 * checkJob asks for the process's time zone only when an enabled schedule is checked (the first
 * Intl call loads ICU zone data, ~24 ms of the one-shot backup's start on Node 20; a job without
 * schedules never needs it). Pure.
 */
import { expect, it } from 'vitest';
import type { ScheduleConfig } from '../../src/config/device-config.js';
import { checkJob } from '../../src/db/job-validation.js';
import type { Job } from '../../src/db/queries/jobs.js';

const job = { sourcePaths: ['/srv/data'], resticArgs: null, repositoryId: null } as unknown as Job;
const cron = (enabled: boolean) =>
  ({ id: 1, enabled, type: 'cron', cronExpression: '0 3 * * *', timezone: null }) as unknown as ScheduleConfig;

it('the zone getter is not called without an enabled schedule, and is for one', () => {
  let asked = 0;
  const zone = () => {
    asked++;
    return 'Europe/Prague';
  };
  expect(checkJob(job, [], false, zone)).toEqual([]);
  expect(checkJob(job, [cron(false)], false, zone)).toEqual([]);
  expect(asked).toBe(0);
  expect(checkJob(job, [cron(true)], false, zone)).toEqual([]);
  expect(asked).toBe(1);
});

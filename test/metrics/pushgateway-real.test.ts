import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupMetrics } from '../../src/metrics/backup-metrics.js';
import { PushgatewayPusher, type PushLogger } from '../../src/metrics/pushgateway.js';
import { silentLogger } from '../../src/logging.js';
import { parseExposition, select, valueOf } from './exposition.js';
import { startPushgateway, type RunningGateway } from './pushgateway-process.js';

// A pino Logger must fit the pusher's logger type (the agent passes its own).
const quiet: PushLogger = silentLogger();

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startPushgateway();
});
afterAll(async () => {
  await gw?.stop();
});

function setup(deviceId: string) {
  const metrics = new BackupMetrics({ deviceId });
  const pusher = new PushgatewayPusher({
    url: gw.url,
    deviceId,
    logger: quiet,
    getBody: () => metrics.metricsText(),
    timeoutSeconds: 5,
  });
  return { metrics, pusher };
}

const SUCCESS_END = new Date('2024-05-01T10:00:00Z');

describe('Pushgateway (real prometheus-pushgateway)', () => {
  it('a success then a failure reach the gateway with device/job_id/job_name labels and the right values', async () => {
    const { metrics, pusher } = setup('ws-real-1');
    const base = { jobId: 'a1b2c3d4-0000-4000-8000-00000000000a', jobName: 'Documents' };
    metrics.recordRun({
      ...base,
      status: 'success',
      endTime: SUCCESS_END,
      durationSeconds: 90,
      totalFilesProcessed: 321,
      dataAddedBytes: 65_536,
    });
    expect(await pusher.pushAndWait()).toBe(true);
    metrics.recordRun({
      ...base,
      status: 'failed',
      endTime: new Date('2024-05-02T10:00:00Z'),
      durationSeconds: 2,
      totalFilesProcessed: null,
      dataAddedBytes: null,
    });
    expect(await pusher.pushAndWait()).toBe(true);

    const exp = parseExposition(await gw.scrape());
    const labels = { job: 'rbackup2', device: 'ws-real-1', job_id: base.jobId, job_name: 'Documents' };
    expect(valueOf(exp, 'backup_last_success_timestamp', labels)).toBe(SUCCESS_END.getTime() / 1000);
    expect(valueOf(exp, 'backup_files_total', labels)).toBe(321);
    expect(valueOf(exp, 'backup_bytes_added', labels)).toBe(65_536);
    expect(valueOf(exp, 'backup_runs_total', { ...labels, status: 'failed' })).toBe(1);
    expect(valueOf(exp, 'backup_runs_total', { ...labels, status: 'success' })).toBe(1);
    expect(valueOf(exp, 'backup_duration_seconds_count', labels)).toBe(2);
    expect(valueOf(exp, 'backup_duration_seconds_sum', labels)).toBe(92);
    expect(valueOf(exp, 'push_time_seconds', { job: 'rbackup2', device: 'ws-real-1' })).toBeGreaterThan(0);
    expect(pusher.state()).toMatchObject({ consecutiveFailures: 0, lastError: null });
    await pusher.stop();
  });

  it('C23 a job removed (and a job renamed) is gone from the gateway after the next push', async () => {
    const { metrics, pusher } = setup('ws-real-2');
    const end = SUCCESS_END;
    metrics.recordRun({
      jobId: 'keep',
      jobName: 'Keep',
      status: 'success',
      endTime: end,
      durationSeconds: 1,
      totalFilesProcessed: 1,
      dataAddedBytes: 1,
    });
    metrics.recordRun({
      jobId: 'del',
      jobName: 'Deleted',
      status: 'success',
      endTime: end,
      durationSeconds: 1,
      totalFilesProcessed: 1,
      dataAddedBytes: 1,
    });
    metrics.recordRun({
      jobId: 'ren',
      jobName: 'Old name',
      status: 'success',
      endTime: end,
      durationSeconds: 1,
      totalFilesProcessed: 1,
      dataAddedBytes: 1,
    });
    expect(await pusher.pushAndWait()).toBe(true);
    let exp = parseExposition(await gw.scrape());
    expect(select(exp, 'backup_last_success_timestamp', { device: 'ws-real-2' })).toHaveLength(3);

    metrics.syncJobs([
      { id: 'keep', name: 'Keep' },
      { id: 'ren', name: 'New name' },
    ]);
    expect(await pusher.pushAndWait()).toBe(true);
    exp = parseExposition(await gw.scrape());
    const mine = exp.samples.filter((s) => s.labels.device === 'ws-real-2' && s.name.startsWith('backup_'));
    expect(mine.filter((s) => s.labels.job_id === 'del')).toEqual([]);
    expect(mine.filter((s) => s.labels.job_name === 'Old name')).toEqual([]);
    expect(
      valueOf(exp, 'backup_last_success_timestamp', { device: 'ws-real-2', job_id: 'ren', job_name: 'New name' }),
    ).toBe(end.getTime() / 1000);
    expect(valueOf(exp, 'backup_last_success_timestamp', { device: 'ws-real-2', job_id: 'keep' })).toBe(
      end.getTime() / 1000,
    );

    // the last job deleted too: the whole group is replaced, no backup_* series is left behind
    metrics.syncJobs([]);
    expect(await pusher.pushAndWait()).toBe(true);
    exp = parseExposition(await gw.scrape());
    expect(exp.samples.filter((s) => s.labels.device === 'ws-real-2' && s.name.startsWith('backup_'))).toEqual([]);
    expect(valueOf(exp, 'rbackup2_journal_entries_pending', { device: 'ws-real-2' })).toBe(0);
    await pusher.stop();
  });

  it("groups are per device: one device's push leaves another's alone; deleteGroup removes only its own", async () => {
    const a = setup('ws-real-3a');
    const b = setup('ws-real-3b');
    for (const { metrics } of [a, b])
      metrics.recordRun({
        jobId: 'j',
        jobName: 'J',
        status: 'success',
        endTime: SUCCESS_END,
        durationSeconds: 1,
        totalFilesProcessed: 1,
        dataAddedBytes: 1,
      });
    expect(await a.pusher.pushAndWait()).toBe(true);
    expect(await b.pusher.pushAndWait()).toBe(true);
    expect(await a.pusher.deleteGroup()).toBe(true);
    // DELETE is queued by the gateway (answers 202): poll briefly until it is applied
    let exp = parseExposition(await gw.scrape());
    for (let i = 0; i < 20 && select(exp, 'backup_runs_total', { device: 'ws-real-3a' }).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      exp = parseExposition(await gw.scrape());
    }
    expect(select(exp, 'backup_runs_total', { device: 'ws-real-3a' })).toEqual([]);
    expect(valueOf(exp, 'backup_runs_total', { device: 'ws-real-3b', status: 'success' })).toBe(1);
    a.pusher.pushSoon(); // stopped by deleteGroup: must not re-create the group
    await a.pusher.flush();
    expect(select(parseExposition(await gw.scrape()), 'backup_runs_total', { device: 'ws-real-3a' })).toEqual([]);
    await b.pusher.stop();
  });

  it('a device id with "/", spaces and non-ASCII reaches the gateway as the exact device label', async () => {
    const id = 'office/Účetní PC #2';
    const { metrics, pusher } = setup(id);
    expect(pusher.groupUrl).toContain('/device@base64/');
    metrics.recordRun({
      jobId: 'j',
      jobName: 'J',
      status: 'partial',
      endTime: SUCCESS_END,
      durationSeconds: 1,
      totalFilesProcessed: 1,
      dataAddedBytes: 1,
    });
    expect(await pusher.pushAndWait()).toBe(true);
    const exp = parseExposition(await gw.scrape());
    expect(valueOf(exp, 'backup_runs_total', { device: id, job: 'rbackup2', status: 'partial' })).toBe(1);
    expect(await pusher.deleteGroup()).toBe(true);
  });
});

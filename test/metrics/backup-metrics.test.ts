import { describe, expect, it } from 'vitest';
import { register as globalRegistry } from 'prom-client';
import { BackupMetrics, DURATION_BUCKETS_SECONDS, type RunMetricsInput } from '../../src/metrics/backup-metrics.js';
import { isAppError } from '../../src/errors.js';
import { parseExposition, select, valueOf } from './exposition.js';

const JOB = { jobId: '6f1d2a4e-0000-4000-8000-000000000001', jobName: 'device1/Dokumenty' };

function run(over: Partial<RunMetricsInput>): RunMetricsInput {
  return {
    ...JOB,
    deviceId: 'ws-1',
    status: 'success',
    endTime: new Date('2024-05-01T10:00:00Z'),
    durationSeconds: 42,
    totalFilesProcessed: 1234,
    dataAddedBytes: 5_000_000,
    ...over,
  };
}

async function scrape(m: BackupMetrics) {
  return parseExposition(await m.metricsText());
}

describe('BackupMetrics', () => {
  it('records a success then a failure: timestamp kept, counters per status, labels device/job_id/job_name', async () => {
    const m = new BackupMetrics({ deviceId: 'ws-1' });
    m.recordRun(run({}));
    m.recordRun(
      run({
        status: 'failed',
        endTime: new Date('2024-05-02T10:00:00Z'),
        durationSeconds: 3,
        totalFilesProcessed: null,
        dataAddedBytes: null,
      }),
    );
    const exp = await scrape(m);
    const labels = { device: 'ws-1', job_id: JOB.jobId, job_name: JOB.jobName };
    expect(valueOf(exp, 'backup_last_success_timestamp', labels)).toBe(Date.parse('2024-05-01T10:00:00Z') / 1000);
    expect(valueOf(exp, 'backup_files_total', labels)).toBe(1234);
    expect(valueOf(exp, 'backup_bytes_added', labels)).toBe(5_000_000);
    expect(valueOf(exp, 'backup_runs_total', { ...labels, status: 'success' })).toBe(1);
    expect(valueOf(exp, 'backup_runs_total', { ...labels, status: 'failed' })).toBe(1);
    expect(valueOf(exp, 'backup_runs_total', { ...labels, status: 'partial' })).toBe(0);
    expect(valueOf(exp, 'backup_duration_seconds_count', labels)).toBe(2);
    expect(valueOf(exp, 'backup_duration_seconds_sum', labels)).toBe(45);
    expect(valueOf(exp, 'backup_duration_seconds_bucket', { ...labels, le: '5' })).toBe(1);
    expect(valueOf(exp, 'backup_duration_seconds_bucket', { ...labels, le: '60' })).toBe(2);
    expect(exp.types.get('backup_duration_seconds')).toBe('histogram');
    expect(exp.types.get('backup_runs_total')).toBe('counter');
    expect(exp.types.get('backup_last_success_timestamp')).toBe('gauge');
    for (const s of exp.samples) {
      expect(s.labels).not.toHaveProperty('job');
      expect(s.labels).not.toHaveProperty('instance');
    }
  });

  it("uses its own registry, not prom-client's global one", async () => {
    const m = new BackupMetrics({ deviceId: 'ws-1' });
    m.recordRun(run({}));
    expect(await globalRegistry.metrics()).not.toContain('backup_');
    const other = new BackupMetrics({ deviceId: 'ws-2' }); // a second instance does not clash
    expect(select(await scrape(other), 'backup_runs_total')).toHaveLength(0);
  });

  it('histogram buckets run from 1 s to 24 h', () => {
    expect(DURATION_BUCKETS_SECONDS[0]).toBe(1);
    expect(DURATION_BUCKETS_SECONDS.at(-1)).toBe(86_400);
    expect([...DURATION_BUCKETS_SECONDS].sort((a, b) => a - b)).toEqual(DURATION_BUCKETS_SECONDS);
  });

  it('C04 a partial run counts as partial, not failed, and updates the last success (snapshot saved)', async () => {
    const m = new BackupMetrics({ deviceId: 'ws-1' });
    m.recordRun(
      run({ status: 'partial', endTime: new Date('2024-05-03T00:00:00Z'), totalFilesProcessed: 7, dataAddedBytes: 10 }),
    );
    const exp = await scrape(m);
    expect(valueOf(exp, 'backup_runs_total', { status: 'partial' })).toBe(1);
    expect(valueOf(exp, 'backup_runs_total', { status: 'failed' })).toBe(0);
    expect(valueOf(exp, 'backup_last_success_timestamp')).toBe(Date.parse('2024-05-03T00:00:00Z') / 1000);
    expect(valueOf(exp, 'backup_files_total')).toBe(7);
  });

  it('cancelled and interrupted runs count by status and leave the gauges alone', async () => {
    const m = new BackupMetrics({ deviceId: 'ws-1' });
    m.recordRun(run({}));
    m.recordRun(
      run({
        status: 'cancelled',
        endTime: new Date('2024-06-01T00:00:00Z'),
        totalFilesProcessed: 1,
        dataAddedBytes: 1,
      }),
    );
    m.recordRun(
      run({
        status: 'interrupted',
        endTime: new Date('2024-06-02T00:00:00Z'),
        durationSeconds: null,
        totalFilesProcessed: null,
        dataAddedBytes: null,
      }),
    );
    const exp = await scrape(m);
    expect(valueOf(exp, 'backup_runs_total', { status: 'cancelled' })).toBe(1);
    expect(valueOf(exp, 'backup_runs_total', { status: 'interrupted' })).toBe(1);
    expect(valueOf(exp, 'backup_last_success_timestamp')).toBe(Date.parse('2024-05-01T10:00:00Z') / 1000);
    expect(valueOf(exp, 'backup_files_total')).toBe(1234);
    expect(valueOf(exp, 'backup_duration_seconds_count')).toBe(2); // null duration not observed
  });

  it('the last success timestamp never moves backwards (a run recorded late)', async () => {
    const m = new BackupMetrics({ deviceId: 'ws-1' });
    m.recordRun(run({ endTime: new Date('2024-05-05T00:00:00Z') }));
    m.recordRun(run({ endTime: new Date('2024-05-04T00:00:00Z') }));
    expect(valueOf(await scrape(m), 'backup_last_success_timestamp')).toBe(Date.parse('2024-05-05T00:00:00Z') / 1000);
  });

  it('C23 removeJob drops every series of the job and only of that job', async () => {
    const m = new BackupMetrics({ deviceId: 'ws-1' });
    m.recordRun(run({}));
    m.recordRun(run({ jobId: 'other', jobName: 'Other' }));
    expect(m.removeJob(JOB.jobId)).toBe(true);
    expect(m.removeJob(JOB.jobId)).toBe(false);
    const exp = await scrape(m);
    expect(exp.samples.filter((s) => s.labels.job_id === JOB.jobId)).toEqual([]);
    expect(valueOf(exp, 'backup_runs_total', { job_id: 'other', status: 'success' })).toBe(1);
  });

  it("C23 syncJobs removes deleted jobs, moves a renamed job's gauges and drops the old name", async () => {
    const m = new BackupMetrics({ deviceId: 'ws-1' });
    m.recordRun(run({}));
    m.recordRun(run({ jobId: 'gone', jobName: 'Gone' }));
    m.syncJobs([
      { id: JOB.jobId, name: 'Renamed' },
      { id: 'new', name: 'New' },
    ]);
    const exp = await scrape(m);
    expect(exp.samples.filter((s) => s.labels.job_id === 'gone')).toEqual([]);
    expect(exp.samples.filter((s) => s.labels.job_name === JOB.jobName)).toEqual([]);
    expect(valueOf(exp, 'backup_last_success_timestamp', { job_id: JOB.jobId, job_name: 'Renamed' })).toBe(
      Date.parse('2024-05-01T10:00:00Z') / 1000,
    );
    expect(valueOf(exp, 'backup_files_total', { job_id: JOB.jobId })).toBe(1234);
    // a new job has zeroed counters (so increase() sees its first failure) and no success time
    expect(valueOf(exp, 'backup_runs_total', { job_id: 'new', status: 'failed' })).toBe(0);
    expect(select(exp, 'backup_last_success_timestamp', { job_id: 'new' })).toEqual([]);
    expect(m.jobIds().sort()).toEqual([JOB.jobId, 'new'].sort());
  });

  it("a run under a new job name replaces the old name's series", async () => {
    const m = new BackupMetrics({ deviceId: 'ws-1' });
    m.recordRun(run({}));
    m.recordRun(run({ jobName: 'New name', status: 'failed' }));
    const exp = await scrape(m);
    expect(select(exp, 'backup_runs_total', { job_name: JOB.jobName })).toEqual([]);
    expect(valueOf(exp, 'backup_runs_total', { job_name: 'New name', status: 'failed' })).toBe(1);
  });

  it('label values with quotes, backslashes and non-ASCII survive the exposition', async () => {
    const m = new BackupMetrics({ deviceId: 'ws-1' });
    const name = 'Fotomateriály "2024" C:\\Users';
    m.recordRun(run({ jobName: name }));
    expect(valueOf(await scrape(m), 'backup_runs_total', { job_name: name, status: 'success' })).toBe(1);
  });

  it('rejects an unknown status and a foreign device id with INVALID_INPUT', () => {
    const m = new BackupMetrics({ deviceId: 'ws-1' });
    const bad = (r: RunMetricsInput) => {
      try {
        m.recordRun(r);
        return null;
      } catch (err) {
        return err;
      }
    };
    expect(isAppError(bad(run({ status: 'running' as never })), 'INVALID_INPUT')).toBe(true);
    expect(isAppError(bad(run({ deviceId: 'ws-2' })), 'INVALID_INPUT')).toBe(true);
  });

  it('exposes the journal gauge, zero until set', async () => {
    const m = new BackupMetrics({ deviceId: 'ws-1' });
    expect(valueOf(await scrape(m), 'rbackup2_journal_entries_pending', { device: 'ws-1' })).toBe(0);
    m.setJournalPending(4);
    expect(valueOf(await scrape(m), 'rbackup2_journal_entries_pending', { device: 'ws-1' })).toBe(4);
    expect(m.contentType).toContain('text/plain');
  });
});

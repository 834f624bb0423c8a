/**
 * Issue 14: the run lifecycle records a task of any kind, and `run.finished` carries the outcome
 * and the error; metrics and the SSE stream observe runs only through those events. A repository-
 * level task (a check, job_id NULL) that fails, and one that throws, on PostgreSQL and PGlite.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { ActiveRepositories } from '../../src/backup/active-repositories.js';
import { systemClock } from '../../src/clock.js';
import { addRepository, getRun, migrate, upsertDevice } from '../../src/db/index.js';
import { EventBus, type AgentEvents } from '../../src/events.js';
import { silentLogger } from '../../src/logging.js';
import { BackupMetrics } from '../../src/metrics/backup-metrics.js';
import { observeRunMetrics } from '../../src/metrics/run-events.js';
import { RunLifecycle } from '../../src/runs/run-lifecycle.js';
import { DbRunStore } from '../../src/runs/run-store.js';
import type { Task } from '../../src/tasks/task.js';
import { forEachDatabase } from '../helpers/databases.js';

forEachDatabase('run lifecycle of several kinds', (getDb) => {
  let repoId = '';
  const device = `kinds-${randomUUID().slice(0, 6)}`;
  beforeAll(async () => {
    await migrate(getDb());
    await upsertDevice(getDb(), { id: device });
    repoId = (await addRepository(getDb(), { name: `r-${device}`, url: '/srv/kinds', password: 'pw' })).id;
  });

  const check = (run: Task['run']): Task => ({
    kind: 'check',
    key: `check:${repoId}`,
    job: null,
    repositoryId: repoId,
    repository: 'url:/srv/kinds',
    triggeredBy: 'schedule',
    label: 'r-kinds',
    run,
  });

  it('a failed check is recorded with its operation, repository and error; run.finished carries them; metrics count it', async () => {
    const events = new EventBus();
    const metrics = new BackupMetrics({ deviceId: device });
    observeRunMetrics(events, metrics, silentLogger());
    const got: AgentEvents['run.finished'][] = [];
    events.on('run.finished', (e) => got.push(e));
    const started: AgentEvents['run.started'][] = [];
    events.on('run.started', (e) => started.push(e));
    const lifecycle = new RunLifecycle({
      deviceId: device,
      dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-kinds-')),
      clock: systemClock,
      events,
      store: new DbRunStore(getDb()),
      logger: silentLogger(),
      activeRepositories: new ActiveRepositories(),
      restic: () => null,
      resticError: () => 'no restic',
    });
    const failed = await lifecycle.run(
      check(async () => ({
        status: 'failed',
        errorKind: 'locked',
        exitCode: 1,
        errorMessage: 'repository is already locked by PID 7',
        endTime: new Date().toISOString(),
        durationSeconds: 0.5,
      })),
    );
    expect(started).toMatchObject([{ operation: 'check', jobId: null, repositoryId: repoId, jobName: 'r-kinds' }]);
    expect(got).toEqual([
      expect.objectContaining({
        runId: failed.runId,
        operation: 'check',
        jobId: null,
        repositoryId: repoId,
        status: 'failed',
        exitCode: 1,
        errorKind: 'locked',
        errorMessage: 'repository is already locked by PID 7',
      }),
    ]);
    expect(await getRun(getDb(), failed.runId!)).toMatchObject({
      operation: 'check',
      jobId: null,
      repositoryId: repoId,
      status: 'failed',
      exitCode: 1,
      errorMessage: 'repository is already locked by PID 7',
      triggeredBy: 'schedule',
    });
    // A task that throws is recorded failed with the error, not lost.
    const thrown = await lifecycle.run(check(() => Promise.reject(new Error('connection string is bad'))));
    expect(got[1]).toMatchObject({
      status: 'failed',
      errorKind: 'task_error',
      errorMessage: 'connection string is bad',
    });
    expect((await getRun(getDb(), thrown.runId!))?.errorMessage).toBe('connection string is bad');
    expect(lifecycle.size).toBe(0);
    const text = await metrics.metricsText();
    expect(text).toContain(
      `rbackup2_operation_runs_total{device="${device}",operation="check",job_id="",job_name="",repository_id="${repoId}",status="failed"} 2`,
    );
    // The backup_* names stay about backups: a check adds no backup series.
    expect(text).not.toMatch(/backup_runs_total\{[^}]*status="failed"\} [1-9]/);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { isAppError } from '../../src/errors.js';
import { runHooks } from '../../src/backup/hooks.js';
import { discoverRestic } from '../../src/restic/version.js';
import { runBackup } from '../../src/backup/run-backup.js';
import { spawnProcess } from '../../src/restic/spawn.js';
import { makeJob, makeRepo, tempDir } from './helpers.js';

const tmp = tempDir('rbackup2-hooks-');
afterAll(() => tmp.cleanup());

describe('spawn wrapper', () => {
  it('C07 cancel sends SIGINT first, then SIGKILL after the grace period', async () => {
    const marker = path.join(tmp.dir, 'got-int');
    // A child that notes SIGINT and ignores it: only SIGKILL ends it.
    const p = spawnProcess({
      command: '/bin/sh',
      args: ['-c', `trap 'echo int > "${marker}"' INT; echo ready; while :; do sleep 0.05; done`],
      env: { PATH: process.env.PATH ?? '' },
      clock: systemClock,
      onStdout: () => undefined,
    });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    p.cancel(1);
    const r = await p.done;
    expect(r.signal).toBe('SIGKILL');
    expect(r.cancelRequested).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(fs.readFileSync(marker, 'utf8').trim()).toBe('int');
  });

  it('never rejects when the binary is missing', async () => {
    const r = await spawnProcess({ command: path.join(tmp.dir, 'nope'), args: [], env: {}, clock: systemClock }).done;
    expect(r.exitCode).toBeNull();
    expect(r.spawnError).toMatch(/ENOENT/);
  });

  it('discoverRestic finds restic 0.14 and reports a missing binary as RESTIC_MISSING', async () => {
    const found = await discoverRestic('restic');
    expect(found.version).toMatchObject({ major: 0, minor: 14 });
    const err = await discoverRestic(path.join(tmp.dir, 'no-restic')).catch((e: unknown) => e);
    expect(isAppError(err, 'RESTIC_MISSING')).toBe(true);
    expect((err as Error).message).toMatch(/was not found; install restic/);
    const notRestic = await discoverRestic('/bin/true').catch((e: unknown) => e);
    expect(isAppError(notRestic, 'RESTIC_MISSING')).toBe(true);
  });
});

describe('hooks', () => {
  const base = { baseEnv: { PATH: process.env.PATH ?? '' }, timeoutSeconds: 5, clock: systemClock };

  it('pass run details only as env vars (no shell injection) and keep output bounded', async () => {
    const out = path.join(tmp.dir, 'env.txt');
    const hooks = [
      {
        id: 1,
        jobId: 'j',
        command: `printf '%s|%s|%s' "$RBACKUP2_JOB_NAME" "$RBACKUP2_RUN_STATUS" "$RBACKUP2_SNAPSHOT_ID" > "${out}"; seq 1 5000`,
        timing: 'end' as const,
        onError: 'continue' as const,
        enabled: true,
      },
    ];
    const r = await runHooks(hooks, 'end', {
      ...base,
      runEnv: {
        RBACKUP2_JOB_NAME: 'x"; touch /tmp/pwned; "',
        RBACKUP2_RUN_STATUS: 'success',
        RBACKUP2_SNAPSHOT_ID: 'abcd1234',
      },
    });
    expect(r.results[0]?.ok).toBe(true);
    expect(fs.readFileSync(out, 'utf8')).toBe('x"; touch /tmp/pwned; "|success|abcd1234');
    expect(r.results[0]?.output.split('\n').length).toBeLessThanOrEqual(51);
    expect(r.results[0]?.output.endsWith('5000')).toBe(true);
  });

  it('a failing start hook with on_error stop skips the backup; continue only warns; timeouts end the hook', async () => {
    const job = makeJob({
      sourcePaths: [tmp.dir],
      repository: makeRepo({ url: path.join(tmp.dir, 'never-used') }),
      hooks: [
        {
          id: 1,
          jobId: 'j',
          command: 'echo soft failure; exit 4',
          timing: 'start',
          onError: 'continue',
          enabled: true,
        },
        {
          id: 2,
          jobId: 'j',
          command: 'echo mount failed >&2; exit 2',
          timing: 'start',
          onError: 'stop',
          enabled: true,
        },
        { id: 3, jobId: 'j', command: 'exit 9', timing: 'start', onError: 'stop', enabled: false },
      ],
    });
    const result = await runBackup({
      job,
      restic: { path: 'restic', version: { major: 0, minor: 14, patch: 0, raw: '0.14.0' } },
      dataDir: tmp.dir,
    });
    expect(result).toMatchObject({ status: 'failed', errorKind: 'hook_failed', exitCode: null, attempts: 0 });
    expect(result.errorMessage).toBe(
      'The backup did not run: start hook "echo mount failed >&2; exit 2" failed (exit code 2): mount failed.',
    );
    expect(result.warnings).toContain('start hook "echo soft failure; exit 4" failed (exit code 4): soft failure.');
    expect(result.hooks).toHaveLength(2);
    const slow = await runHooks(
      [{ id: 1, jobId: 'j', command: 'sleep 30', timing: 'start', onError: 'stop', enabled: true }],
      'start',
      { ...base, timeoutSeconds: 0.5, runEnv: {} },
    );
    expect(slow.stop).toBe(true);
    expect(slow.results[0]?.timedOut).toBe(true);
  });
});

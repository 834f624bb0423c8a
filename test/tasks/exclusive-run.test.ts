/**
 * The run frame shared by forget, prune and check (tasks/maintenance-outcome.ts): a lease the gate
 * could not get is a failed run naming why, and restic's work is not started; a thrown restic error
 * becomes the outcome with its kind, exit code, stderr and the notes collected before it.
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import type { RepositoryConfig } from '../../src/config/device-config.js';
import type { MaintenanceDeps } from '../../src/maintenance/maintenance-deps.js';
import { ResticError } from '../../src/restic/errors.js';
import { exclusiveGate, exclusiveRun, type GateState } from '../../src/tasks/maintenance-outcome.js';
import type { RunResultLike, TaskOutcome } from '../../src/tasks/task.js';

/** What the lifecycle's `proceed` does for a gate: record the run and run the task (here: `run`). */
const recorded = (run: () => Promise<TaskOutcome>) => async (): Promise<RunResultLike> => {
  const outcome = await run();
  return { status: outcome.status, runId: 1, outcome };
};

const repo = { id: 'r1', name: 'nas', url: '/srv/repo', password: 'pw', env: {} } as unknown as RepositoryConfig;

describe('exclusive maintenance runs (forget, prune, check)', () => {
  it('a lease not had in time: the run is recorded failed (lease_unavailable) with the reason, restic never starts', async () => {
    const state: GateState = { blocked: null };
    const deps = {
      leases: {
        exclusive: async () => ({ ok: false, reason: 'device laptop-2 holds a backup lease on "nas"' }),
      },
    } as unknown as MaintenanceDeps;
    const gate = exclusiveGate({ kind: 'prune', resticRepositoryId: 'f'.repeat(64) }, repo, deps, state);
    let bodyRan = false;
    const { outcome } = await gate(
      new AbortController().signal,
      recorded(() =>
        exclusiveRun({ clock: systemClock }, state, async () => {
          bodyRan = true;
          throw new Error('not reached');
        }),
      ),
    );
    expect(bodyRan).toBe(false);
    expect(outcome).toMatchObject({
      status: 'failed',
      errorKind: 'lease_unavailable',
      errorMessage: 'device laptop-2 holds a backup lease on "nas"',
    });
  });

  it('a lease had: the work runs inside it; a restic error is the outcome, with the notes gathered before it', async () => {
    const state: GateState = { blocked: null };
    let inside = false;
    const deps = {
      leases: {
        exclusive: async (_t: unknown, _k: unknown, _s: unknown, fn: () => Promise<unknown>) => {
          inside = true;
          const value = await fn();
          inside = false;
          return { ok: true, value };
        },
      },
    } as unknown as MaintenanceDeps;
    const gate = exclusiveGate({ kind: 'check', resticRepositoryId: 'e'.repeat(64) }, repo, deps, state);
    const { outcome } = await gate(
      new AbortController().signal,
      recorded(() =>
        exclusiveRun({ clock: systemClock }, state, async (_started, notes) => {
          expect(inside).toBe(true);
          notes.push('stale lock of a dead process removed');
          throw new ResticError('locked', 'repository is already locked', { exitCode: 1, stderrTail: 'Fatal: locked' });
        }),
      ),
    );
    expect(outcome).toMatchObject({
      status: 'failed',
      errorKind: 'locked',
      exitCode: 1,
      resticErrors: 'Fatal: locked\nstale lock of a dead process removed',
    });
    const cancelled = await exclusiveRun({ clock: systemClock }, { blocked: null }, async () => {
      throw new ResticError('cancelled', 'cancelled');
    });
    expect(cancelled.status).toBe('cancelled');
  });
});

import { describe, expect, it } from 'vitest';
import { retryDecision } from '../../src/scheduler/retry.js';

const base = {
  attemptsMade: 0,
  finishedAt: 1_000_000,
  nextRegularRunAt: 1_000_000 + 86_400_000,
  retryDelaySeconds: 600,
  retryMaxAttempts: 3,
};

describe('retryDecision', () => {
  it('retries failed and interrupted runs after the delay, up to the maximum', () => {
    expect(retryDecision({ ...base, status: 'failed' })).toEqual({ action: 'retry', retryAt: 1_600_000, attempt: 1 });
    expect(retryDecision({ ...base, status: 'interrupted', attemptsMade: 2 })).toEqual({
      action: 'retry',
      retryAt: 1_600_000,
      attempt: 3,
    });
    expect(retryDecision({ ...base, status: 'failed', attemptsMade: 3 })).toMatchObject({
      action: 'none',
      reason: expect.stringMatching(/after 3 retries/),
    });
  });

  it('never retries at or after the next regular run', () => {
    expect(retryDecision({ ...base, status: 'failed', nextRegularRunAt: 1_600_000 }).action).toBe('none');
    expect(retryDecision({ ...base, status: 'failed', nextRegularRunAt: 1_600_001 }).action).toBe('retry');
    expect(retryDecision({ ...base, status: 'failed', nextRegularRunAt: null }).action).toBe('retry');
  });

  it('success and partial reset the chain; cancelled is not retried', () => {
    expect(retryDecision({ ...base, status: 'success', attemptsMade: 2 })).toEqual({ action: 'reset' });
    expect(retryDecision({ ...base, status: 'partial' })).toEqual({ action: 'reset' });
    expect(retryDecision({ ...base, status: 'cancelled' }).action).toBe('none');
  });
});

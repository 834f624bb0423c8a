import { describe, expect, it } from 'vitest';
import {
  boundRunDetail,
  redactConfig,
  sanitizeProgress,
  sanitizeStatus,
  MAX_OUTPUT_CHARS,
} from '../../src/api/sanitize.js';
import { REDACTED } from '../../src/api/config-schema.js';
import { toHttpError, HTTP_STATUS } from '../../src/api/http-errors.js';
import { AppError, ERROR_CODES } from '../../src/errors.js';
import type { AgentStatus, RunDetail } from '../../src/api/agent-port.js';

const progress = {
  percentDone: 1.7,
  totalFiles: 10,
  filesDone: -1,
  totalBytes: 2 ** 60,
  bytesDone: 5,
  secondsElapsed: 3,
  secondsRemaining: 9223372036854775808,
  currentFiles: Array.from({ length: 50 }, (_, i) => `/f${i}`),
};

describe('sanitize', () => {
  it('C05 drops out-of-range progress numbers (2^63 ETA from restic 0.14) and clamps percent', () => {
    const p = sanitizeProgress(progress);
    expect(p).toMatchObject({
      percentDone: 1,
      filesDone: null,
      totalBytes: null,
      bytesDone: 5,
      secondsRemaining: null,
      totalFiles: 10,
    });
    expect(p.currentFiles).toHaveLength(10);
    expect(sanitizeProgress({ ...progress, secondsRemaining: 42 }).secondsRemaining).toBe(42);
    expect(sanitizeProgress({ ...progress, percentDone: Number.NaN }).percentDone).toBe(0);
  });

  it('C05 sanitises every progress record of /status', () => {
    const s = {
      device: {},
      database: {},
      restic: {},
      jobs: [{ id: 'a', progress }],
      running: [{ jobId: 'a', runId: 1, startTime: '', progress }],
    } as unknown as AgentStatus;
    const out = sanitizeStatus(s);
    expect(out.jobs[0]!.progress!.secondsRemaining).toBeNull();
    expect(out.running[0]!.progress!.secondsRemaining).toBeNull();
  });

  it('C13 redacts passwords, tokens and repository env values, keeps "not set" visible', () => {
    const c = redactConfig({
      device: { id: 'd', name: 'n' },
      jobs: [
        { name: 'x', repository: { password: 'p1', password_file: '/etc/pw', env: { AWS_SECRET_ACCESS_KEY: 'k' } } },
      ],
      settings: { repository_password: 'p2', repository_url: 's3:x', api_token: '' },
      repositories: [{ name: 'r', password: 'p3', env: { B2_ACCOUNT_KEY: 'k2' } }],
    });
    const text = JSON.stringify(c);
    for (const secret of ['p1', 'p2', 'p3', '"k"', 'k2']) expect(text).not.toContain(secret);
    expect(c.settings.repository_password).toBe(REDACTED);
    expect(c.settings.api_token).toBe('');
    expect(text).toContain('/etc/pw');
    expect(c.settings.repository_url).toBe('s3:x');
  });

  it('bounds run output to its tail', () => {
    const d = boundRunDetail({
      resticOutput: `${'a'.repeat(MAX_OUTPUT_CHARS)}END`,
      resticErrors: null,
      warnings: [],
      unreadablePaths: [],
    } as unknown as RunDetail);
    expect(d.resticOutput).toHaveLength(MAX_OUTPUT_CHARS);
    expect(d.resticOutput!.endsWith('END')).toBe(true);
    expect(d.outputTruncated).toBe(true);
  });
});

describe('error mapping', () => {
  it('maps every AppError code to a status, hides messages of unexpected errors', () => {
    for (const code of Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[])
      expect(HTTP_STATUS[code]).toBeGreaterThanOrEqual(400);
    expect(toHttpError(new AppError('NOT_FOUND', 'job x does not exist'))).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'job x does not exist' } },
    });
    const q = toHttpError(new AppError('DB_QUERY', 'syntax error near password=hunter2'));
    expect(q.status).toBe(500);
    expect(q.body.error.message).not.toContain('hunter2');
    expect(toHttpError(new Error('boom')).body.error).toEqual({ code: 'INTERNAL', message: 'internal error' });
    expect(toHttpError(new AppError('DB_CONNECT', 'database down')).status).toBe(503);
  });
});

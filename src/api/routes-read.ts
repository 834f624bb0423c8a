/**
 * Read-only routes (CONTRACTS §5): health, status, config, runs, next runs, cron preview.
 * Each answer passes through src/api/sanitize.ts before it leaves.
 */
import * as z from 'zod';
import { AppError, isAppError } from '../errors.js';
import type { AgentPort } from './agent-port.js';
import { invalidInput } from './http-errors.js';
import { defineRoute, type RouteDef } from './route-table.js';
import { boundRunDetail, redactConfig, sanitizeStatus } from './sanitize.js';
import { UUID_RE } from './config-schema.js';
import { RUN_OPERATIONS } from '../db/queries/runs.js';
import { validateCron, validateTimeZone } from '../scheduler/next-run.js';

const intParam = (min: number, max: number, dflt: number) => z.coerce.number().int().min(min).max(max).default(dflt);
const jobIdParams = z.strictObject({ id: z.string().max(64) });
const runIdParams = z.strictObject({ id: z.coerce.number().int().min(1).max(2_147_483_647) });

/** A path job id that is not a UUID cannot name a job: 404, like an unknown one. */
export function assertJobIdShape(id: string): void {
  if (!UUID_RE.test(id)) throw new AppError('NOT_FOUND', `job ${JSON.stringify(id.slice(0, 64))} does not exist`);
}

/** GET routes answering from the agent port. */
export function readRoutes(port: AgentPort): RouteDef[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/repositories',
      summary:
        'Each repository of this device: size and snapshots (refreshed after prune), last forget/prune/check, schedules, live leases',
      responses: { 200: { description: '{repositories: RepositoryView[]}' }, 404: { description: 'not available' } },
      handler: async () => {
        if (!port.repositories) throw new AppError('NOT_FOUND', 'the repository view is not available');
        return { repositories: await port.repositories() };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/health',
      summary: 'Liveness: plain text OK while the agent runs',
      public: true,
      responses: { 200: { description: 'OK', contentType: 'text/plain' } },
      handler: async ({ reply }) => reply.type('text/plain; charset=utf-8').send('OK'),
    }),
    defineRoute({
      method: 'GET',
      url: '/status',
      summary: 'Device, database state, jobs with last and next run, running backups with progress',
      responses: { 200: { description: 'AgentStatus' } },
      handler: async () => sanitizeStatus(await port.status()),
    }),
    defineRoute({
      method: 'GET',
      url: '/config',
      summary: "The device's jobs, schedules, hooks, settings and repositories; secrets redacted",
      responses: { 200: { description: 'ConfigView (passwords shown as ********)' } },
      handler: async () => redactConfig(await port.getConfig()),
    }),
    defineRoute({
      method: 'GET',
      url: '/runs',
      summary: 'Recent runs, newest first (paged)',
      query: z.strictObject({
        limit: intParam(1, 200, 20),
        offset: intParam(0, 1_000_000, 0),
        job_id: z.string().regex(UUID_RE, 'must be a UUID').optional(),
        operation: z.enum(RUN_OPERATIONS).optional(),
      }),
      responses: { 200: { description: '{runs, limit, offset, hasMore}' }, 400: { description: 'bad query' } },
      handler: async ({ query }) => {
        const rows = await port.listRuns({
          limit: query.limit + 1,
          offset: query.offset,
          ...(query.job_id ? { jobId: query.job_id } : {}),
          ...(query.operation ? { operation: query.operation } : {}),
        });
        return {
          runs: rows.slice(0, query.limit),
          limit: query.limit,
          offset: query.offset,
          hasMore: rows.length > query.limit,
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/runs/:id',
      summary: 'One run with errors, warnings, unreadable files and bounded output',
      params: runIdParams,
      responses: {
        200: { description: 'RunDetail' },
        400: { description: 'bad id' },
        404: { description: 'unknown run' },
      },
      handler: async ({ params }) => {
        const run = await port.getRun(params.id);
        if (!run) throw new AppError('NOT_FOUND', `run ${params.id} does not exist`);
        return boundRunDetail(run);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/jobs/:id/next-runs',
      summary: "Next run times of the job's schedules",
      params: jobIdParams,
      query: z.strictObject({ n: intParam(1, 50, 5) }),
      responses: { 200: { description: '{jobId, nextRuns: ISO 8601[]}' }, 404: { description: 'unknown job' } },
      handler: async ({ params, query }) => {
        assertJobIdShape(params.id);
        return { jobId: params.id, nextRuns: await port.nextRuns(params.id, query.n) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/cron-preview',
      summary: 'Next run times of a cron expression (for the editor)',
      query: z.strictObject({
        expr: z.string().min(1).max(200),
        tz: z.string().max(64).optional(),
        n: intParam(1, 50, 5),
      }),
      responses: {
        200: { description: '{expression, timezone, nextRuns}' },
        400: { description: 'invalid expression or zone' },
      },
      handler: async ({ query }) => {
        const tz = query.tz === undefined || query.tz === '' ? null : query.tz;
        const tzProblem = tz === null ? null : validateTimeZone(tz);
        if (tzProblem) throw invalidInput([{ field: 'query.tz', message: tzProblem }]);
        const problem = validateCron(query.expr, tz ?? 'UTC');
        if (problem) throw invalidInput([{ field: 'query.expr', message: problem }]);
        try {
          return { expression: query.expr, timezone: tz, nextRuns: await port.previewCron(query.expr, tz, query.n) };
        } catch (err) {
          if (isAppError(err, 'SCHEDULE_INVALID') || isAppError(err, 'INVALID_INPUT'))
            throw invalidInput([{ field: 'query.expr', message: err.message }]);
          throw err;
        }
      },
    }),
  ];
}

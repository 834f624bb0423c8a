/**
 * State-changing routes (CONTRACTS §5): POST /config, POST /jobs/{id}/run, POST /runs/{id}/cancel.
 * All are rate-limited and pass the CSRF rules of src/api/security.ts before they get here.
 */
import * as z from 'zod';
import { AppError } from '../errors.js';
import type { AgentPort } from './agent-port.js';
import { configChangeSchema } from './config-schema.js';
import { invalidInput } from './http-errors.js';
import { defineRoute, type RouteDef } from './route-table.js';
import { redactConfig } from './sanitize.js';
import { assertJobIdShape } from './routes-read.js';
import { repositoryInputSchema } from '../agent/repository-setup.js';
import { retentionSchema } from '../maintenance/retention-policy.js';

/** POST routes calling the agent port. */
export function writeRoutes(port: AgentPort): RouteDef[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/config',
      summary: "Create, update and delete this device's jobs, schedules, hooks and device settings (one transaction)",
      body: configChangeSchema,
      rateLimited: true,
      responses: {
        200: { description: '{config: ConfigView} after the change was applied' },
        400: { description: '{error:{code:INVALID_INPUT, fields}}' },
      },
      handler: async ({ body }) => {
        const r = await port.postConfig(body);
        if (!r.ok) throw invalidInput(r.errors, 'the config change was refused');
        return { config: redactConfig(r.config) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/repositories',
      summary:
        'Add a repository from URL and password: restic init (init: true) or open the existing one as a connection test; test_only stores nothing',
      body: repositoryInputSchema,
      rateLimited: true,
      responses: {
        200: { description: '{id, name, tested: true} (id null with test_only)' },
        400: {
          description: '{error:{code:INVALID_INPUT, fields}}: bad input, or restic refused (field url or password)',
        },
      },
      handler: async ({ body }) => {
        const r = await port.addRepository(body);
        if (!r.ok) throw invalidInput(r.errors, 'the repository was not added');
        return { id: r.id, name: r.name, tested: r.tested };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/jobs/:id/forget-preview',
      summary:
        "What a forget of the job would keep and remove (restic forget --dry-run --no-lock: no lock, nothing removed); retention previews another policy than the job's",
      params: z.strictObject({ id: z.string().max(64) }),
      body: z.union([z.strictObject({ retention: retentionSchema.nullable().optional() }), z.undefined()]),
      rateLimited: true,
      responses: {
        200: { description: '{policy, keep: [{id, time, hostname, paths, reasons}], remove: [...]}' },
        400: { description: 'no or bad policy, no repository' },
        404: { description: 'unknown job' },
      },
      handler: async ({ params, body }) => {
        assertJobIdShape(params.id);
        if (!port.previewForget) throw new AppError('NOT_FOUND', 'the forget preview is not available');
        return port.previewForget(params.id, body?.retention ?? null);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/jobs/:id/run',
      summary: 'Back up a job now',
      params: z.strictObject({ id: z.string().max(64) }),
      body: z.union([z.strictObject({}), z.undefined()]),
      rateLimited: true,
      responses: {
        202: { description: '{state: started|queued, position, jobId}' },
        404: { description: 'unknown job' },
        409: { description: 'already running or queued' },
      },
      handler: async ({ params, reply }) => {
        assertJobIdShape(params.id);
        const r = await port.triggerJob(params.id);
        if (r.state === 'already_running') throw new AppError('CONFLICT', `job ${params.id} is already running`);
        if (r.state === 'already_queued') throw new AppError('CONFLICT', `job ${params.id} is already queued`);
        reply.code(202);
        return r;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/runs/:id/cancel',
      summary: 'Cancel a running backup (restic gets SIGINT)',
      params: z.strictObject({ id: z.coerce.number().int().min(1).max(2_147_483_647) }),
      body: z.union([z.strictObject({}), z.undefined()]),
      rateLimited: true,
      responses: {
        202: { description: '{runId, cancelling: true}' },
        404: { description: 'unknown run' },
        409: { description: 'run is not running' },
      },
      handler: async ({ params, reply }) => {
        const run = await port.getRun(params.id);
        if (!run) throw new AppError('NOT_FOUND', `run ${params.id} does not exist`);
        if (!(await port.cancelRun(params.id)))
          throw new AppError('CONFLICT', `run ${params.id} is not running (status ${run.status})`);
        reply.code(202);
        return { runId: params.id, cancelling: true };
      },
    }),
  ];
}

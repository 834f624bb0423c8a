/**
 * Restore routes (issue 17, CONTRACTS §8): a job's snapshots (cached), one folder level of a
 * snapshot, a download of a file or folder, and POST /restores. Every route needs a login like
 * every other (server.ts). Bad input: unknown job or snapshot, a path not in the snapshot, a
 * snapshot of another job -> 404; a target not absolute or not allowed, an existing file without
 * `overwrite` -> 400 naming it; nothing is written on refusal.
 */
import * as z from 'zod';
import { errorMessage } from '../errors.js';
import type { RestorePort } from './restore-port.js';
import { defineRoute, type RouteDef } from './route-table.js';
import { assertJobIdShape } from './routes-read.js';

const snapParams = z.strictObject({ id: z.string().max(64), sid: z.string().max(80) });

/** `attachment; filename="ascii"; filename*=UTF-8''utf8` (RFC 6266 / 5987). */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** The routes; `port` is the agent's restore side. */
export function restoreRoutes(port: RestorePort): RouteDef[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/jobs/:id/snapshots',
      summary: "The job's snapshots (tag backup:<uuid>, every host), newest first, with the run statistics; cached",
      params: z.strictObject({ id: z.string().max(64) }),
      query: z.strictObject({ refresh: z.enum(['0', '1', 'true', 'false']).optional() }),
      responses: {
        200: { description: '{snapshots: [{id, short_id, time, hostname, paths, tags, stats}], read_at}' },
        404: { description: 'unknown job' },
      },
      handler: async ({ params, query }) => {
        assertJobIdShape(params.id);
        return port.snapshotList(params.id, query.refresh === '1' || query.refresh === 'true');
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/jobs/:id/snapshots/:sid/ls',
      summary: 'One folder level of a snapshot (name, type, size, mtime), folders first',
      params: snapParams,
      query: z.strictObject({ path: z.string().max(4096).optional() }),
      responses: {
        200: { description: '{path, display_path, breadcrumbs, entries, default_target, original_target}' },
        404: { description: 'unknown job, snapshot or path' },
      },
      handler: async ({ params, query }) => {
        assertJobIdShape(params.id);
        return port.browse(params.id, params.sid, query.path);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/jobs/:id/snapshots/:sid/download',
      summary: 'A file as itself (restic dump) or a folder as a zip (default) or tar archive, streamed',
      params: snapParams,
      query: z.strictObject({ path: z.string().min(1).max(4096), archive: z.enum(['zip', 'tar']).default('zip') }),
      responses: {
        200: { description: 'the file or archive', contentType: 'application/octet-stream' },
        404: { description: 'unknown job, snapshot or path' },
      },
      handler: async ({ params, query, req, reply }) => {
        assertJobIdShape(params.id);
        const d = await port.download(params.id, params.sid, query.path, query.archive);
        let finished = false;
        // The browser went away: restic gets SIGINT (its lock removed), never a broken pipe.
        reply.raw.on('close', () => {
          if (!finished) d.cancel();
        });
        d.stream.on('end', () => {
          finished = true;
        });
        void d.done.then((err) => {
          if (err && !finished) {
            req.log.warn({ err: errorMessage(err) }, 'download ended early');
            d.stream.destroy(err);
          }
        });
        reply.header('Content-Disposition', contentDisposition(d.filename));
        reply.header('Cache-Control', 'no-store');
        if (d.size !== null) reply.header('Content-Length', String(d.size));
        reply.type(
          d.kind === 'file'
            ? 'application/octet-stream'
            : d.filename.endsWith('.zip')
              ? 'application/zip'
              : 'application/x-tar',
        );
        return reply.send(d.stream);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/restores',
      summary: 'Restore paths of a snapshot into a target (a task of kind restore; progress over SSE)',
      body: z.strictObject({
        job_id: z.string().max(64),
        snapshot_id: z.string().max(80),
        paths: z.array(z.string().min(1).max(4096)).min(1).max(1000),
        target: z.string().max(4096).nullish(),
        overwrite: z.boolean().default(false),
      }),
      rateLimited: true,
      responses: {
        202: { description: '{state, restore_id, run_id, target, files, total_bytes}' },
        400: { description: 'bad target, existing file without overwrite, name not valid UTF-8' },
        404: { description: 'unknown job, snapshot or path' },
      },
      handler: async ({ body, reply }) => {
        assertJobIdShape(body.job_id);
        const r = await port.startRestore({
          jobId: body.job_id,
          snapshotId: body.snapshot_id,
          paths: body.paths,
          target: body.target ?? null,
          overwrite: body.overwrite,
        });
        reply.code(202);
        return r;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/recovery-kit/reminder',
      summary: 'Whether to remind the owner of an embedded agent to save the recovery kit (rbackup2 recovery-kit)',
      responses: { 200: { description: '{remind, confirmed_at}' } },
      handler: async () => port.recoveryKitReminder(),
    }),
    defineRoute({
      method: 'POST',
      url: '/recovery-kit/reminder',
      summary: 'The owner saved the recovery kit: stop reminding',
      body: z.strictObject({ saved: z.literal(true) }),
      rateLimited: true,
      responses: { 200: { description: '{remind: false, confirmed_at}' } },
      handler: async () => port.confirmRecoveryKit(),
    }),
  ];
}

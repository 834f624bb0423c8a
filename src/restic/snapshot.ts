/**
 * restic's snapshot object, as `snapshots --json`, `forget --json` and `backup` print it. Fields
 * (restic doc/075_scripting.rst "snapshots", 0.17-0.18; 0.14 prints the same minus
 * `program_version` and `summary`, fixture 20): time, parent, tree, paths, hostname, username,
 * uid, gid, excludes, tags, program_version (0.16+), summary (0.17+), id, short_id (deprecated).
 * Default values may be omitted (`tags` absent when there are none; `paths: null` in group keys).
 */
import * as z from 'zod';
import { ResticError } from './errors.js';

export interface SnapshotSummary {
  /** ISO 8601 */
  backupStart: string | null;
  backupEnd: string | null;
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  /** bytes, uncompressed */
  dataAdded: number;
  /** bytes, after compression */
  dataAddedPacked: number;
  totalFilesProcessed: number;
  /** bytes */
  totalBytesProcessed: number;
}

export interface Snapshot {
  /** 64 hex characters. */
  id: string;
  /** The first 8 characters of id (restic's short_id; computed when restic leaves it out). */
  shortId: string;
  /** ISO 8601 with restic's nanoseconds, e.g. `2026-11-29T14:46:40.1319996Z`. */
  time: string;
  parent: string | null;
  tree: string | null;
  paths: string[];
  hostname: string;
  username: string | null;
  tags: string[];
  excludes: string[];
  /** `restic 0.17.3` (0.16+), null before. */
  programVersion: string | null;
  /** Statistics of the backup that wrote it (0.17+), null before. */
  summary: SnapshotSummary | null;
}

const num = z.number().nonnegative().optional();
const summarySchema = z.looseObject({
  backup_start: z.string().optional(),
  backup_end: z.string().optional(),
  files_new: num,
  files_changed: num,
  files_unmodified: num,
  data_added: num,
  data_added_packed: num,
  total_files_processed: num,
  total_bytes_processed: num,
});

/** The JSON schema of one snapshot object (unknown fields allowed: restic adds fields over time). */
export const snapshotSchema = z.looseObject({
  id: z.string().regex(/^[0-9a-f]{8,64}$/),
  short_id: z.string().optional(),
  time: z.string(),
  parent: z.string().nullish(),
  tree: z.string().nullish(),
  paths: z.array(z.string()).nullish(),
  hostname: z.string().nullish(),
  username: z.string().nullish(),
  tags: z.array(z.string()).nullish(),
  excludes: z.array(z.string()).nullish(),
  program_version: z.string().nullish(),
  summary: summarySchema.nullish(),
});

/** Map one validated JSON snapshot to a Snapshot. */
export function toSnapshot(s: z.infer<typeof snapshotSchema>): Snapshot {
  const sum = s.summary;
  return {
    id: s.id,
    shortId: s.short_id ?? s.id.slice(0, 8),
    time: s.time,
    parent: s.parent ?? null,
    tree: s.tree ?? null,
    paths: s.paths ?? [],
    hostname: s.hostname ?? '',
    username: s.username ?? null,
    tags: s.tags ?? [],
    excludes: s.excludes ?? [],
    programVersion: s.program_version ?? null,
    summary: sum
      ? {
          backupStart: sum.backup_start ?? null,
          backupEnd: sum.backup_end ?? null,
          filesNew: sum.files_new ?? 0,
          filesChanged: sum.files_changed ?? 0,
          filesUnmodified: sum.files_unmodified ?? 0,
          dataAdded: sum.data_added ?? 0,
          dataAddedPacked: sum.data_added_packed ?? 0,
          totalFilesProcessed: sum.total_files_processed ?? 0,
          totalBytesProcessed: sum.total_bytes_processed ?? 0,
        }
      : null,
  };
}

/** Check `value` against `schema`; throws ResticError('bad_output') naming `what` and the first problem. */
export function checkOutput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
  throw new ResticError(
    'bad_output',
    `${what} printed JSON of an unexpected shape${where}: ${issue?.message ?? 'invalid'}`,
  );
}

/** Snapshots sorted newest first (by time; ties by id, so the order is stable). */
export function newestFirst(list: readonly Snapshot[]): Snapshot[] {
  return [...list].sort((a, b) => {
    const d = Date.parse(b.time) - Date.parse(a.time);
    if (d !== 0 && Number.isFinite(d)) return d;
    return b.time < a.time ? -1 : b.time > a.time ? 1 : a.id.localeCompare(b.id);
  });
}

/**
 * A snapshot as `snapshots --json` and GET /jobs/{id}/snapshots show it (CONTRACTS §8: id,
 * short_id, time, hostname, paths, tags).
 */
export interface SnapshotView {
  id: string;
  short_id: string;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
}

export function snapshotView(s: Snapshot): SnapshotView {
  return { id: s.id, short_id: s.shortId, time: s.time, hostname: s.hostname, paths: s.paths, tags: s.tags };
}

/**
 * Snapshots, browsing, restore plans and downloads of a job (issue 17), for the agent's API and the
 * CLI alike. A job's snapshots are those tagged `backup:<job uuid>` on every host (Relica-era ones
 * included, CONTRACTS §8); a snapshot id that is not among them is unknown (404), so no route can
 * reach another job's data. Every check happens before anything is written: a refused restore
 * writes nothing.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import type { JobConfig } from '../config/device-config.js';
import type { SnapshotRunStats } from '../db/queries/snapshot-runs.js';
import { AppError } from '../errors.js';
import type { RepositoryConnection } from '../restic/connection.js';
import { dump, type ArchiveFormat } from '../restic/dump.js';
import type { ResticError } from '../restic/errors.js';
import { ls, lsTree, normaliseTreePath, type TreeNode } from '../restic/ls.js';
import { newestFirst, snapshotView, type Snapshot, type SnapshotView } from '../restic/snapshot.js';
import { snapshots } from '../restic/snapshots.js';
import type { RestorePlan } from '../tasks/restore-task.js';
import { firstConflict } from './conflicts.js';
import type { SnapshotCache } from './snapshot-cache.js';
import { displayPath, isWindowsSnapshot, originalTarget, relativeBase } from './snapshot-paths.js';
import { checkTarget, defaultTarget } from './targets.js';

export interface RestoreServiceDeps {
  dataDir: string;
  platform: NodeJS.Platform;
  /** The job by id, or null when unknown. */
  job(jobId: string): JobConfig | null;
  connection(job: JobConfig): Promise<RepositoryConnection>;
  /** The admin's `restore_roots` (absolute folders). */
  restoreRoots(): string[];
  /** Backup runs of the job that recorded a snapshot (null: no database at hand). */
  runStats?(jobId: string, prefixes: readonly string[]): Promise<SnapshotRunStats[]>;
  /** The agent's cache; without one every call asks restic. */
  cache?: SnapshotCache;
}

/** One snapshot as GET /jobs/{id}/snapshots and `snapshots --json` show it, plus run statistics. */
export interface SnapshotItem extends SnapshotView {
  /** `paths` in the source system's form; `windows` when made on Windows. */
  windows: boolean;
  /** Where browsing starts: the tree path of the first source folder. */
  start_path: string;
  /** The statistics of the run that wrote it (or restic's own summary, 0.17+); null when unknown. */
  stats: {
    run_id: number | null;
    data_added_bytes: number | null;
    total_files_processed: number | null;
    total_bytes_processed: number | null;
    files_new: number | null;
    files_changed: number | null;
    duration_seconds: number | null;
  } | null;
}

export interface FolderEntry {
  name: string;
  type: TreeNode['type'];
  path: string;
  display_path: string;
  size: number;
  mtime: string | null;
  /** False: the name is not valid UTF-8 (shown with U+FFFD); restore or download its folder. */
  exact_name: boolean;
}

export interface RestoreRequest {
  jobId: string;
  snapshotId: string;
  paths: string[];
  /** Absolute folder; absent = the default `<data_dir>/restores/<job>-<time>`. */
  target?: string | null;
  overwrite?: boolean;
}

/** The tree path where a snapshot's first source folder starts (see snapshot-paths.ts). */
export function startPath(s: Snapshot): string {
  const p = s.paths[0];
  if (!p) return '/';
  if (isWindowsSnapshot(s)) {
    const m = /^([A-Za-z]):[\\/]?(.*)$/.exec(p);
    if (m) return normaliseTreePath(`/${m[1]?.toUpperCase()}/${(m[2] ?? '').replace(/\\/g, '/')}`);
    return normaliseTreePath('/' + p.replace(/^\\\\/, '').replace(/\\/g, '/'));
  }
  return p.startsWith('/') ? normaliseTreePath(p) : '/';
}

/** The runs by the first 8 characters of the snapshot id they recorded (short or full), newest first. */
function runsByPrefix(runs: readonly SnapshotRunStats[]): Map<string, SnapshotRunStats[]> {
  const m = new Map<string, SnapshotRunStats[]>();
  for (const r of runs) {
    if (r.snapshotId.length < 8) continue;
    const k = r.snapshotId.slice(0, 8);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return m;
}

function statsOf(s: Snapshot, runs: ReadonlyMap<string, readonly SnapshotRunStats[]>): SnapshotItem['stats'] {
  const run = runs.get(s.id.slice(0, 8))?.find((r) => s.id.startsWith(r.snapshotId));
  if (run)
    return {
      run_id: run.runId,
      data_added_bytes: run.dataAddedBytes,
      total_files_processed: run.totalFilesProcessed,
      total_bytes_processed: run.totalBytesProcessed,
      files_new: run.filesNew,
      files_changed: run.filesChanged,
      duration_seconds: run.durationSeconds,
    };
  if (s.summary)
    return {
      run_id: null,
      data_added_bytes: s.summary.dataAdded,
      total_files_processed: s.summary.totalFilesProcessed,
      total_bytes_processed: s.summary.totalBytesProcessed,
      files_new: s.summary.filesNew,
      files_changed: s.summary.filesChanged,
      duration_seconds: null,
    };
  return null;
}

export class RestoreService {
  constructor(private readonly d: RestoreServiceDeps) {}

  /** The job or NOT_FOUND; INVALID_INPUT when it has no repository. */
  jobOf(jobId: string): JobConfig {
    const job = this.d.job(jobId);
    if (!job) throw new AppError('NOT_FOUND', `job ${jobId} does not exist`);
    if (!job.repository) throw new AppError('INVALID_INPUT', `job "${job.name}" has no repository`);
    return job;
  }

  /** The job's snapshots from restic (tag `backup:<uuid>`, every host), newest first. */
  async readSnapshots(job: JobConfig): Promise<Snapshot[]> {
    const conn = await this.d.connection(job);
    return newestFirst(await snapshots(conn, { tags: [`backup:${job.id}`] }));
  }

  private async list(job: JobConfig, fresh = false): Promise<{ snapshots: Snapshot[]; readAt: string }> {
    if (this.d.cache) return this.d.cache.get(job.id, fresh);
    return { snapshots: await this.readSnapshots(job), readAt: new Date().toISOString() };
  }

  /** GET /jobs/{id}/snapshots: the list with run statistics and when it was read from restic. */
  async snapshotList(jobId: string, refresh = false): Promise<{ snapshots: SnapshotItem[]; read_at: string }> {
    const job = this.jobOf(jobId);
    const { snapshots: list, readAt } = await this.list(job, refresh);
    // Only the runs of the snapshots listed, then one map lookup per snapshot.
    const prefixes = list.map((s) => s.id.slice(0, 8));
    const runs = runsByPrefix((await this.d.runStats?.(job.id, prefixes).catch(() => [])) ?? []);
    return {
      read_at: readAt,
      snapshots: list.map((s) => ({
        ...snapshotView(s),
        windows: isWindowsSnapshot(s),
        start_path: startPath(s),
        stats: statsOf(s, runs),
      })),
    };
  }

  /**
   * The job's snapshot `ref` (full id, a unique prefix of 8+ hex characters, or `latest`); a miss
   * in the cached list asks restic again once. Throws NOT_FOUND (unknown, or another job's).
   */
  async snapshotOf(job: JobConfig, ref: string): Promise<Snapshot> {
    const want = ref.toLowerCase();
    if (want !== 'latest' && !/^[0-9a-f]{8,64}$/.test(want))
      throw new AppError('NOT_FOUND', `snapshot ${JSON.stringify(ref.slice(0, 70))} does not exist`);
    const pick = (list: Snapshot[]) => {
      if (want === 'latest') return list[0] ?? null;
      const hits = list.filter((s) => s.id.startsWith(want));
      return hits.length === 1 ? (hits[0] as Snapshot) : null;
    };
    let found = pick((await this.list(job)).snapshots);
    if (!found && this.d.cache) found = pick((await this.list(job, true)).snapshots);
    if (!found) throw new AppError('NOT_FOUND', `snapshot ${ref} is not a snapshot of job "${job.name}"`);
    return found;
  }

  /** GET .../ls?path=P: one folder level, folders first, with display paths and breadcrumbs. */
  async browse(jobId: string, snapshotRef: string, treePath: string | undefined) {
    const job = this.jobOf(jobId);
    const snap = await this.snapshotOf(job, snapshotRef);
    const p = treePath === undefined || treePath === '' ? startPath(snap) : normaliseTreePath(treePath);
    if (p.includes('\uFFFD'))
      throw new AppError(
        'NOT_FOUND',
        `path ${p} cannot be opened: its name is not valid UTF-8 (restore or download its folder)`,
      );
    const r = await ls(await this.d.connection(job), snap.id, p);
    if (!r.found) throw new AppError('NOT_FOUND', `path ${p} is not in snapshot ${snap.shortId}`);
    if (r.self && r.self.type !== 'dir')
      throw new AppError('NOT_FOUND', `path ${p} is not a folder in snapshot ${snap.shortId}`);
    const parts = p.split('/').filter(Boolean);
    const entries: FolderEntry[] = r.nodes
      .map((n) => ({
        name: n.name,
        type: n.type,
        path: n.path,
        display_path: displayPath(snap, n.path),
        size: n.size,
        mtime: n.mtime,
        exact_name: n.exactName,
      }))
      .sort((a, b) =>
        (a.type === 'dir') === (b.type === 'dir') ? a.name.localeCompare(b.name) : a.type === 'dir' ? -1 : 1,
      );
    return {
      job_id: job.id,
      snapshot_id: snap.id,
      snapshot_time: snap.time,
      path: p,
      display_path: displayPath(snap, p),
      parent: p === '/' ? null : '/' + parts.slice(0, -1).join('/'),
      breadcrumbs: [
        { name: '/', path: '/' },
        ...parts.map((name, i) => ({ name, path: '/' + parts.slice(0, i + 1).join('/') })),
      ],
      entries,
      default_target: defaultTarget(this.d.dataDir, job.name, snap.time),
      /** The target that puts this folder's entries back where they were; null when not possible here. */
      original_target: originalTarget(snap, p, this.d.platform),
      relative_base: relativeBase(snap, p),
    };
  }

  /**
   * Check a restore request and say exactly what it writes. Throws NOT_FOUND (job, snapshot, a path
   * not in the snapshot) or INVALID_INPUT (no paths, a name that is not valid UTF-8, a target that
   * is not absolute or not allowed, an existing file without `overwrite`, naming it).
   */
  async plan(req: RestoreRequest): Promise<RestorePlan> {
    const job = this.jobOf(req.jobId);
    const snap = await this.snapshotOf(job, req.snapshotId);
    if (req.paths.length === 0) throw field('paths', 'give at least one path to restore');
    const paths = [...new Set(req.paths.map((p) => normaliseTreePath(p)))];
    const bad = paths.find((p) => p.includes('\uFFFD'));
    if (bad) throw field('paths', `${bad}: the name is not valid UTF-8; restore its folder instead`);
    const target =
      req.target === undefined || req.target === null || req.target === ''
        ? defaultTarget(this.d.dataDir, job.name, snap.time)
        : req.target;
    if (!path.isAbsolute(target)) throw field('target', `"${target}" is not an absolute path`);
    checkTarget(path.resolve(target), paths, {
      dataDir: this.d.dataDir,
      sourcePaths: job.sourcePaths,
      restoreRoots: this.d.restoreRoots(),
    });
    const nodes = await lsTree(await this.d.connection(job), snap.id, paths);
    for (const p of paths)
      if (p !== '/' && !nodes.some((n) => n.path === p))
        throw new AppError('NOT_FOUND', `path ${p} is not in snapshot ${snap.shortId}`);
    if (!req.overwrite) {
      const conflict = firstConflict(path.resolve(target), nodes);
      if (conflict)
        throw field(
          'overwrite',
          `${conflict} already exists; the restore would overwrite it (give overwrite to allow it)`,
        );
    }
    const files = nodes.filter((n) => n.type !== 'dir');
    return {
      job,
      snapshot: { id: snap.id, shortId: snap.shortId, time: snap.time, hostname: snap.hostname },
      paths,
      target: path.resolve(target),
      overwrite: req.overwrite === true,
      files: files.length,
      totalBytes: files.reduce((a, n) => a + n.size, 0),
    };
  }

  /**
   * Start a download of `treePath`: a file as itself, a folder (or `/`) as a zip or tar archive.
   * Throws NOT_FOUND / INVALID_INPUT before restic starts. The stream is restic's output behind a
   * PassThrough: when the reader goes away the caller calls `cancel` (restic gets SIGINT and
   * removes its lock) instead of restic dying of a broken pipe.
   */
  async download(
    jobId: string,
    snapshotRef: string,
    treePath: string,
    archive: ArchiveFormat,
  ): Promise<{
    filename: string;
    kind: 'file' | 'archive';
    size: number | null;
    stream: Readable;
    done: Promise<ResticError | null>;
    cancel: () => void;
  }> {
    const job = this.jobOf(jobId);
    const snap = await this.snapshotOf(job, snapshotRef);
    const p = normaliseTreePath(treePath);
    if (p.includes('\uFFFD')) throw field('path', `${p}: the name is not valid UTF-8; download its folder instead`);
    const conn = await this.d.connection(job);
    let node: TreeNode | null = null;
    if (p !== '/') {
      const parent = path.posix.dirname(p);
      const r = await ls(conn, snap.id, parent);
      node = r.nodes.find((n) => n.path === p) ?? null;
      if (!node) throw new AppError('NOT_FOUND', `path ${p} is not in snapshot ${snap.shortId}`);
    }
    const isFile = node !== null && node.type === 'file';
    if (node && !isFile && node.type !== 'dir') throw field('path', `${p} is a ${node.type}, not a file or folder`);
    const base = p === '/' ? `${job.name}-${snap.shortId}` : path.posix.basename(p);
    const d = dump(conn, snap.id, p, isFile ? {} : { archive });
    // 1 MiB between restic and the socket: fewer, larger writes; memory per download stays bounded.
    const pass = new PassThrough({ highWaterMark: 1024 * 1024 });
    d.stdout.pipe(pass);
    return {
      filename: isFile ? base : `${base}.${archive}`,
      kind: isFile ? 'file' : 'archive',
      size: isFile && node ? node.size : null,
      stream: pass,
      done: d.done,
      cancel: () => {
        d.stdout.unpipe(pass);
        d.cancel();
        d.stdout.resume(); // drain what restic still writes until SIGINT ends it
      },
    };
  }
}

function field(name: string, message: string): AppError {
  return new AppError('INVALID_INPUT', `${name}: ${message}`, { fields: [{ field: name, message }] });
}

/**
 * `restic ls --json SNAPSHOT DIR`: one folder level of a snapshot. Output (restic 0.14, checked on
 * real repositories; doc/075_scripting.rst "ls" for 0.15+): JSON lines, first the snapshot
 * (`struct_type: "snapshot"`), then one `struct_type: "node"` per entry `{name, type, path, size?,
 * mtime, ...}`. With a folder argument restic prints the folder's own node, then its direct
 * children (with `--recursive`, everything below); a path that is not in the snapshot prints no
 * node at all (exit 0). `/` prints the top level (no node for the root itself). 0.17+ names the
 * message `message_type: "node"` too and prints `"message_type":"snapshot"` first.
 *
 * Paths are the snapshot's tree paths, `/`-separated and absolute: a Windows snapshot's start at
 * `/C/...`, a 0.14 snapshot of a relative source starts at that source's name (see
 * src/restore/snapshot-paths.ts). Names that are not valid UTF-8 arrive as U+FFFD (Go's JSON
 * encoder); such entries are kept (two files `\xff.txt`, `\xfe.txt` are two entries) and flagged
 * `exactName: false`: restic cannot be asked for them by name, only as part of their folder.
 */
import * as z from 'zod';
import { AppError } from '../errors.js';
import type { RepositoryConnection } from './connection.js';
import { ResticError } from './errors.js';
import { runResticOk, type CallOptions } from './runner.js';
import { checkOutput } from './snapshot.js';

export type NodeType = 'file' | 'dir' | 'symlink' | 'dev' | 'chardev' | 'fifo' | 'socket' | 'irregular' | 'other';

export interface TreeNode {
  name: string;
  type: NodeType;
  /** Tree path, `/`-separated, absolute. */
  path: string;
  /** bytes; 0 for folders (restic leaves it out). */
  size: number;
  /** ISO 8601 with restic's nanoseconds, or null. */
  mtime: string | null;
  /** False when restic could not show the name exactly (not valid UTF-8, shown with U+FFFD). */
  exactName: boolean;
}

export interface LsResult {
  /** The folder's own node; null for `/` (the root has none) or when the path is not in the snapshot. */
  self: TreeNode | null;
  /** False when the path is not in the snapshot. */
  found: boolean;
  /** Direct children (with `recursive`: every node below), in restic's order. */
  nodes: TreeNode[];
}

/** Default time-out of a listing, seconds. */
export const LS_TIMEOUT_SECONDS = 600;
/** Largest output read, bytes: ~200,000 nodes of ~320 bytes. */
export const LS_MAX_BYTES = 64 * 1024 * 1024;

const nodeSchema = z.looseObject({
  name: z.string(),
  type: z.string(),
  path: z.string(),
  size: z.number().nonnegative().nullish(),
  mtime: z.string().nullish(),
});

const NODE_TYPES = new Set(['file', 'dir', 'symlink', 'dev', 'chardev', 'fifo', 'socket', 'irregular']);

/**
 * Checks a tree path given by a user: absolute, `/`-separated, no `.`/`..` parts, no NUL; a
 * trailing `/` is dropped. Throws AppError('INVALID_INPUT') naming it.
 */
export function normaliseTreePath(p: string): string {
  if (!p.startsWith('/')) throw new AppError('INVALID_INPUT', `path "${p}" must start with "/" (a snapshot path)`);
  if (p.includes('\0')) throw new AppError('INVALID_INPUT', 'a snapshot path must not contain a NUL character');
  const parts = p.split('/').filter((x) => x !== '');
  if (parts.some((x) => x === '.' || x === '..'))
    throw new AppError('INVALID_INPUT', `path "${p}" must not contain "." or ".." parts`);
  return '/' + parts.join('/');
}

/**
 * argv of `restic ls --json` for one or more folders (or files); the snapshot id must be hex (a
 * full or short id). Pure.
 */
export function lsArgs(snapshotId: string, dir: string | readonly string[], recursive = false): string[] {
  if (!/^[0-9a-f]{8,64}$/.test(snapshotId))
    throw new AppError('INVALID_INPUT', `snapshot id "${snapshotId.slice(0, 70)}" is not 8-64 hex characters`);
  const args = ['ls', '--json', '--no-lock'];
  if (recursive) args.push('--recursive');
  args.push('--', snapshotId, ...(typeof dir === 'string' ? [dir] : dir).map(normaliseTreePath));
  return args;
}

/** One node line of `ls --json` as a TreeNode. */
function toNode(o: z.infer<typeof nodeSchema>): TreeNode {
  return {
    name: o.name,
    type: (NODE_TYPES.has(o.type) ? o.type : 'other') as NodeType,
    path: o.path,
    size: o.size ?? 0,
    mtime: o.mtime ?? null,
    exactName: !o.name.includes('\uFFFD'),
  };
}

/** Every node line of `ls --json` output, in order (notices and the snapshot line skipped). */
export function parseLsNodes(stdout: string): TreeNode[] {
  const nodes: TreeNode[] = [];
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(t) as Record<string, unknown>;
    } catch {
      continue;
    }
    const kind = o.struct_type ?? o.message_type;
    if (kind !== 'node') continue;
    nodes.push(toNode(checkOutput(nodeSchema, o, 'restic ls')));
  }
  return nodes;
}

/**
 * Parse `ls --json` output for folder `dir` (as given to lsArgs). Lines that are not JSON (a
 * notice) are skipped; a node line of the wrong shape throws ResticError('bad_output').
 */
export function parseLs(stdout: string, dir: string): LsResult {
  const want = normaliseTreePath(dir);
  let self: TreeNode | null = null;
  const nodes: TreeNode[] = [];
  for (const node of parseLsNodes(stdout)) {
    if (node.path === want && self === null) self = node;
    else nodes.push(node);
  }
  if (want === '/') return { self: null, found: true, nodes };
  return { self, found: self !== null, nodes };
}

/**
 * List folder `dir` of snapshot `snapshotId` (one level; with `recursive` everything below).
 * Resolves `found: false` when the path is not in the snapshot; a file path gives `self` of type
 * file and no nodes. Throws AppError('INVALID_INPUT') for a bad id or path, ResticError
 * (wrong_password, repository_missing, timed_out, cancelled, bad_output, unknown: "no matching ID
 * found" for an unknown snapshot) otherwise. `--no-lock`: a listing works on read-only
 * repositories and never leaves a lock. Default time-out 600 s.
 */
export async function ls(
  conn: RepositoryConnection,
  snapshotId: string,
  dir: string,
  opts: { recursive?: boolean } = {},
  call: CallOptions = {},
): Promise<LsResult> {
  const out = await runResticOk(conn, lsArgs(snapshotId, dir, opts.recursive), call, {
    what: 'restic ls',
    defaultTimeoutSeconds: LS_TIMEOUT_SECONDS,
    maxStdoutBytes: LS_MAX_BYTES,
  });
  try {
    return parseLs(out.stdout, dir);
  } catch (err) {
    if (err instanceof ResticError) throw err;
    throw new ResticError('bad_output', `restic ls printed output that could not be read: ${String(err)}`);
  }
}

/**
 * Every node of `paths` and (recursively) below them, the nodes of `paths` themselves included:
 * what a restore of `paths` writes. A path not in the snapshot has no node. Same errors and
 * defaults as `ls`.
 */
export async function lsTree(
  conn: RepositoryConnection,
  snapshotId: string,
  paths: readonly string[],
  call: CallOptions = {},
): Promise<TreeNode[]> {
  const out = await runResticOk(conn, lsArgs(snapshotId, paths, true), call, {
    what: 'restic ls',
    defaultTimeoutSeconds: LS_TIMEOUT_SECONDS,
    maxStdoutBytes: LS_MAX_BYTES,
  });
  return parseLsNodes(out.stdout);
}

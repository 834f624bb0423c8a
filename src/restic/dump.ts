/**
 * `restic dump SNAPSHOT PATH`: a file's content, or a folder as a tar or zip archive
 * (`--archive zip`, restic 0.12+), streamed on stdout (restic cmd/restic/cmd_dump.go; checked on
 * 0.14: archive entries carry the tree path without its leading `/`, names that are not valid
 * UTF-8 keep their exact bytes). Unlike the other command modules the output is not collected:
 * the caller gets restic's stdout as a stream and pipes it (with backpressure, so memory stays
 * flat whatever the size) into a file or an HTTP answer. Cancelling (the signal) ends restic the
 * restic way (SIGINT, grace, SIGKILL of its group), which removes its lock.
 */
import { Readable } from 'node:stream';
import type { RepositoryConnection } from './connection.js';
import type { ResticError } from './errors.js';
import { normaliseTreePath } from './ls.js';
import { failureOf, startRestic, type CallOptions } from './runner.js';
import { AppError } from '../errors.js';

export type ArchiveFormat = 'tar' | 'zip';

export interface DumpOptions {
  /** For a folder: the archive format (restic's default is tar). Ignored for a file. */
  archive?: ArchiveFormat;
}

export interface DumpStream {
  /** restic's stdout: the file or the archive. */
  stdout: Readable;
  /** Resolves when restic ended: null on success, else the ResticError (cancelled, unknown: "not found"...). Never rejects. */
  done: Promise<ResticError | null>;
  /** Ends restic now (same as aborting the signal). */
  cancel(): void;
}

/** Default time-out of a dump, seconds (a large folder over a slow link). */
export const DUMP_TIMEOUT_SECONDS = 24 * 3600;
const MAX_STDERR = 64 * 1024;

/** argv of `restic dump`. Pure; throws AppError('INVALID_INPUT') for a bad id or path. */
export function dumpArgs(snapshotId: string, treePath: string, opts: DumpOptions = {}): string[] {
  if (!/^[0-9a-f]{8,64}$/.test(snapshotId))
    throw new AppError('INVALID_INPUT', `snapshot id "${snapshotId.slice(0, 70)}" is not 8-64 hex characters`);
  const args = ['dump'];
  if (opts.archive) args.push('--archive', opts.archive);
  args.push('--', snapshotId, normaliseTreePath(treePath));
  return args;
}

/**
 * Start `restic dump` of `treePath` in snapshot `snapshotId`. The caller must consume or destroy
 * `stdout`. A path that is not in the snapshot makes restic fail (done resolves with a ResticError
 * of kind `unknown` whose message quotes restic: `path "..." not found in snapshot`). Default
 * time-out 24 h.
 */
export function dump(
  conn: RepositoryConnection,
  snapshotId: string,
  treePath: string,
  opts: DumpOptions = {},
  call: CallOptions = {},
): DumpStream {
  const r = startRestic(conn, dumpArgs(snapshotId, treePath, opts), call, {
    defaultTimeoutSeconds: DUMP_TIMEOUT_SECONDS,
    maxStderrBytes: MAX_STDERR,
    rawStdout: true,
  });
  return {
    // spawn itself failed: an empty stream and the failure.
    stdout: r.stdout ?? Readable.from([]),
    done: r.done.then((out) => failureOf(out, 'restic dump', conn)),
    cancel: r.cancel,
  };
}

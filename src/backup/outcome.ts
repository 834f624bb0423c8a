/**
 * Classify a finished restic backup (CONTRACTS §4). Pure. Exit codes from restic's docs
 * ("Scripting / Exit codes"): 0 success, 1 failure, 3 snapshot saved but some source files could
 * not be read, 10 repository does not exist, 11 failed to lock, 12 wrong password (10-12 since
 * 0.17; 0.14-0.16 exit 1 and say it on stderr, fixtures 08, 09, 27, 30, 39, 40), 130 interrupted.
 */
import type { ParsedOutput } from '../restic/backup-output.js';
import {
  failureKindFromExitCode,
  failureKindFromText,
  failureMessage,
  fatalLine,
  listItems,
  sentence,
  type ResticFailureKind,
} from '../restic/classify.js';

export type RunStatus = 'success' | 'partial' | 'failed' | 'cancelled';
export type ErrorKind =
  | Exclude<ResticFailureKind, 'bad_output'>
  | 'invalid_source'
  | 'unreadable_files'
  | 'hook_failed'
  | 'repository_not_configured'
  | 'stalled'
  | 'empty_source'
  | 'already_running'
  | 'unknown';

export interface Outcome {
  status: RunStatus;
  errorKind: ErrorKind | null;
  /** One human sentence; null on plain success. */
  errorMessage: string | null;
  warnings: string[];
  /** Paths restic reported as unreadable (first 100). */
  unreadablePaths: string[];
}

export interface ClassifyInput {
  exitCode: number | null;
  signal: string | null;
  parsed: ParsedOutput;
  /** The job's restic_args (to know whether VSS was asked for, C21). */
  resticArgs: readonly string[];
  /** The process could not be started (ENOENT ...): its error text. */
  spawnError?: string | null;
}

/** Warnings that do not change the status: skipped sources, cache problems (C24), no VSS (C21). */
export function collectWarnings(parsed: ParsedOutput, resticArgs: readonly string[]): string[] {
  const warnings: string[] = [];
  for (const line of parsed.stderrTail) {
    const skipped = /^(.*) does not exist, skipping$/.exec(line);
    if (skipped) warnings.push(`Source path ${skipped[1]} does not exist and was skipped.`);
    else if (/cache/i.test(line) && /unable|cannot|failed|warning|not/i.test(line))
      warnings.push(`restic cache problem: ${line.trim()}`);
  }
  if (resticArgs.some((a) => a === '--use-fs-snapshot' || a.startsWith('--use-fs-snapshot='))) {
    const vss = [...parsed.errors.map((e) => e.message), ...parsed.stderrTail].find((m) =>
      /failed to create snapshot for \[/i.test(m),
    );
    if (vss) {
      const vol = /snapshot for \[([^\]]*)\]/i.exec(vss)?.[1];
      warnings.push(
        `No Windows shadow copy (VSS) was used${vol ? ` for ${vol}` : ''}: restic read the live files instead, so open or locked files may be inconsistent or missing (${vss.trim().slice(0, 300)}).`,
      );
    }
  }
  if (parsed.truncatedLines > 0) warnings.push(`${parsed.truncatedLines} over-long output lines were cut.`);
  return warnings;
}

/** U+FFFD: what Go's encoding/json writes for bytes that are not valid UTF-8 (C34). */
const REPLACEMENT = '\ufffd';

/**
 * Unreadable paths without duplicates, except names holding U+FFFD: two different names that
 * are not valid UTF-8 (`\xff.txt`, `\xfe.txt`) both arrive as `\ufffd.txt` and are two files (C34).
 */
function unreadableItems(items: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of items) if (p.includes(REPLACEMENT) || !out.includes(p)) out.push(p);
  return out;
}

/** Turn exit code, signal and parsed output into a run status, error kind and one sentence. */
export function classifyOutcome(input: ClassifyInput): Outcome {
  const { parsed } = input;
  const unreadable = unreadableItems(parsed.errors.map((e) => e.item).filter((p): p is string => p !== null));
  const warnings = collectWarnings(parsed, input.resticArgs);
  const notUtf8 = unreadable.filter((p) => p.includes(REPLACEMENT)).length;
  if (notUtf8 > 0) {
    warnings.push(
      `${notUtf8} unreadable ${notUtf8 === 1 ? 'name is' : 'names are'} not valid UTF-8: restic's JSON shows the invalid bytes as ${REPLACEMENT}, so names that differ only there look alike; each is listed separately.`,
    );
  }
  const base = { warnings, unreadablePaths: unreadable };
  if (input.spawnError) {
    return {
      ...base,
      status: 'failed',
      errorKind: 'restic_missing',
      errorMessage: `restic could not be started: ${input.spawnError}`,
    };
  }
  if (input.exitCode === 130 || (input.exitCode === null && input.signal)) {
    return {
      ...base,
      status: 'cancelled',
      errorKind: 'cancelled',
      errorMessage: input.signal
        ? `The backup was cancelled (restic ended by ${input.signal}).`
        : 'The backup was cancelled (restic was interrupted).',
    };
  }
  if (input.exitCode === 0) {
    if (!parsed.summary) warnings.push('restic reported success but printed no summary; statistics are missing.');
    return { ...base, status: 'success', errorKind: null, errorMessage: null };
  }
  if (input.exitCode === 3) {
    const count = Math.max(parsed.errorCount, unreadable.length);
    const msg =
      count > 0
        ? `The snapshot was saved, but ${count} ${count === 1 ? 'item' : 'items'} could not be read: ${listItems(unreadable, count)}.`
        : 'The snapshot was saved, but some source files could not be read.';
    return { ...base, status: 'partial', errorKind: 'unreadable_files', errorMessage: msg };
  }
  const lines = parsed.stderrTail;
  const detail = parsed.exitError?.message || fatalLine(lines) || lines.find((l) => l.trim() !== '')?.trim() || null;
  const found: ResticFailureKind =
    failureKindFromExitCode(input.exitCode) ??
    failureKindFromText([parsed.exitError?.message ?? '', ...lines].join('\n')) ??
    'unknown';
  const kind: ErrorKind = found === 'bad_output' ? 'unknown' : found;
  const msg = failureMessage(kind, parsed.exitError ? [parsed.exitError.message, ...lines] : lines, detail);
  return {
    ...base,
    status: 'failed',
    errorKind: kind,
    errorMessage: sentence(
      kind === 'unknown' && input.exitCode !== null ? `${msg.replace(/\.$/, '')} (exit code ${input.exitCode})` : msg,
    ),
  };
}

/**
 * Classify a finished restic backup (CONTRACTS §4). Pure. Exit codes from restic's docs
 * ("Scripting / Exit codes"): 0 success, 1 failure, 3 snapshot saved but some source files could
 * not be read, 10 repository does not exist, 11 failed to lock, 12 wrong password (10-12 since
 * 0.17; 0.14-0.16 exit 1 and say it on stderr, fixtures 08, 09, 27, 30, 39, 40), 130 interrupted.
 */
import type { ParsedOutput } from './output-parser.js';
import { parseLockMessage, describeLockHolder } from './lock-message.js';

export type RunStatus = 'success' | 'partial' | 'failed' | 'cancelled';
export type ErrorKind =
  | 'repository_missing' | 'locked' | 'wrong_password' | 'password_missing' | 'source_missing'
  | 'invalid_arguments' | 'invalid_source' | 'unreadable_files' | 'cancelled' | 'hook_failed'
  | 'restic_missing' | 'repository_not_configured' | 'stalled' | 'timed_out' | 'empty_source' | 'already_running' | 'unknown';

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

const MAX_LISTED = 3;

function listPaths(paths: string[], total: number): string {
  const shown = paths.slice(0, MAX_LISTED).join(', ');
  const more = total - Math.min(paths.length, MAX_LISTED);
  return more > 0 ? `${shown} and ${more} more` : shown;
}

function firstFatal(lines: readonly string[]): string | null {
  const fatal = lines.find((l) => l.startsWith('Fatal: '));
  if (fatal) return fatal.slice('Fatal: '.length).trim();
  return null;
}

/** Recognise a failure from stderr text (0.14-0.16) or an exit_error message (0.17+). */
function kindFromText(text: string): ErrorKind | null {
  if (/repository is already locked|unable to create lock in backend|failed to lock repository/i.test(text)) return 'locked';
  if (/wrong password or no key found/i.test(text)) return 'wrong_password';
  if (/empty password is not a password|reading repository password from stdin|Please specify repository password/i.test(text)) return 'password_missing';
  if (/Is there a repository at the following location\?|repository does not exist|unable to open config file/i.test(text)) return 'repository_missing';
  if (/all (?:target|source) directories\/files do not exist/i.test(text)) return 'source_missing';
  if (/unknown flag:|unknown shorthand flag|invalid argument .* for .* flag/i.test(text)) return 'invalid_arguments';
  return null;
}

function messageFor(kind: ErrorKind, lines: readonly string[], detail: string | null): string {
  const text = lines.join('\n');
  switch (kind) {
    case 'locked': {
      const lock = parseLockMessage(text);
      return lock ? `The repository is locked by ${describeLockHolder(lock)}; the backup did not run.` : 'The repository is locked by another restic process; the backup did not run.';
    }
    case 'wrong_password': return 'The repository password is wrong (restic found no key for it).';
    case 'password_missing': return 'No repository password reached restic; set the repository password, password file or password command.';
    case 'repository_missing': {
      const loc = lines[lines.findIndex((l) => l.startsWith('Is there a repository at the following location?')) + 1];
      return `There is no restic repository at ${loc && !loc.startsWith('Is there') ? loc.trim() : 'the configured location'}; initialise it with "restic init" or fix the repository URL.`;
    }
    case 'source_missing': {
      // restic 0.14+ prints "<path> does not exist, skipping" for each before the fatal line.
      const missing = lines.map((l) => /^(.*) does not exist, skipping$/.exec(l)?.[1]).filter((p): p is string => !!p);
      return missing.length > 0
        ? `None of the source paths exist (${listPaths(missing, missing.length)}), so nothing was backed up.`
        : 'None of the source paths exist, so nothing was backed up.';
    }
    case 'invalid_arguments': {
      const flag = /unknown (?:shorthand )?flag: '?([^\s']+)'?/.exec(text)?.[1];
      return flag ? `restic does not know the option ${flag}; remove it from the job's restic_args.` : `restic rejected its arguments: ${detail ?? 'see the output'}.`;
    }
    default: return detail ? `restic failed: ${detail}` : 'restic failed; see the output for details.';
  }
}

/** Warnings that do not change the status: skipped sources, cache problems (C24), no VSS (C21). */
export function collectWarnings(parsed: ParsedOutput, resticArgs: readonly string[]): string[] {
  const warnings: string[] = [];
  for (const line of parsed.stderrTail) {
    const skipped = /^(.*) does not exist, skipping$/.exec(line);
    if (skipped) warnings.push(`Source path ${skipped[1]} does not exist and was skipped.`);
    else if (/cache/i.test(line) && /unable|cannot|failed|warning|not/i.test(line)) warnings.push(`restic cache problem: ${line.trim()}`);
  }
  if (resticArgs.some((a) => a === '--use-fs-snapshot' || a.startsWith('--use-fs-snapshot='))) {
    const vss = [...parsed.errors.map((e) => e.message), ...parsed.stderrTail].find((m) => /failed to create snapshot for \[/i.test(m));
    if (vss) {
      const vol = /snapshot for \[([^\]]*)\]/i.exec(vss)?.[1];
      warnings.push(`No Windows shadow copy (VSS) was used${vol ? ` for ${vol}` : ''}: restic read the live files instead, so open or locked files may be inconsistent or missing (${vss.trim().slice(0, 300)}).`);
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
    warnings.push(`${notUtf8} unreadable ${notUtf8 === 1 ? 'name is' : 'names are'} not valid UTF-8: restic's JSON shows the invalid bytes as ${REPLACEMENT}, so names that differ only there look alike; each is listed separately.`);
  }
  const base = { warnings, unreadablePaths: unreadable };
  if (input.spawnError) {
    return { ...base, status: 'failed', errorKind: 'restic_missing', errorMessage: `restic could not be started: ${input.spawnError}` };
  }
  if (input.exitCode === 130 || (input.exitCode === null && input.signal)) {
    return { ...base, status: 'cancelled', errorKind: 'cancelled', errorMessage: input.signal ? `The backup was cancelled (restic ended by ${input.signal}).` : 'The backup was cancelled (restic was interrupted).' };
  }
  if (input.exitCode === 0) {
    if (!parsed.summary) warnings.push('restic reported success but printed no summary; statistics are missing.');
    return { ...base, status: 'success', errorKind: null, errorMessage: null };
  }
  if (input.exitCode === 3) {
    const count = Math.max(parsed.errorCount, unreadable.length);
    const msg = count > 0
      ? `The snapshot was saved, but ${count} ${count === 1 ? 'item' : 'items'} could not be read: ${listPaths(unreadable, count)}.`
      : 'The snapshot was saved, but some source files could not be read.';
    return { ...base, status: 'partial', errorKind: 'unreadable_files', errorMessage: msg };
  }
  const lines = parsed.stderrTail;
  const detail = parsed.exitError?.message || firstFatal(lines) || lines.find((l) => l.trim() !== '')?.trim() || null;
  let kind: ErrorKind | null = input.exitCode === 10 ? 'repository_missing' : input.exitCode === 11 ? 'locked' : input.exitCode === 12 ? 'wrong_password' : null;
  kind ??= kindFromText([parsed.exitError?.message ?? '', ...lines].join('\n')) ?? 'unknown';
  const msg = messageFor(kind, parsed.exitError ? [parsed.exitError.message, ...lines] : lines, detail);
  return { ...base, status: 'failed', errorKind: kind, errorMessage: sentence(kind === 'unknown' && input.exitCode !== null ? `${msg.replace(/\.$/, '')} (exit code ${input.exitCode})` : msg) };
}

/** End a message with a full stop unless it already ends with punctuation. */
function sentence(s: string): string {
  const t = s.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

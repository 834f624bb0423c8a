/**
 * `restic check`: verify the repository's structure (and with `readData` / `readDataSubset`, the
 * pack files' content). restic 0.14-0.17 print text only (fixtures 23, 24: `--json` ignored), end
 * with `no errors were found`, or exit 1 with `Fatal: repository contains errors`. 0.18+ with
 * `--json` print one summary `{"message_type":"summary","num_errors","broken_packs",
 * "suggest_repair_index","suggest_prune"}` on stdout and `{"message_type":"error","message"}`
 * lines on stderr (doc/075_scripting.rst "check"; changelog 0.18.0 issue 1378). Takes an
 * exclusive lock.
 */
import { AppError } from '../errors.js';
import type { RepositoryConnection } from './connection.js';
import { failureOf, runRestic, type CallOptions } from './runner.js';
import { atLeast } from './version.js';

export interface CheckOptions {
  /** `--read-data`: read every pack file (slow: downloads the whole repository). */
  readData?: boolean;
  /** `--read-data-subset`: `n/t`, `x%` or a size such as `1G`. */
  readDataSubset?: string;
}

export interface CheckResult {
  /** True when restic found no errors. */
  ok: boolean;
  /** restic's error lines (at most 50). */
  errors: string[];
  /** From the 0.18+ JSON summary; null with older restic. */
  suggestRepairIndex: boolean | null;
  suggestPrune: boolean | null;
  brokenPacks: string[];
}

export const CHECK_TIMEOUT_SECONDS = 6 * 3600;

/** argv of `restic check` (`--json` from 0.18 on). Throws AppError('INVALID_INPUT') for a bad subset. */
export function checkArgs(opts: CheckOptions, version: RepositoryConnection['version']): string[] {
  const args = ['check'];
  if (version && atLeast(version, 0, 18)) args.push('--json');
  if (opts.readData) args.push('--read-data');
  else if (opts.readDataSubset !== undefined) {
    if (!/^(\d+\/\d+|\d+(\.\d+)?%|\d+[KMGT]?)$/.test(opts.readDataSubset))
      throw new AppError('INVALID_INPUT', `check: read-data subset "${opts.readDataSubset}" is not n/t, x% or a size`);
    args.push(`--read-data-subset=${opts.readDataSubset}`);
  }
  return args;
}

/** Read the result from check's stdout and stderr lines (text or 0.18 JSON). */
export function parseCheck(stdout: string, stderrLines: readonly string[], exitCode: number | null): CheckResult {
  const result: CheckResult = {
    ok: exitCode === 0,
    errors: [],
    suggestRepairIndex: null,
    suggestPrune: null,
    brokenPacks: [],
  };
  for (const line of [...stdout.split('\n'), ...stderrLines]) {
    const t = line.trim();
    if (t.startsWith('{')) {
      try {
        const o = JSON.parse(t) as Record<string, unknown>;
        if (o.message_type === 'summary') {
          result.ok = o.num_errors === 0 || o.num_errors === undefined ? result.ok : false;
          result.suggestRepairIndex = o.suggest_repair_index === true;
          result.suggestPrune = o.suggest_prune === true;
          result.brokenPacks = Array.isArray(o.broken_packs) ? o.broken_packs.map(String) : [];
        } else if (o.message_type === 'error' && typeof o.message === 'string') result.errors.push(o.message);
        continue;
      } catch {
        // text line
      }
    }
    if (/^(error|Fatal: repository contains errors|pack [0-9a-f]+:|tree [0-9a-f]+:| {2}(error|blob|file))/i.test(t))
      result.errors.push(t);
  }
  result.errors = result.errors.slice(0, 50);
  return result;
}

/**
 * Check the repository. Resolves with ok=false and the error lines when restic found errors (that
 * is a result, not a failure); throws ResticError when check could not run or did not finish
 * (locked, wrong password, time-out, cancel ...). Default time-out 6 h: restic 0.14 retries
 * loading a missing pack file with back-off for up to 15 minutes, so a check of a damaged repository
 * can take that long; pass `call.timeoutSeconds` for a tighter bound.
 */
export async function check(
  conn: RepositoryConnection,
  opts: CheckOptions = {},
  call: CallOptions = {},
): Promise<CheckResult> {
  const out = await runRestic(conn, checkArgs(opts, conn.version), call, {
    defaultTimeoutSeconds: CHECK_TIMEOUT_SECONDS,
  });
  // A check stopped by its time-out or a cancel is a failure, never a result, even when restic
  // printed `repository contains errors` on its way out (it checked only part of the repository).
  const foundErrors =
    !out.timedOut &&
    !out.cancelled &&
    out.exitCode === 1 &&
    [...out.stderrLines, out.stdout].some((l) => /repository contains errors/.test(l));
  if (!foundErrors) {
    const err = failureOf(out, 'restic check', conn);
    if (err) throw err;
  }
  return parseCheck(out.stdout, out.stderrLines, out.exitCode);
}

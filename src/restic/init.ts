/**
 * `restic init`: create a repository. restic 0.14 ignores `--json` here and prints text
 * (`created restic repository f787c70eca at /srv/rtest`, fixtures 03, 07); 0.15+ with `--json`
 * prints `{"message_type":"initialized","id":"...","repository":"..."}` (restic
 * cmd/restic/cmd_init.go, 0.15.0 changelog "init --json"). An existing repository fails with
 * `Fatal: create repository at ... failed: config file already exists` (fixture 04) -> kind
 * `repository_exists`.
 */
import type { RepositoryConnection } from './connection.js';
import { runResticOk, type CallOptions } from './runner.js';
import { atLeast } from './version.js';

export interface InitOptions {
  /** `--repository-version` (0.14+: `1`, `2` or `latest`); restic's default when absent. */
  repositoryVersion?: '1' | '2' | 'latest';
}

export interface InitResult {
  /** The repository id restic printed (10 hex characters in 0.14 text, the full id in JSON). */
  repositoryId: string | null;
}

/** Default time-out of an init, seconds (a remote backend may be slow to create its folders). */
export const INIT_TIMEOUT_SECONDS = 300;

/** argv of `restic init` for a restic version (`--json` only where it is understood, 0.15+). */
export function initArgs(opts: InitOptions, version: RepositoryConnection['version']): string[] {
  const args = ['init'];
  if (version && atLeast(version, 0, 15)) args.push('--json');
  if (opts.repositoryVersion) args.push('--repository-version', opts.repositoryVersion);
  return args;
}

/** The repository id from init's output, JSON (0.15+) or text (0.14); null when neither. */
export function parseInitOutput(stdout: string): InitResult {
  for (const line of stdout.split(/\r?\n/)) {
    const t = line.trim();
    if (t.startsWith('{')) {
      try {
        const o = JSON.parse(t) as { message_type?: unknown; id?: unknown };
        if (o.message_type === 'initialized' && typeof o.id === 'string') return { repositoryId: o.id };
      } catch {
        // not JSON: try the text form
      }
    }
    const m = /^created restic repository ([0-9a-f]+) at /.exec(t);
    if (m) return { repositoryId: m[1] ?? null };
  }
  return { repositoryId: null };
}

/**
 * Create the repository of `conn`. Throws ResticError with kind `repository_exists` when one is
 * there already, or another kind (restic_missing, timed_out, ...). Default time-out 300 s.
 */
export async function init(
  conn: RepositoryConnection,
  opts: InitOptions = {},
  call: CallOptions = {},
): Promise<InitResult> {
  const out = await runResticOk(conn, initArgs(opts, conn.version), call, {
    what: 'restic init',
    defaultTimeoutSeconds: INIT_TIMEOUT_SECONDS,
  });
  return parseInitOutput(out.stdout);
}

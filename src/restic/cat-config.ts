/**
 * `restic cat config`: the repository's config object `{"version","id","chunker_polynomial"}`
 * (pretty-printed JSON in 0.14, fixture 05; `--json` changes nothing, fixture 06). restic's docs
 * (doc/075_scripting.rst "Checking if a repository is already initialized") name it the way to
 * ask whether a repository exists: exit 10 (0.17+) or exit 1 with "Is there a repository at the
 * following location?" (0.14, fixture 39) when there is none.
 */
import * as z from 'zod';
import type { RepositoryConnection } from './connection.js';
import { isResticError } from './errors.js';
import { parseJsonDocument, runResticOk, type CallOptions } from './runner.js';
import { checkOutput } from './snapshot.js';

export interface RepositoryConfigInfo {
  /** Repository format version: 1 (restic < 0.14) or 2 (compression). */
  version: number;
  /** 64 hex characters. */
  id: string;
}

export const CAT_CONFIG_TIMEOUT_SECONDS = 120;

const configSchema = z.looseObject({ version: z.number().int(), id: z.string().regex(/^[0-9a-f]+$/) });

/** Parse `cat config` output. Throws ResticError('bad_output'). */
export function parseCatConfig(stdout: string): RepositoryConfigInfo {
  const o = checkOutput(configSchema, parseJsonDocument(stdout, 'restic cat config'), 'restic cat config');
  return { version: o.version, id: o.id };
}

/** The repository's config. Throws ResticError (repository_missing, wrong_password, ...). Default time-out 120 s. */
export async function catConfig(conn: RepositoryConnection, call: CallOptions = {}): Promise<RepositoryConfigInfo> {
  const out = await runResticOk(conn, ['cat', 'config', '--no-lock'], call, {
    what: 'restic cat config',
    defaultTimeoutSeconds: CAT_CONFIG_TIMEOUT_SECONDS,
  });
  return parseCatConfig(out.stdout);
}

/** True when a repository exists at conn.url, false when restic says there is none; other failures throw. */
export async function repositoryExists(conn: RepositoryConnection, call: CallOptions = {}): Promise<boolean> {
  try {
    await catConfig(conn, call);
    return true;
  } catch (err) {
    if (isResticError(err, 'repository_missing')) return false;
    throw err;
  }
}

/**
 * Talking to the running agent's local API from the CLI. The embedded database (PGlite) belongs to
 * one process (C18): while an agent runs on it, read commands (`job list`, `runs`) ask that agent
 * over http://<client.http_bind> instead of opening the folder.
 */
import type { LocalConfig } from '../config/local-config.js';
import { AppError, isAppError } from '../errors.js';
import { readApiTokenForCli, tokenPath } from '../api/auth/token-file.js';

/** GET `path` from the agent of `local`; throws DB_LOCKED-style advice when it does not answer. */
export async function agentRequest<T>(local: Pick<LocalConfig, 'client' | 'dataDir'>, path: string, init: { method?: 'GET' | 'POST'; body?: unknown } = {}): Promise<T> {
  const host = local.client.http_bind.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = readApiTokenForCli(local.dataDir, local.client.api_token); // throws with advice when unreadable
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.method === 'POST') headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`http://${host}${path}`, {
      method: init.method ?? 'GET', headers, signal: AbortSignal.timeout(10_000),
      ...(init.method === 'POST' ? { body: JSON.stringify(init.body ?? {}) } : {}),
    });
  } catch (err) {
    throw new AppError('DB_LOCKED', `the embedded database is in use by a running agent, and its API at http://${host} does not answer (${(err as Error).message})`);
  }
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!res.ok) {
    if (res.status === 401) throw new AppError('UNAUTHORIZED', `agent at http://${host} refused the API token of ${tokenPath(local.dataDir)} (client.api_token wins when set): run this command as the agent's user or an administrator`);
    const code = res.status === 404 ? 'NOT_FOUND' : res.status === 409 ? 'CONFLICT' : 'INVALID_INPUT';
    throw new AppError(code, `agent at http://${host}: ${body.error?.message ?? `HTTP ${res.status}`}`);
  }
  return body as T;
}

/**
 * Run `direct` against the database; when the embedded database is held by a running agent
 * (DB_LOCKED), run `viaAgent` instead. Other errors propagate.
 */
export async function directOrViaAgent<T>(local: Pick<LocalConfig, 'embedded'>, direct: () => Promise<T>, viaAgent: () => Promise<T>): Promise<T> {
  try {
    return await direct();
  } catch (err) {
    if (local.embedded && isAppError(err, 'DB_LOCKED')) return viaAgent();
    throw err;
  }
}

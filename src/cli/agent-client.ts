/**
 * Talking to the running agent's local API from the CLI. The embedded database (PGlite) belongs to
 * one process (C18): while an agent runs on it, read commands (`job list`, `runs`) ask that agent
 * over http://<client.http_bind> instead of opening the folder.
 */
import type { LocalConfig } from '../config/local-config.js';
import { AppError, isAppError } from '../errors.js';
import { readApiTokenForCli, tokenPath } from '../api/auth/token-file.js';

/** GET `path` from the agent of `local`; throws DB_LOCKED-style advice when it does not answer. */
export async function agentRequest<T>(
  local: Pick<LocalConfig, 'client' | 'dataDir'>,
  path: string,
  init: { method?: 'GET' | 'POST'; body?: unknown } = {},
): Promise<T> {
  const host = local.client.http_bind.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = readApiTokenForCli(local.dataDir, local.client.api_token); // throws with advice when unreadable
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.method === 'POST') headers['content-type'] = 'application/json';
  let res: { status: number; text: string };
  try {
    res = await httpRequest(
      `http://${host}${path}`,
      init.method ?? 'GET',
      headers,
      init.method === 'POST' ? JSON.stringify(init.body ?? {}) : undefined,
    );
  } catch (err) {
    throw new AppError(
      'DB_LOCKED',
      `the embedded database is in use by a running agent, and its API at http://${host} does not answer (${(err as Error).message})`,
    );
  }
  let body: { error?: { code?: string; message?: string } } = {};
  try {
    body = JSON.parse(res.text) as typeof body;
  } catch {
    // not JSON: the status alone says what happened
  }
  if (res.status < 200 || res.status > 299) {
    if (res.status === 401)
      throw new AppError(
        'UNAUTHORIZED',
        `agent at http://${host} refused the API token of ${tokenPath(local.dataDir)} (client.api_token wins when set): run this command as the agent's user or an administrator`,
      );
    const code = res.status === 404 ? 'NOT_FOUND' : res.status === 409 ? 'CONFLICT' : 'INVALID_INPUT';
    throw new AppError(code, `agent at http://${host}: ${body.error?.message ?? `HTTP ${res.status}`}`);
  }
  return body as T;
}

/** Longest answer read from the agent, bytes. */
const MAX_ANSWER = 16 * 1024 * 1024;

/**
 * One HTTP request with node:http (loaded on first use), bounded to 10 s and 16 MiB. Not fetch(): undici's connect fails
 * ("connect UNKNOWN") on the Windows node.exe under Wine, where node:http works (issue 20).
 */
async function httpRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<{ status: number; text: string }> {
  // Loaded here, not with the CLI: most commands never ask the agent, and node:http with its
  // dependencies costs every command ~10 ms (Node 20, --cpu-prof).
  const { default: http } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER) req.destroy(new Error(`answer larger than ${MAX_ANSWER} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Run `direct` against the database; when the embedded database is held by a running agent
 * (DB_LOCKED), run `viaAgent` instead. Other errors propagate.
 */
export async function directOrViaAgent<T>(
  local: Pick<LocalConfig, 'embedded'>,
  direct: () => Promise<T>,
  viaAgent: () => Promise<T>,
): Promise<T> {
  try {
    return await direct();
  } catch (err) {
    if (local.embedded && isAppError(err, 'DB_LOCKED')) return viaAgent();
    throw err;
  }
}

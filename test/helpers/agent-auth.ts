/**
 * The API token of an agent under test: `<data_dir>/api-token`, created by the agent at start
 * (issue 15). Tests send it as a script or the CLI would.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The token the agent with this data folder created. */
export function agentToken(dataDir: string): string {
  return fs.readFileSync(path.join(dataDir, 'api-token'), 'utf8').trim();
}

/** `{authorization: 'Bearer <token>'}` for that agent. */
export function authHeader(dataDir: string): Record<string, string> {
  return { authorization: `Bearer ${agentToken(dataDir)}` };
}

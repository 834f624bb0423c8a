/**
 * Issue 15 CLI: `rbackup2 ui-password` reads the password from standard input (never argv) and
 * stores only its scrypt hash in `ui_password_hash`, which the agent's POST /login accepts; the
 * CLI talking to a running agent uses `<data_dir>/api-token` (no client.api_token configured).
 * `device login` itself is run by test/e2e/scheduler-agent.test.ts (the agent then uses its URL).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/api/auth/password-hash.js';
import { migrate, openPostgres, upsertDevice, type Database } from '../../src/db/index.js';
import { ProcessGroup, freePort, writeAgentConfig } from '../helpers/agent-process.js';
import { createTempPgDatabase } from '../helpers/databases.js';

const DEVICE = 'access-cli';
const procs = new ProcessGroup();
let dir = '';
let db: Database;
let drop: () => Promise<void> = async () => {};
let dbUrl = '';

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-access-cli-'));
  const tmp = await createTempPgDatabase();
  drop = tmp.drop;
  db = await openPostgres({ connectionString: tmp.url, connectAttempts: 1 });
  await migrate(db);
  await upsertDevice(db, { id: DEVICE });
  dbUrl = tmp.url;
});

afterAll(async () => {
  await procs.killAll();
  await db?.close();
  await drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('access commands', () => {
  it('ui-password stores a scrypt hash read from stdin; the running agent signs in with it; the CLI uses the token file', async () => {
    const port = await freePort();
    const config = writeAgentConfig({
      dir,
      deviceId: DEVICE,
      port,
      databaseUrl: dbUrl,
      dataDir: path.join(dir, 'data'),
      apiToken: null,
    });
    const secret = 'heslo "z" stdin; $HOME';
    const set = await procs.runCli(['--config', config, 'ui-password'], { input: `${secret}\n` });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/web UI password set for device access-cli/);
    const { rows } = await db.query<{ value: string }>(
      "SELECT value FROM settings WHERE device_id = $1 AND key = 'ui_password_hash'",
      [DEVICE],
    );
    expect(rows[0]?.value).toMatch(/^scrypt\$15\$8\$1\$/);
    expect(rows[0]?.value).not.toContain(secret);
    expect(await verifyPassword(secret, rows[0]?.value)).toBe(true);

    await procs.startAgentReady(config, port);
    const login = await fetch(`http://127.0.0.1:${port}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: secret }),
    });
    expect(login.status).toBe(200);
    expect(login.headers.get('set-cookie')).toMatch(/^rbackup2_session=.*HttpOnly; SameSite=Strict/);
    const wrong = await fetch(`http://127.0.0.1:${port}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'nope' }),
    });
    expect(wrong.status).toBe(401);
    // the CLI's agent client (used while an agent holds the embedded database) reads <data_dir>/api-token itself
    const { agentRequest } = await import('../../src/cli/agent-client.js');
    const { loadLocalConfig } = await import('../../src/config/local-config.js');
    const status = await agentRequest<{ device: { id: string } }>(loadLocalConfig(config, {}), '/status');
    expect(status.device.id).toBe(DEVICE);
  }, 240_000);
});

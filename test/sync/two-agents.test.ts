/**
 * Issue 6.5: a change written through one agent's API (POST /config) applies on that agent at once
 * and on another agent of the same device within the push delay (NOTIFY), without corrupting
 * anything. PostgreSQL only: PGlite is one process's database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startAgent, type Agent } from '../../src/app.js';
import { createTempPgDatabase } from '../helpers/databases.js';
import { authHeader } from '../helpers/agent-auth.js';
import { dropDeviceRoles } from '../helpers/device-role.js';
import { createOrResetDeviceRole } from '../../src/db/device-roles.js';
import { openPostgres } from '../../src/db/index.js';
import { captureLog, localConfig, makeWorkspace, seedFor, waitFor, type Workspace } from './harness.js';

const DEVICE = 'two-agents';

describe('POST /config through one agent reaches a second agent of the device [postgres]', () => {
  let ws: Workspace;
  let a: Agent;
  let b: Agent;
  let drop: (() => Promise<void>) | null = null;
  let jobId = '';
  const logA = captureLog();
  const logB = captureLog();

  beforeAll(async () => {
    ws = makeWorkspace();
    const tmp = await createTempPgDatabase();
    drop = tmp.drop;
    drop = async () => {
      await tmp.drop();
      await dropDeviceRoles(tmp.name);
    };
    jobId = await seedFor(localConfig(ws.dir, DEVICE, tmp.url, path.join(ws.dir, 'data-seed')), {
      device: DEVICE,
      repoDir: ws.repoDir,
      sourceDir: ws.sourceDir,
    });
    // Both agents connect as the device's own role (issue 15: row-level security), as `device login` makes it.
    const admin = await openPostgres({ connectionString: tmp.url, connectAttempts: 1 });
    const login = await createOrResetDeviceRole(admin, DEVICE).finally(() => admin.close());
    const u = new URL(tmp.url);
    u.username = login.role;
    u.password = login.password;
    a = await startAgent({
      local: localConfig(ws.dir, DEVICE, u.toString(), path.join(ws.dir, 'data-a')),
      logger: logA.logger,
    });
    b = await startAgent({
      local: localConfig(ws.dir, DEVICE, u.toString(), path.join(ws.dir, 'data-b')),
      logger: logB.logger,
      http: false,
    });
  }, 120_000);

  afterAll(async () => {
    await a?.stop('test done');
    await b?.stop('test done');
    await drop?.();
    ws?.cleanup();
  });

  it('agent A applies at once, agent B within 2 s', async () => {
    const res = await fetch(`${a.url}/config`, {
      method: 'POST',
      headers: { ...authHeader(path.join(ws.dir, 'data-a')), 'content-type': 'application/json' },
      body: JSON.stringify({ jobs: [{ id: jobId, source_paths: ['/srv/changed-through-api'] }] }),
    });
    expect(res.status).toBe(200);
    const pathsOf = async (agent: Agent) =>
      (await agent.service.status()).jobs.find((j) => j.id === jobId)?.sourcePaths[0];
    expect(await pathsOf(a)).toBe('/srv/changed-through-api'); // applied before the answer
    const t0 = Date.now();
    await waitFor('agent B has the change', async () => (await pathsOf(b)) === '/srv/changed-through-api', 2000);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await b.service.status()).jobs).toHaveLength(1); // nothing duplicated or lost
    // under the per-device role: no permission error, no shared-role warning
    for (const text of [JSON.stringify(logA.lines), JSON.stringify(logB.lines)]) {
      expect(text).not.toMatch(/permission denied|42501|row-level security/i);
      expect(text).not.toContain('is not a per-device role');
    }
  }, 60_000);
});

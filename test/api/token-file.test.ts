/**
 * Issue 15: the agent's API token file `<data_dir>/api-token` (created at the first start, random,
 * mode 0600; a wrong owner or mode is a clear start-up error, never loosened) and, on a real agent
 * (PGlite), `metrics.public: true` opening GET /metrics alone.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureApiToken, readApiTokenForCli, tokenPath } from '../../src/api/auth/token-file.js';
import { startAgent } from '../../src/app.js';
import { parseLocalConfig } from '../../src/config/local-config.js';
import { isAppError } from '../../src/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-token-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the API token file', () => {
  it('is created once with mode 0600 and 43 random characters; the same token on the next start', () => {
    const dir = path.join(tmp, 'fresh');
    const token = ensureApiToken(dir);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fs.statSync(tokenPath(dir)).mode & 0o777).toBe(0o600);
    expect(ensureApiToken(dir)).toBe(token);
    expect(ensureApiToken(path.join(tmp, 'other'))).not.toBe(token);
    expect(readApiTokenForCli(dir, undefined)).toBe(token);
    expect(readApiTokenForCli(dir, 'configured-token-0123456789')).toBe('configured-token-0123456789');
    expect(readApiTokenForCli(path.join(tmp, 'never-started'), undefined)).toBeNull();
  });

  // Another OS account runs the CLI: the kernel refuses the read (setpriv to user nobody, a real
  // process of the built module), and the message says why and what to do instead.
  it('a user who cannot read the token file is told why and how (run as the agent user or an administrator)', () => {
    const dir = path.join(tmp, 'private');
    ensureApiToken(dir); // folder 0700, file 0600, owned by this (root) user
    const mod = pathToFileURL(path.resolve(import.meta.dirname, '../../dist/api/auth/token-file.js')).href;
    const code = `import(${JSON.stringify(mod)}).then((m) => { try { m.readApiTokenForCli(${JSON.stringify(dir)}, undefined); console.log('READ'); } catch (e) { console.log(e.code + ': ' + e.message); } })`;
    const r = spawnSync(
      'setpriv',
      ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', code],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('READ');
    expect(r.stdout).toContain(`UNAUTHORIZED: cannot read the agent's API token ${tokenPath(dir)} (permission denied)`);
    expect(r.stdout).toMatch(/run this command as that user .* or as an administrator/);
  });

  it('a file other users can read is a start-up error naming the file and chmod 600; it is not changed', () => {
    const dir = path.join(tmp, 'loose');
    ensureApiToken(dir);
    fs.chmodSync(tokenPath(dir), 0o644);
    const err = (() => {
      try {
        ensureApiToken(dir);
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(isAppError(err, 'CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain(tokenPath(dir));
    expect((err as Error).message).toMatch(/mode 0644.*chmod 600/);
    expect(fs.statSync(tokenPath(dir)).mode & 0o777).toBe(0o644);
  });

  it.skipIf(process.getuid?.() !== 0)('a file owned by another user is a start-up error (needs root to chown)', () => {
    const dir = path.join(tmp, 'foreign');
    ensureApiToken(dir);
    fs.chownSync(tokenPath(dir), 65534, 65534);
    const err = (() => {
      try {
        ensureApiToken(dir);
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(isAppError(err, 'CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/owned by uid 65534, not by the agent's user/);
  });

  it('a real agent refuses to start with a loose token file, before opening its database', async () => {
    const dataDir = path.join(tmp, 'agent-loose');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(tokenPath(dataDir), 'x'.repeat(43), { mode: 0o640 });
    const local = parseLocalConfig(
      `device:\n  id: tok\nclient:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${dataDir}"\n`,
      path.join(tmp, 'c.yaml'),
      {},
    );
    const err = await startAgent({ local, logger: pino({ level: 'silent' }) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isAppError(err, 'CONFIG_INVALID')).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'db'))).toBe(false);
  });

  it('metrics.public: true opens GET /metrics only; every other route still needs the token', async () => {
    const dataDir = path.join(tmp, 'agent-public');
    const local = parseLocalConfig(
      `device:\n  id: tok\nclient:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${dataDir}"\n  log_file: "${dataDir}/a.log"\nmetrics:\n  public: true\n`,
      path.join(tmp, 'c.yaml'),
      {},
    );
    const agent = await startAgent({ local, logger: pino({ level: 'silent' }) });
    try {
      expect((await fetch(`${agent.url}/metrics`)).status).toBe(200);
      expect((await fetch(`${agent.url}/status`)).status).toBe(401);
      const token = fs.readFileSync(tokenPath(dataDir), 'utf8').trim();
      expect((await fetch(`${agent.url}/status`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      await agent.stop('test done');
    }
  }, 120_000);
});

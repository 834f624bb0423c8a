/**
 * Issue 19 point 1: `rbackup2 notify add|list|remove`, the real CLI (dist/main.js) on PGlite (the
 * admin config's embedded database) and on PostgreSQL. The checks are channel-admin.ts's, shared
 * with the dashboard and the local UI: a bad config is refused before the database is opened, a
 * taken name and an unknown device are refused, `list` redacts the secret, `remove` removes the
 * channel (and says so for one that is not there).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup } from '../helpers/agent-process.js';
import { createTempPgDatabase } from '../helpers/databases.js';

const SECRET = 'cli-hmac-secret-0815';

describe.each(['pglite', 'postgres'] as const)('rbackup2 notify add|list|remove (%s)', (kind) => {
  const procs = new ProcessGroup();
  let dir = '';
  let cfg = '';
  let drop: () => Promise<void> = async () => {};
  const cli = (args: string[], input?: string) => procs.runCli(['--config', cfg, 'notify', ...args], { input });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `rbackup2-notify-cli-${kind}-`));
    let database = '';
    if (kind === 'postgres') {
      const pg = await createTempPgDatabase();
      drop = pg.drop;
      database = `database:\n  url: ${JSON.stringify(pg.url)}\n  ssl_mode: disable\n`;
    }
    cfg = path.join(dir, 'admin.yaml');
    fs.writeFileSync(cfg, `${database}client:\n  data_dir: ${JSON.stringify(path.join(dir, 'data'))}\n`);
    const m = await procs.runCli(['--config', cfg, 'migrate']);
    expect(m.code, m.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await procs.killAll();
    await drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('adds (checked as everywhere), lists redacted, removes', async () => {
    const bad = await cli(['add', 'hook', 'webhook', '--url', 'ftp://x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('channel hook (webhook): config.url: must be an http or https URL');
    const badEvent = await cli(['add', 'hook', 'webhook', '--url', 'http://127.0.0.1:9/h', '--events', 'run.exploded']);
    expect(badEvent.code).toBe(1);
    expect(badEvent.stderr).toContain('unknown event "run.exploded"');

    const add = await cli(
      ['add', 'hook', 'webhook', '--stdin', '--events', 'run.failed'],
      JSON.stringify({ url: 'http://127.0.0.1:9/h', secret: SECRET }),
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^channel hook \(webhook, id \d+\) added for every device: run.failed$/m);
    const dup = await cli(['add', 'hook', 'ntfy', '--url', 'http://127.0.0.1:9/topic']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('a channel named hook exists');
    const noDevice = await cli(['add', 'other', 'ntfy', '--url', 'http://127.0.0.1:9/topic', '--device', 'nope']);
    expect(noDevice.code).toBe(1);
    expect(noDevice.stderr).toContain('channel other: no device nope');

    const list = await cli(['list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).not.toContain(SECRET);
    expect(JSON.parse(list.stdout).channels).toEqual([
      expect.objectContaining({
        name: 'hook',
        kind: 'webhook',
        events: ['run.failed'],
        config: { url: 'http://127.0.0.1:9/h', secret: '(set)' },
      }),
    ]);

    const rm = await cli(['remove', 'hook']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toBe('channel hook removed\n');
    expect(JSON.parse((await cli(['list', '--json'])).stdout).channels).toEqual([]);
    const again = await cli(['remove', 'hook']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('channel hook does not exist');
  }, 120_000);
});

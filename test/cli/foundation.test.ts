/**
 * The rbackup2 binary (issue 2, "Foundation"), spawned as `node dist/main.js` on the real
 * databases: concurrent `migrate`, the example config starting an agent, admin commands on both
 * databases, and user errors as one line on stderr.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMigrations, defaultMigrationsDir } from '../../src/db/index.js';
import {
  ProcessGroup,
  freePort,
  repoRoot,
  waitFor,
  writeAgentConfig,
  type CliResult,
} from '../helpers/agent-process.js';
import { createTempPgDatabase, freshPgliteDir } from '../helpers/databases.js';

const procs = new ProcessGroup();
const temps: string[] = [];
const drops: (() => Promise<void>)[] = [];

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-cli-'));
  temps.push(d);
  return d;
}

async function pgQuery<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** A user error: exit 1, exactly one line on stderr, starting with `rbackup2:`, no stack trace. */
function expectOneLineError(r: CliResult, mentions: RegExp): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^rbackup2: /);
  expect(lines[0]).toMatch(mentions);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

afterAll(async () => {
  await procs.killAll();
  for (const d of drops) await d().catch(() => undefined);
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

describe('rbackup2 migrate', () => {
  it('20 concurrent migrate processes on one fresh PostgreSQL database all exit 0 and apply each migration once', async () => {
    const db = await createTempPgDatabase();
    drops.push(() => db.drop());
    const dir = tempDir();
    const config = writeAgentConfig({ dir, deviceId: 'migrate-dev', port: 1, databaseUrl: db.url });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => procs.runCli(['--config', config, 'migrate'], { timeoutMs: 240_000 })),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const files = readMigrations(defaultMigrationsDir()).map((f) => f.version);
    expect(files.length).toBeGreaterThanOrEqual(4);
    // One process applied everything; the 19 others waited on the advisory lock and found nothing to do.
    expect(results.filter((r) => r.stdout.startsWith('applied:'))).toHaveLength(1);
    expect(results.filter((r) => r.stdout.includes('database is up to date'))).toHaveLength(19);
    const rows = await pgQuery<{ version: string; n: string }>(
      db.url,
      'SELECT version, count(*) AS n FROM schema_migrations GROUP BY version ORDER BY version',
    );
    expect(rows.map((r) => r.version)).toEqual(files);
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
  }, 300_000);
});

describe('rbackup2 --config config.example.yaml', () => {
  it('starts on the embedded database, creates its data folder, logs the banner and exits 0 within 2 s of SIGTERM', async () => {
    const dir = tempDir();
    const port = await freePort();
    const text = fs.readFileSync(path.join(repoRoot, 'config.example.yaml'), 'utf8');
    expect(text).toContain('http_bind: "127.0.0.1:1201"');
    const file = path.join(dir, 'config.example.yaml');
    fs.writeFileSync(file, text.replace('127.0.0.1:1201', `127.0.0.1:${port}`));
    expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
    const agent = procs.startAgent(file, []);
    const banner = await agent.waitForLog('rbackup2 agent started', 120_000);
    expect(banner.json?.device).toBe('demo-device');
    expect(String(banner.json?.database)).toContain(path.join(dir, 'data'));
    expect(fs.statSync(path.join(dir, 'data', 'db')).isDirectory()).toBe(true);
    await waitFor('GET /health', async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, 30_000);
    const stopped = await agent.stop('SIGTERM', 30_000);
    expect(stopped.code, agent.stderr.slice(-2000)).toBe(0);
    expect(stopped.ms).toBeLessThan(2000);
    // The log file named by the example config was written, and the lock was released.
    expect(fs.existsSync(path.join(dir, 'data'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'data', 'db.lock'))).toBe(false);
  }, 240_000);
});

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`job add / job list / job set-retention [${kind}]`, () => {
    let config = '';
    let dbUrl = '';
    beforeAll(async () => {
      const dir = tempDir();
      if (kind === 'postgres') {
        const db = await createTempPgDatabase();
        drops.push(() => db.drop());
        dbUrl = db.url;
        config = writeAgentConfig({ dir, deviceId: 'cli-dev', port: 1, databaseUrl: db.url });
      } else {
        const dbDir = await freshPgliteDir();
        temps.push(path.dirname(dbDir));
        config = writeAgentConfig({ dir, deviceId: 'cli-dev', port: 1, dataDir: path.dirname(dbDir) });
      }
    });

    it('job add NAME --path P --interval 300, then job list shows it with its schedule', async () => {
      const src = tempDir();
      const add = await procs.runCli([
        '--config',
        config,
        'job',
        'add',
        'Documents and more',
        '--path',
        src,
        '--interval',
        '300',
      ]);
      expect(add.code, add.stderr).toBe(0);
      const id = /added: ([0-9a-f-]{36})/.exec(add.stdout)?.[1];
      expect(id).toBeTruthy();
      const list = await procs.runCli(['--config', config, 'job', 'list']);
      expect(list.code, list.stderr).toBe(0);
      const row = list.stdout.split('\n').find((l) => l.startsWith(id!));
      expect(row).toBeDefined();
      expect(row).toContain('cli-dev');
      expect(row).toContain('Documents and more');
      expect(row).toContain('every 300 s');
      expect(row).toContain(src);
      // Adding the same name twice is a one-line conflict, not a stack trace.
      const again = await procs.runCli(['--config', config, 'job', 'add', 'Documents and more', '--path', src]);
      expectOneLineError(again, /already exists|Documents and more/);
    }, 120_000);

    it('job add --repo NAME uses that repository (one transaction: no deadlock on the embedded database)', async () => {
      const src = tempDir();
      const repo = await procs.runCli(
        ['--config', config, 'repo', 'add', 'nas', '--url', '/srv/restic-nas', '--password-file', '/etc/nas.pw'],
        { timeoutMs: 60_000 },
      );
      expect(repo.code, repo.stderr).toBe(0);
      const add = await procs.runCli(['--config', config, 'job', 'add', 'with repo', '--path', src, '--repo', 'nas'], {
        timeoutMs: 60_000,
      });
      expect(add.code, add.stderr).toBe(0);
      expect(add.stdout).toMatch(/job with repo added/);
      expect(add.stderr).not.toMatch(/no repository/);
      const bare = await procs.runCli(['--config', config, 'job', 'add', 'without repo', '--path', src], {
        timeoutMs: 60_000,
      });
      expect(bare.code, bare.stderr).toBe(0);
      expect(bare.stderr).toMatch(/no repository/); // told at once, not at the first backup
    }, 120_000);

    it('job set-retention stores a valid policy and job list shows it; an invalid one is refused naming the option; --none clears it', async () => {
      const cli = (...args: string[]) => procs.runCli(['--config', config, ...args], { timeoutMs: 60_000 });
      const add = await cli('job', 'add', 'Kept photos', '--path', tempDir());
      expect(add.code, add.stderr).toBe(0);
      const id = /added: ([0-9a-f-]{36})/.exec(add.stdout)?.[1] ?? '';
      const listed = async () => {
        const list = await cli('job', 'list');
        expect(list.code, list.stderr).toBe(0);
        expect(list.stdout.split('\n')[0]).toMatch(/\bRETENTION\b/);
        return list.stdout.split('\n').find((l) => l.startsWith(id)) ?? '';
      };
      const stored = async () =>
        kind === 'postgres'
          ? (await pgQuery<{ retention: unknown }>(dbUrl, 'SELECT retention FROM backup_jobs WHERE id = $1', [id]))[0]
              ?.retention
          : undefined;
      expect(await listed()).toContain('keep everything');

      const set = await cli('job', 'set-retention', 'Kept photos', '--keep-daily', '7', '--keep-within', '30d');
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout.trim()).toBe(`job Kept photos (${id}): retention keep_daily 7, keep_within 30d`);
      expect(await listed()).toContain('keep_daily 7, keep_within 30d');
      if (kind === 'postgres') expect(await stored()).toEqual({ keep_daily: 7, keep_within: '30d' });

      // Refused, one line naming the option; the stored policy is untouched.
      expectOneLineError(
        await cli('job', 'set-retention', id, '--keep-daily', 'seven'),
        /--keep-daily must be a whole/,
      );
      expectOneLineError(
        await cli('job', 'set-retention', id, '--keep-within', '30x'),
        /--keep-within: must be a duration such as 30d/,
      );
      const nothing = await cli('job', 'set-retention', id, '--keep-last', '0');
      expectOneLineError(nothing, /keeps nothing: set at least one --keep-\* above 0 or --keep-within \(use --none/);
      expect(nothing.stderr).not.toMatch(/null|retention: retention|keep_/);
      expectOneLineError(await cli('job', 'set-retention', id), /give --keep-\* options or --none/);
      expectOneLineError(
        await cli('job', 'set-retention', id, '--none', '--keep-last', '1'),
        /--none cannot go with --keep-\* options/,
      );
      expectOneLineError(await cli('job', 'set-retention', 'no such job', '--keep-last', '1'), /no such job/);
      expect(await listed()).toContain('keep_daily 7, keep_within 30d');

      const cleared = await cli('job', 'set-retention', id, '--none');
      expect(cleared.code, cleared.stderr).toBe(0);
      expect(cleared.stdout).toContain('retention keep everything');
      expect(await listed()).toContain('keep everything');
      if (kind === 'postgres') expect(await stored()).toBeNull();
    }, 180_000);
  });
}

describe('device / repo / schedule admin commands [postgres]', () => {
  let config = '';
  let url = '';
  const run = (...args: string[]) => procs.runCli(['--config', config, ...args]);
  beforeAll(async () => {
    const db = await createTempPgDatabase();
    drops.push(() => db.drop());
    url = db.url;
    config = writeAgentConfig({ dir: tempDir(), deviceId: 'admin-dev', port: 1, databaseUrl: url });
  });

  it('device add / list / remove', async () => {
    expect((await run('device', 'add', 'laptop-7', '--name', 'Laptop 7')).code).toBe(0);
    const list = await run('device', 'list');
    expect(list.stdout).toMatch(/laptop-7\s+Laptop 7/);
    expect((await run('device', 'remove', 'laptop-7')).code).toBe(0);
    expect((await run('device', 'list')).stdout).not.toContain('laptop-7');
    expectOneLineError(await run('device', 'remove', 'laptop-7'), /device "laptop-7" not found/);
  }, 120_000);

  it('repo add --password-stdin stores the piped password (never in argv), list hides it, remove', async () => {
    const secret = 'pa$$ w0rd"\'`;# from stdin';
    const add = await procs.runCli(
      ['--config', config, 'repo', 'add', 'nas', '--url', '/srv/restic-nas', '--password-stdin'],
      { input: `${secret}\n` },
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout + add.stderr).not.toContain(secret);
    const rows = await pgQuery<{ password: string; url: string }>(
      url,
      'SELECT password, url FROM repositories WHERE name = $1',
      ['nas'],
    );
    expect(rows).toEqual([{ password: secret, url: '/srv/restic-nas' }]);
    const list = await run('repo', 'list');
    expect(list.stdout).toMatch(/nas\s+\/srv\/restic-nas\s+stored/);
    expect(list.stdout).not.toContain(secret);
    // Nothing on stdin: a clear one-line error, nothing stored.
    expectOneLineError(
      await procs.runCli(['--config', config, 'repo', 'add', 'empty', '--url', '/x', '--password-stdin'], {
        input: '',
      }),
      /nothing was read from standard input/,
    );
    expect((await run('repo', 'remove', 'nas')).code).toBe(0);
    expect((await run('repo', 'list')).stdout).not.toContain('nas');
  }, 120_000);

  it('setting set / list / remove; a secret only from standard input and never shown', async () => {
    expect((await run('setting', 'set', 'max_concurrent_backups', '2')).code).toBe(0);
    expect((await run('setting', 'set', 'repository_url', '/srv/global-repo', '--global')).code).toBe(0);
    expectOneLineError(
      await run('setting', 'set', 'repository_password', 'on-the-command-line'),
      /secret: give it on standard input/,
    );
    const secret = 'pa$$ w0rd"\'`;#';
    const set = await procs.runCli(
      ['--config', config, 'setting', 'set', 'repository_password', '--stdin', '--global'],
      { input: `${secret}\n` },
    );
    expect(set.code, set.stderr).toBe(0);
    const list = await run('setting', 'list');
    expect(list.stdout).toMatch(/max_concurrent_backups\s+2\s+device admin-dev/);
    expect(list.stdout).toMatch(/repository_url\s+\/srv\/global-repo\s+global/);
    expect(list.stdout).toMatch(/repository_password\s+\(set\)\s+global/);
    expect(list.stdout).not.toContain(secret);
    expect(
      await pgQuery<{ value: string }>(
        url,
        "SELECT value FROM settings WHERE device_id IS NULL AND key = 'repository_password'",
      ),
    ).toEqual([{ value: secret }]);
    expect((await run('setting', 'remove', 'max_concurrent_backups')).code).toBe(0);
    expect((await run('setting', 'list')).stdout).toMatch(/max_concurrent_backups\s+1\s+global/);
    expectOneLineError(await run('setting', 'remove', 'max_concurrent_backups'), /has no value for device admin-dev/);
    // issue 16: one registry of settings; a typo or a value out of range is refused naming it.
    expectOneLineError(
      await run('setting', 'set', 'max_concurent_backups', '2'),
      /unknown setting "max_concurent_backups"; known settings: .*max_concurrent_backups/,
    );
    expectOneLineError(
      await run('setting', 'set', 'max_concurrent_backups', '0'),
      /setting max_concurrent_backups must be a whole number from 1 to 64 \(got "0"\)/,
    );
  }, 120_000);

  it('schedule add / list / remove on a job', async () => {
    expect((await run('job', 'add', 'sched-job', '--path', '/srv/data')).code).toBe(0);
    const add = await run('schedule', 'add', 'sched-job', '--cron', '30 2 * * *', '--timezone', 'Europe/Prague');
    expect(add.code, add.stderr).toBe(0);
    const id = /schedule #(\d+) added; next runs: (\S+), (\S+), (\S+)/.exec(add.stdout);
    expect(id, add.stdout).not.toBeNull();
    const list = await run('schedule', 'list', 'sched-job');
    expect(list.stdout).toMatch(new RegExp(`^${id![1]}\\s+\\S+\\s+cron\\s+30 2 \\* \\* \\*\\s+Europe/Prague`, 'm'));
    expectOneLineError(await run('schedule', 'add', 'sched-job', '--cron', '61 * * * *'), /--cron "61 \* \* \* \*"/);
    expect((await run('schedule', 'remove', id![1]!)).code).toBe(0);
    expect((await run('schedule', 'list', 'sched-job')).stdout).not.toMatch(new RegExp(`^${id![1]}\\s`, 'm'));
    expect((await run('job', 'remove', 'sched-job')).code).toBe(0);
  }, 120_000);
});

describe('user errors are one line on stderr, exit 1, no stack trace', () => {
  it('an unknown config key is named', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, 'device:\n  id: x\nclient:\n  htp_bind: "127.0.0.1:1"\n');
    const r = await procs.runCli(['--config', file, 'job', 'list']);
    expectOneLineError(r, /htp_bind/);
    expect(r.stderr).toContain(file);
  });

  it('an unknown job is named', async () => {
    const db = await createTempPgDatabase();
    drops.push(() => db.drop());
    const config = writeAgentConfig({ dir: tempDir(), deviceId: 'err-dev', port: 1, databaseUrl: db.url });
    expectOneLineError(
      await procs.runCli(['--config', config, 'job', 'remove', 'no-such-job']),
      /job "no-such-job" not found/,
    );
    expectOneLineError(await procs.runCli(['--config', config, 'backup', 'no-such-job']), /no-such-job/);
  }, 120_000);

  it('a missing config file is named', async () => {
    const missing = path.join(tempDir(), 'nope', 'config.yaml');
    expectOneLineError(
      await procs.runCli(['--config', missing, 'job', 'list']),
      new RegExp(missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')),
    );
  });
});

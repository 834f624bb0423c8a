/**
 * `rbackup2 repo init NAME` and `rbackup2 snapshots JOB [--json]` (issue 14 point 5) spawned as the
 * real binary with real restic 0.14, on PostgreSQL and on the embedded database (PGlite).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup, writeAgentConfig, type CliResult } from '../helpers/agent-process.js';
import { createTempPgDatabase, freshPgliteDir } from '../helpers/databases.js';

const procs = new ProcessGroup();
const temps: string[] = [];
const drops: (() => Promise<void>)[] = [];
const PASSWORD = 'restic cli pw';

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-restic-cli-'));
  temps.push(d);
  return d;
}

function expectOneLineError(r: CliResult, mentions: RegExp): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^rbackup2: /);
  expect(lines[0]).toMatch(mentions);
}

/** A snapshot written by restic itself (host and tags as a Relica-era or other job's would be). */
function backupDirect(repo: string, cache: string, source: string, host: string, tags: string[]): void {
  execFileSync('/usr/bin/restic', ['backup', '--quiet', '--host', host, ...tags.flatMap((t) => ['--tag', t]), source], {
    env: { PATH: '/usr/bin:/bin', RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: cache },
    stdio: 'ignore',
  });
}

afterAll(async () => {
  await procs.killAll();
  for (const d of drops) await d();
  for (const t of temps) fs.rmSync(t, { recursive: true, force: true });
});

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`repo init / snapshots [${kind}]`, () => {
    let config = '';
    let dir = '';
    const run = (args: string[], input?: string) =>
      procs.runCli(['--config', config, ...args], { timeoutMs: 90_000, ...(input ? { input } : {}) });

    beforeAll(async () => {
      dir = tempDir();
      if (kind === 'postgres') {
        const db = await createTempPgDatabase();
        drops.push(() => db.drop());
        config = writeAgentConfig({ dir, deviceId: 'restic-cli-dev', port: 1, databaseUrl: db.url });
      } else {
        const dbDir = await freshPgliteDir();
        temps.push(path.dirname(dbDir));
        config = writeAgentConfig({ dir, deviceId: 'restic-cli-dev', port: 1, dataDir: path.dirname(dbDir) });
      }
    });

    it('repo init NAME creates the restic repository of the row; again is a one-line conflict', async () => {
      const url = path.join(dir, 'repo');
      const add = await run(['repo', 'add', 'nas', '--url', url, '--password-stdin'], `${PASSWORD}\n`);
      expect(add.code, add.stderr).toBe(0);
      const init = await run(['repo', 'init', 'nas']);
      expect(init.code, init.stderr).toBe(0);
      expect(init.stdout).toMatch(new RegExp(`created restic repository [0-9a-f]+ at ${url}`));
      expect(init.stdout + init.stderr).not.toContain(PASSWORD);
      expect(fs.existsSync(path.join(url, 'config'))).toBe(true);
      // restic opens it with the stored password.
      const cat = execFileSync('/usr/bin/restic', ['cat', 'config'], {
        env: {
          PATH: '/usr/bin:/bin',
          RESTIC_REPOSITORY: url,
          RESTIC_PASSWORD: PASSWORD,
          RESTIC_CACHE_DIR: path.join(dir, 'c'),
        },
        encoding: 'utf8',
      });
      expect(JSON.parse(cat)).toHaveProperty('chunker_polynomial');
      expectOneLineError(
        await run(['repo', 'init', 'nas']),
        /repository "nas": a restic repository already exists at /,
      );
      expectOneLineError(await run(['repo', 'init', 'no-such-repo']), /repository "no-such-repo" not found/);
    }, 240_000);

    it("snapshots JOB lists the job's snapshots of every host, newest first; --json has exactly the six keys", async () => {
      const url = path.join(dir, 'repo');
      const cache = path.join(dir, 'test-cache');
      const src = path.join(dir, 'src');
      fs.mkdirSync(src, { recursive: true });
      fs.writeFileSync(path.join(src, 'a.txt'), 'hello\n');
      const add = await run(['job', 'add', 'Dokumenty', '--path', src, '--repo', 'nas']);
      expect(add.code, add.stderr).toBe(0);
      const id = /added: ([0-9a-f-]{36})/.exec(add.stdout)?.[1] as string;
      expect(id).toBeTruthy();
      const empty = await run(['snapshots', 'Dokumenty', '--json']);
      expect(empty.code, empty.stderr).toBe(0);
      expect(JSON.parse(empty.stdout)).toEqual({ snapshots: [] });

      backupDirect(url, cache, src, 'relica-era-pc', [`backup:${id}`, 'backup_name=Dokumenty']);
      await new Promise((r) => setTimeout(r, 1100)); // distinct snapshot times (whole seconds apart)
      backupDirect(url, cache, src, 'restic-cli-dev', [`backup:${id}`, 'backup_name=Dokumenty']);
      backupDirect(url, cache, src, 'restic-cli-dev', ['backup:00000000-0000-4000-8000-000000000000']);

      const json = await run(['snapshots', 'Dokumenty', '--json']);
      expect(json.code, json.stderr).toBe(0);
      const body = JSON.parse(json.stdout) as { snapshots: Record<string, unknown>[] };
      expect(Object.keys(body)).toEqual(['snapshots']);
      expect(body.snapshots.map((s) => s.hostname)).toEqual(['restic-cli-dev', 'relica-era-pc']);
      for (const s of body.snapshots) {
        expect(Object.keys(s).sort()).toEqual(['hostname', 'id', 'paths', 'short_id', 'tags', 'time']);
        expect(s.id).toMatch(/^[0-9a-f]{64}$/);
        expect(s.short_id).toBe((s.id as string).slice(0, 8));
        expect(s.paths).toEqual([src]);
        expect(s.tags).toContain(`backup:${id}`);
      }
      expect(Date.parse(body.snapshots[0]?.time as string)).toBeGreaterThan(
        Date.parse(body.snapshots[1]?.time as string),
      );

      // By uuid, the human table: a header and one row per snapshot, newest first.
      const table = await run(['snapshots', id]);
      expect(table.code, table.stderr).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ID\s+TIME\s+HOST\s+PATHS\s+TAGS/);
      expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(body.snapshots.map((s) => s.short_id));
      expect(lines[1]).toContain('restic-cli-dev');
      expect(lines[2]).toContain('relica-era-pc');

      expectOneLineError(await run(['snapshots', 'no-such-job']), /job "no-such-job" not found/);
    }, 240_000);
  });
}

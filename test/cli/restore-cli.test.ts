/**
 * `rbackup2 restore`, `snapshots --device` and `recovery-kit` (issue 17) spawned as the real binary
 * with real restic 0.14, on PostgreSQL and on the embedded database: a restore to the default
 * target byte-identical and recorded as a restore run, refusals as one line naming the file or
 * target; from an admin's config (no device.id) another device's job is listed and restored (a
 * laptop that died, restored elsewhere); the recovery kit alone, with the database dropped and no
 * rbackup2, is enough for plain restic to restore a file.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup, writeAgentConfig } from '../helpers/agent-process.js';
import { createTempPgDatabase, freshPgliteDir } from '../helpers/databases.js';

const procs = new ProcessGroup();
const temps: string[] = [];
const drops: (() => Promise<void>)[] = [];
const PASSWORD = `restore cli pw 'quoted' $HOME`;

afterAll(async () => {
  await procs.killAll();
  for (const d of drops) await d();
  for (const t of temps) fs.rmSync(t, { recursive: true, force: true, maxRetries: 5 });
});

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`restore / recovery-kit CLI [${kind}]`, () => {
    let dir = '';
    let config = '';
    let dbUrl = '';
    let dropDb: (() => Promise<void>) | null = null;
    let dataDir = '';
    let jobId = '';
    let src = '';
    let file = '';
    const run = (cfg: string, args: string[], input?: string) =>
      procs.runCli(['--config', cfg, ...args], { timeoutMs: 120_000, ...(input ? { input } : {}) });

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-restore-cli-'));
      temps.push(dir);
      if (kind === 'postgres') {
        const db = await createTempPgDatabase();
        dbUrl = db.url;
        dropDb = () => db.drop();
        drops.push(async () => dropDb?.());
        config = writeAgentConfig({
          dir,
          deviceId: 'laptop',
          port: 1,
          databaseUrl: db.url,
          dataDir: (dataDir = path.join(dir, 'data')),
        });
      } else {
        const dbDir = await freshPgliteDir();
        temps.push(path.dirname(dbDir));
        dataDir = path.dirname(dbDir);
        config = writeAgentConfig({ dir, deviceId: 'laptop', port: 1, dataDir });
      }
      const url = path.join(dir, 'repo');
      expect((await run(config, ['repo', 'add', 'nas', '--url', url, '--password-stdin'], `${PASSWORD}\n`)).code).toBe(
        0,
      );
      expect((await run(config, ['repo', 'init', 'nas'])).code).toBe(0);
      src = path.join(dir, 'Dokumenty');
      fs.mkdirSync(path.join(src, 'Účty'), { recursive: true });
      file = path.join(src, 'Účty', 'faktura 1.pdf');
      fs.writeFileSync(file, Buffer.from([...Array(5000).keys()].map((i) => (i * 7) % 256)));
      const add = await run(config, ['job', 'add', 'Dokumenty', '--path', src, '--repo', 'nas']);
      jobId = /added: ([0-9a-f-]{36})/.exec(add.stdout)?.[1] as string;
      expect(jobId).toBeTruthy();
      // the laptop's snapshot, made before it died (plain restic, its own host name)
      execFileSync('/usr/bin/restic', ['backup', '--quiet', '--host', 'laptop', '--tag', `backup:${jobId}`, src], {
        env: {
          PATH: '/usr/bin:/bin',
          RESTIC_REPOSITORY: url,
          RESTIC_PASSWORD: PASSWORD,
          RESTIC_CACHE_DIR: path.join(dir, 'c'),
        },
        stdio: 'ignore',
      });
    }, 240_000);

    it('restores a file to the default target, byte-identical, recorded as a restore run; refusals are one line naming them', async () => {
      const r = await run(config, ['restore', 'Dokumenty', 'latest', '--path', file, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { status: string; target: string; run_id: number; files: number };
      expect(out).toMatchObject({ status: 'success', files: 1 });
      expect(out.target.startsWith(path.join(dataDir, 'restores', 'Dokumenty-')), out.target).toBe(true);
      expect(out.run_id).toBeGreaterThan(0);
      expect(fs.readFileSync(path.join(out.target, file))).toEqual(fs.readFileSync(file));
      const again = await run(config, ['restore', 'Dokumenty', 'latest', '--path', file]);
      expect(again.code).toBe(1);
      expect(again.stderr.trim().split('\n')).toHaveLength(1);
      expect(again.stderr).toContain(path.join(out.target, file));
      const bad = await run(config, [
        'restore',
        'Dokumenty',
        'latest',
        '--path',
        file,
        '--target',
        path.join(dir, 'elsewhere'),
      ]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(`target "${path.join(dir, 'elsewhere')}" is not allowed`);
      expect(fs.existsSync(path.join(dir, 'elsewhere'))).toBe(false);
      const unknown = await run(config, ['restore', 'Dokumenty', 'deadbeef', '--path', file]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/snapshot deadbeef is not a snapshot of job "Dokumenty"/);
    }, 240_000);

    if (kind === 'postgres') {
      it("an admin's config (no device.id) lists and restores the dead laptop's job on another computer", async () => {
        const adminDir = path.join(dir, 'admin-pc');
        fs.mkdirSync(adminDir);
        const adminConfig = path.join(adminDir, 'config.yaml');
        fs.writeFileSync(
          adminConfig,
          `database:\n  url: ${JSON.stringify(dbUrl)}\nclient:\n  data_dir: ${JSON.stringify(path.join(adminDir, 'data'))}\n  restic_binary: /usr/bin/restic\n`,
        );
        const list = await run(adminConfig, ['snapshots', '--device', 'laptop', 'Dokumenty', '--json']);
        expect(list.code, list.stderr).toBe(0);
        const snaps = (JSON.parse(list.stdout) as { snapshots: { short_id: string; hostname: string }[] }).snapshots;
        expect(snaps.map((s) => s.hostname)).toEqual(['laptop']);
        const r = await run(adminConfig, [
          'restore',
          '--device',
          'laptop',
          'Dokumenty',
          snaps[0]!.short_id,
          '--path',
          src,
        ]);
        expect(r.code, r.stderr).toBe(0);
        const target = /into (\/\S+.*) \(run/.exec(r.stdout)?.[1] as string;
        expect(target.startsWith(path.join(adminDir, 'data', 'restores'))).toBe(true);
        expect(fs.readFileSync(path.join(target, file))).toEqual(fs.readFileSync(file));
        const c = new pg.Client({ connectionString: dbUrl });
        await c.connect();
        const rows = (
          await c.query("SELECT device_id, status, metadata FROM runs WHERE operation = 'restore' ORDER BY id")
        ).rows;
        await c.end();
        expect(rows.at(-1)).toMatchObject({ device_id: 'laptop', status: 'success' });
      }, 240_000);

      it('the recovery kit alone (database dropped, no rbackup2) lets plain restic restore a file', async () => {
        const kitFile = path.join(dir, 'kit.md');
        const r = await run(config, ['recovery-kit', '--output', kitFile]);
        expect(r.code, r.stderr).toBe(0);
        expect(fs.statSync(kitFile).mode & 0o777).toBe(0o600);
        const kit = fs.readFileSync(kitFile, 'utf8');
        expect(kit).toContain(`backup:${jobId}`);
        expect(kit).toContain(path.join(dir, 'repo'));
        await dropDb?.();
        dropDb = null;
        const exports = kit.split('\n').filter((l) => l.startsWith('export RESTIC_'));
        expect(exports.length).toBeGreaterThanOrEqual(2);
        const target = path.join(dir, 'kit-restore');
        const script = [
          ...exports,
          `export RESTIC_CACHE_DIR=${JSON.stringify(path.join(dir, 'kit-cache'))}`,
          `restic restore latest --tag 'backup:${jobId}' --target '${target}' --include '${file}'`,
        ].join('\n');
        execFileSync('/bin/bash', ['-c', script], { env: { PATH: '/usr/bin:/bin' }, stdio: 'pipe' });
        expect(fs.readFileSync(path.join(target, file))).toEqual(fs.readFileSync(file));
      }, 240_000);
    }
  });
}

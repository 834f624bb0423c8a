/**
 * The package as users install it: `npm pack` gives a tarball that `npm install -g` installs
 * (into a temp prefix), whose `rbackup2` binary answers --help and migrates a database when run
 * from another folder, and which carries the UI, migrations, docs and service files.
 * Dependencies come from npm's cache when it has them (--prefer-offline), else the registry.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempPgDatabase } from '../helpers/databases.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

describe('npm pack + npm install -g', () => {
  let tmp = '';
  let prefix = '';
  let tarball = '';
  let pgdb: Awaited<ReturnType<typeof createTempPgDatabase>> | undefined;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-pack-'));
    prefix = path.join(tmp, 'prefix');
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      }).toString(),
    ) as { filename: string }[];
    tarball = path.join(tmp, packed[0]?.filename ?? '');
    execFileSync(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball],
      { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'], timeout: 540_000 },
    );
  }, 600_000);

  afterAll(async () => {
    await pgdb?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the tarball carries dist, migrations, the UI, config example, docs and service files, and no tests or sources', () => {
    const list = execFileSync('tar', ['-tzf', tarball]).toString().split('\n').filter(Boolean);
    for (const f of [
      'package/dist/main.js',
      'package/migrations/001_initial_schema.sql',
      'package/src/ui/static/index.html',
      'package/config.example.yaml',
      'package/doc/deployment.md',
      'package/doc/grants.sql',
      'package/deploy/rbackup2.service',
      'package/README.md',
    ]) {
      expect(list, f).toContain(f);
    }
    expect(
      list.filter((f) => f.startsWith('package/test/') || /^package\/src\/(?!ui\/static\/).*\.ts$/.test(f)),
    ).toEqual([]);
  });

  it('rbackup2 --help and `rbackup2 --config FILE migrate` run from another folder, exit 0', async () => {
    const bin = path.join(prefix, 'bin', 'rbackup2');
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-elsewhere-'));
    try {
      const help = spawnSync(bin, ['--help'], { cwd: elsewhere, encoding: 'utf8' });
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/migrate/);
      pgdb = await createTempPgDatabase();
      const cfg = path.join(tmp, 'config.yaml');
      fs.writeFileSync(
        cfg,
        `device:\n  id: pack-test\ndatabase:\n  url: "${pgdb.url}"\nclient:\n  data_dir: "${path.join(tmp, 'data')}"\n  log_file: "${path.join(tmp, 'data', 'a.log')}"\n`,
      );
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RBACKUP2_')) env[k] = v;
      const mig = spawnSync(bin, ['--config', cfg, 'migrate'], {
        cwd: elsewhere,
        encoding: 'utf8',
        env,
        timeout: 60_000,
      });
      expect(mig.status, `${mig.stdout}${mig.stderr}`).toBe(0);
      const c = new pg.Client({ connectionString: pgdb.url });
      await c.connect();
      try {
        const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
        const files = fs.readdirSync(path.join(repoRoot, 'migrations')).filter((f) => /^\d+_.*\.sql$/.test(f));
        expect(rows[0]?.n).toBe(files.length);
      } finally {
        await c.end();
      }
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 120_000);
});

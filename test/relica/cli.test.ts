/**
 * `rbackup2 import-relica` as a user runs it: the built CLI (node dist/main.js) against a fresh
 * PostgreSQL database and against the embedded PGlite (no database section), with the real
 * sample state file (CONTRACTS §1, §6).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open.js';
import { createTempPgDatabase, freshPgliteDir } from '../helpers/databases.js';
import { runCli, writeConfig } from './cli-harness.js';
import { SAMPLE_PATH, sampleJson } from './fixture.js';

const DEVICE1 = 'f213f03b-c8e1-47a5-8bf5-f7c8dd76217d';
const CLOUD = '214d5118-bc3a-4927-989a-a90ae144f47a';
const DEST = 'cb871492-76dc-4683-8ecd-d9a6c84ae798';
const DEVICE1_JOBS = [
  ['5dd8bfb2-57bf-49a0-a4c3-a31b97d956c5', 'device1/Zpěvníky'],
  ['8abc492b-cfff-4c78-9202-f85bdcf4714a', 'device1/home'],
  ['cb3104d6-5d04-4cd6-9a8e-73c6c4b61fe9', 'device1/Dokumenty'],
  ['e34580bc-3f4b-4bca-b713-04a25f352317', 'device1/test'],
];
const TABLES = ['devices', 'repositories', 'backup_jobs', 'schedules', 'backup_hooks'] as const;

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`import-relica CLI [${kind}]`, () => {
    let dir = '';
    let config = '';
    let pgUrl: string | undefined;
    let drop: (() => Promise<void>) | undefined;
    const repoUrl = () => path.join(dir, 'restic-repo');
    const pwFile = () => path.join(dir, 'repo.password');

    /** Query the database the CLI uses (opened after the CLI exited, closed again). */
    async function rows<T extends Record<string, unknown>>(sql: string): Promise<T[]> {
      const db = await openDatabase({ database: pgUrl ? { url: pgUrl } : undefined, dataDir: dir });
      try {
        return (await db.query<T>(sql)).rows;
      } finally {
        await db.close();
      }
    }
    async function counts(): Promise<Record<string, number>> {
      const [r] = await rows<Record<string, string>>(
        `SELECT ${TABLES.map((t) => `(SELECT count(*) FROM ${t}) AS ${t}`).join(', ')}`,
      );
      return Object.fromEntries(TABLES.map((t) => [t, Number(r?.[t])]));
    }
    const zero = Object.fromEntries(TABLES.map((t) => [t, 0]));
    const importArgs = (...more: string[]) => ['--config', config, 'import-relica', SAMPLE_PATH, ...more];

    beforeAll(async () => {
      if (kind === 'postgres') {
        const tmp = await createTempPgDatabase();
        pgUrl = tmp.url;
        drop = tmp.drop;
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-relica-cli-'));
      } else {
        dir = path.dirname(await freshPgliteDir()); // PGlite lives in <data_dir>/db
      }
      config = writeConfig(dir, DEVICE1, pgUrl);
      fs.writeFileSync(pwFile(), 'not-a-real-password\n', { mode: 0o600 });
      const migrated = await runCli(['--config', config, 'migrate']);
      expect(migrated.stderr).toBe('');
      expect(migrated.code).toBe(0);
    });
    afterAll(async () => {
      await drop?.();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('--dry-run prints the plan and writes nothing', async () => {
      const r = await runCli(importArgs('--device', 'device1', '--dry-run', '--repository-url', repoUrl()));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      for (const [id, name] of DEVICE1_JOBS) expect(r.stdout).toMatch(new RegExp(`${name}\\s+${id}`));
      expect(r.stdout).toContain(
        `repository "relica/Cloud" (id ${DEST}): ${repoUrl()}, password entered at the prompt`,
      );
      expect(r.stdout).toContain('8 backup(s) of other Relica origins left out');
      expect(r.stdout).toContain('Dry run: nothing was written');
      expect(await counts()).toEqual(zero);
    });

    it('an unknown origin exits 1 with one line naming the available origins, writing nothing', async () => {
      const r = await runCli(importArgs('--device', 'no-such-pc'));
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('no Relica origin named or with id "no-such-pc"');
      for (const name of ['device1', 'device2', 'device4', 'cloud']) expect(lines[0]).toContain(`"${name}"`);
      expect(lines[0]).toContain(DEVICE1);
      expect(await counts()).toEqual(zero);
    });

    it('a malformed file exits 1 naming the file and the JSON path (schema and syntax errors)', async () => {
      const bad = sampleJson();
      bad.read_only.backups[3].schedule.times_of_day[0] = '25:99';
      const badFile = path.join(dir, 'bad-state.json');
      fs.writeFileSync(badFile, JSON.stringify(bad, null, 1));
      const r = await runCli(['--config', config, 'import-relica', badFile, '--device', 'device1']);
      expect(r.code).toBe(1);
      expect(r.stderr.trimEnd().split('\n')).toEqual([
        expect.stringContaining(`${badFile}: read_only.backups[3].schedule.times_of_day[0]: `),
      ]);
      expect(r.stderr).not.toContain('25:99'); // the file's text is never quoted (it holds credentials)

      const cut = path.join(dir, 'cut-state.json');
      const text = fs.readFileSync(SAMPLE_PATH, 'utf8');
      fs.writeFileSync(cut, text.slice(0, text.indexOf('"/home/user/Dokumenty"') + 10));
      const s = await runCli(['--config', config, 'import-relica', cut, '--device', 'device1', '--dry-run']);
      expect(s.code).toBe(1);
      expect(s.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(
          /cut-state\.json: read_only\.backups\[0\]\.include\[0\]: not valid JSON: .*\(line \d+, column \d+\)$/,
        ),
      ]);
      expect(await counts()).toEqual(zero);
    });

    it('--repository-url without a password source and without a terminal exits 1 and writes nothing', async () => {
      const r = await runCli(importArgs('--device', 'device1', '--repository-url', repoUrl()));
      expect(r.code).toBe(1);
      expect(r.stderr.trimEnd().split('\n')).toEqual([
        expect.stringContaining('--password-file or --password-command'),
      ]);
      expect(await counts()).toEqual(zero);
    });

    it('imports the origin: device, repository, jobs with Relica ids, schedules and hooks', async () => {
      const r = await runCli(
        importArgs('--device', 'device1', '--repository-url', repoUrl(), '--password-file', pwFile()),
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/jobs\s+4 created, 0 updated, 0 deleted, 0 unchanged/);
      expect(r.stdout).toMatch(/schedules\s+4 created/);
      expect(r.stdout).toContain('Not carried over');
      expect(r.stdout).not.toContain('not-a-real-password');
      const jobs = await rows<{
        id: string;
        name: string;
        device_id: string;
        repository_id: string;
        origin_name: string;
      }>('SELECT id, name, device_id, repository_id, origin_name FROM backup_jobs ORDER BY id');
      expect(jobs.map((j) => [j.id, j.name])).toEqual(DEVICE1_JOBS);
      expect(
        jobs.every((j) => j.device_id === DEVICE1 && j.repository_id === DEST && j.origin_name === 'device1'),
      ).toBe(true);
      expect(await rows('SELECT id, url, password, password_file FROM repositories')).toEqual([
        { id: DEST, url: repoUrl(), password: null, password_file: pwFile() },
      ]);
      expect(await counts()).toEqual({ devices: 1, repositories: 1, backup_jobs: 4, schedules: 4, backup_hooks: 2 });
    });

    it('running the same import again changes nothing (output says unchanged, updated_at identical)', async () => {
      const stamps = () =>
        rows(
          TABLES.filter((t) => t !== 'backup_hooks') // backup_hooks has no updated_at
            .map((t) => `SELECT '${t}' AS t, id::text AS id, updated_at FROM ${t}`)
            .join(' UNION ALL ') + ' ORDER BY t, id',
        );
      const before = await stamps();
      const r = await runCli(
        importArgs('--device', 'device1', '--repository-url', repoUrl(), '--password-file', pwFile()),
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/jobs\s+0 created, 0 updated, 0 deleted, 4 unchanged/);
      expect(r.stdout).toContain('Nothing changed');
      expect(before).toHaveLength(1 + 1 + 4 + 4);
      expect(await stamps()).toEqual(before);
      expect(await counts()).toEqual({ devices: 1, repositories: 1, backup_jobs: 4, schedules: 4, backup_hooks: 2 });
    });

    it('imports a second origin into the same database (admin side: one run per origin)', async () => {
      const r = await runCli(importArgs('--device', CLOUD));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/jobs\s+2 created/);
      expect(r.stdout).toContain(`needs device.id "${CLOUD}"`);
      const devices = await rows<{ id: string }>('SELECT id FROM devices ORDER BY id');
      expect(devices.map((d) => d.id)).toEqual([CLOUD, DEVICE1]);
      expect(await counts()).toMatchObject({ backup_jobs: 6, repositories: 1 });
      const cloudJobs = await rows<{ repository_id: string }>(
        `SELECT repository_id FROM backup_jobs WHERE device_id = '${CLOUD}'`,
      );
      expect(cloudJobs.map((j) => j.repository_id)).toEqual([DEST, DEST]); // the repository of the first import
    });
  });
}

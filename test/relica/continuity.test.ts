/**
 * Relica -> rbackup2 snapshot continuity with real restic 0.14: snapshots made "the Relica way"
 * (`restic backup --tag backup:<uuid> --host <host> <paths>`, that tag only), then the state file
 * imported with the CLI, then `rbackup2 backup <uuid>`. The new snapshot must continue the old
 * history: same tag, the Relica snapshot as restic's parent (unchanged files not read again),
 * and the full tag set of CONTRACTS §4. Also the documented fix (doc/relica-migration.md step 7)
 * when Relica's host name differs from this computer's.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempPgDatabase } from '../helpers/databases.js';
import { runCli, writeConfig } from './cli-harness.js';
import { sampleJson } from './fixture.js';

const DEVICE1 = 'f213f03b-c8e1-47a5-8bf5-f7c8dd76217d';
const ACCOUNT = '003dbcee-4f0a-4a55-a7bb-a6511b263558';
const DOKUMENTY = 'cb3104d6-5d04-4cd6-9a8e-73c6c4b61fe9'; // device1/Dokumenty: scheduled, one end hook
const TEST_JOB = 'e34580bc-3f4b-4bca-b713-04a25f352317'; // device1/test: manual, path "Obrázky"
const FILES = 40;

interface Snapshot {
  id: string;
  parent?: string;
  hostname: string;
  paths: string[];
  tags?: string[];
}
interface BackupJson {
  status: string;
  snapshotId: string | null;
  filesNew: number | null;
  filesUnmodified: number | null;
}

describe('Relica snapshot history continues with rbackup2 (real restic)', () => {
  let dir = '';
  let config = '';
  let pgUrl = '';
  let drop: (() => Promise<void>) | undefined;
  const relicaIds: Record<string, string> = {};
  const repo = () => path.join(dir, 'repo');
  const resticEnv = () => ({
    ...process.env,
    RESTIC_REPOSITORY: repo(),
    RESTIC_PASSWORD_FILE: path.join(dir, 'repo.password'),
    RESTIC_CACHE_DIR: path.join(dir, 'cache'),
  });
  const restic = (args: string[]) =>
    execFileSync('restic', args, { env: resticEnv(), encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const snapshots = (uuid: string): Snapshot[] =>
    JSON.parse(restic(['snapshots', '--json', '--tag', `backup:${uuid}`])) as Snapshot[];

  /** A source folder with FILES small files in two subfolders. */
  function makeSource(name: string): string {
    const src = path.join(dir, 'home', name);
    for (let i = 0; i < FILES; i++) {
      const sub = path.join(src, i % 2 ? 'a' : 'b');
      fs.mkdirSync(sub, { recursive: true });
      fs.writeFileSync(path.join(sub, `file-${i}.txt`), `content ${i} `.repeat(200));
    }
    return src;
  }
  /** One Relica-style snapshot: only the `backup:<uuid>` tag, the given host and paths. */
  function relicaBackup(uuid: string, host: string, src: string): string {
    restic(['backup', '--quiet', '--tag', `backup:${uuid}`, '--host', host, src]);
    const [snap] = snapshots(uuid);
    if (!snap) throw new Error('the Relica-style snapshot was not saved');
    return snap.id;
  }
  async function backupNow(uuid: string): Promise<BackupJson> {
    const r = await runCli(['--config', config, 'backup', uuid, '--json'], {}, 120_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as BackupJson;
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-relica-cont-'));
    fs.writeFileSync(path.join(dir, 'repo.password'), 'relica-repo-password\n', { mode: 0o600 });
    restic(['init']);
    const dokumenty = makeSource('Dokumenty');
    const obrazky = makeSource('Obrázky');
    relicaIds[DOKUMENTY] = relicaBackup(DOKUMENTY, os.hostname(), dokumenty);
    relicaIds[TEST_JOB] = relicaBackup(TEST_JOB, 'relica-old-pc', obrazky);

    // The sample state file with two of device1's backups pointed at the folders above.
    const state = sampleJson();
    for (const b of state.read_only.backups) {
      if (b.id === DOKUMENTY) {
        b.include = [dokumenty];
        b.hooks[0].command = `touch ${path.join(dir, 'hook-ran')}`;
      }
      if (b.id === TEST_JOB) b.include = [obrazky];
    }
    const stateFile = path.join(dir, 'relica-state.json');
    fs.writeFileSync(stateFile, JSON.stringify(state, null, 1));

    const tmp = await createTempPgDatabase();
    pgUrl = tmp.url;
    drop = tmp.drop;
    config = writeConfig(path.join(dir, 'data'), DEVICE1, pgUrl);
    const imported = await runCli([
      '--config',
      config,
      'import-relica',
      stateFile,
      '--device',
      'device1',
      '--repository-url',
      repo(),
      '--password-file',
      path.join(dir, 'repo.password'),
    ]);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
  });
  afterAll(async () => {
    await drop?.();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the first rbackup2 backup has the Relica snapshot as parent, reads nothing again and carries the full tag set', async () => {
    const relica = relicaIds[DOKUMENTY];
    const run = await backupNow(DOKUMENTY);
    expect(run.status).toBe('success');
    expect(run.filesUnmodified).toBe(FILES);
    expect(run.filesNew).toBe(0);
    const snaps = snapshots(DOKUMENTY);
    expect(snaps).toHaveLength(2);
    const [old, fresh] = snaps;
    expect(old?.id).toBe(relica);
    expect(old?.tags).toEqual([`backup:${DOKUMENTY}`]);
    // restic 0.14 reports the short id in its summary (later versions the full one).
    expect(run.snapshotId).toBeTruthy();
    expect(fresh?.id.startsWith(run.snapshotId ?? '-')).toBe(true);
    expect(fresh?.parent).toBe(relica);
    expect(fresh?.hostname).toBe(old?.hostname);
    expect(fresh?.paths).toEqual(old?.paths);
    expect(fresh?.tags).toEqual([
      `backup:${DOKUMENTY}`,
      'backup_name=device1/Dokumenty',
      'origin=device1',
      `account_id=${ACCOUNT}`,
    ]);
    expect(fs.existsSync(path.join(dir, 'hook-ran'))).toBe(true); // Relica's end hook, imported, ran
  });

  it('when Relica used another host name, restic_args ["--host", <Relica host>] (documented fix) restores the parent', async () => {
    const relica = relicaIds[TEST_JOB];
    const without = await backupNow(TEST_JOB);
    expect(without.filesNew).toBe(FILES); // no parent: restic read every file again
    const plain = snapshots(TEST_JOB).find((s) => s.id.startsWith(without.snapshotId ?? '-'));
    expect(plain?.hostname).toBe(os.hostname());
    expect(plain?.parent).toBeUndefined();

    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    try {
      await c.query(`UPDATE backup_jobs SET restic_args = '["--host", "relica-old-pc"]' WHERE id = $1`, [TEST_JOB]);
    } finally {
      await c.end();
    }
    const fixed = await backupNow(TEST_JOB);
    expect(fixed.filesUnmodified).toBe(FILES);
    const snap = snapshots(TEST_JOB).find((s) => s.id.startsWith(fixed.snapshotId ?? '-'));
    expect(snap?.parent).toBe(relica);
    expect(snap?.hostname).toBe('relica-old-pc');
    expect(snap?.tags?.slice(0, 3)).toEqual([`backup:${TEST_JOB}`, 'backup_name=device1/test', 'origin=device1']);
  });
});

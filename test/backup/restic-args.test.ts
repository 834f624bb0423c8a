// C30 / C26: restic_args read with restic's flag grammar against an allow-list; relative values
// refused when saved (API POST /config, CLI job add, repo add, Relica import); dropped with a
// warning at run time (a row edited with SQL), the snapshot still in the job's repository with
// its backup:<uuid> tag (real restic 0.14).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyConfigChange } from '../../src/agent/config-apply.js';
import type { ConfigChange } from '../../src/api/config-schema.js';
import { buildBackupArgs } from '../../src/backup/command.js';
import { checkResticArgs } from '../../src/restic/backup-options.js';
import { discoverRestic, type ResticVersion } from '../../src/restic/version.js';
import { runBackup } from '../../src/backup/run-backup.js';
import { jobValueProblems, repositoryValueProblems } from '../../src/config/input-check.js';
import { migrate } from '../../src/db/migrate.js';
import { upsertDevice } from '../../src/db/queries/devices.js';
import { setSetting } from '../../src/db/queries/settings.js';
import { applyImportPlan } from '../../src/relica/apply.js';
import { planImport } from '../../src/relica/plan.js';
import { forEachDatabase } from '../helpers/databases.js';
import { loadSample } from '../relica/fixture.js';
import { makeJob, makeRepo, restic, tempDir } from './helpers.js';

const problemsOf = (args: string[]) => checkResticArgs(args).problems;

describe("C30 restic_args allow-list with restic's flag grammar", () => {
  it('C30 refuses every form that would change the repository, password, tags, paths, parent, cache, JSON mode or dry-run, naming the argument', () => {
    const cases: [string[], RegExp][] = [
      [['-r/other/repo'], /"-r\/other\/repo" \(-r\).*repository/],
      [['-r', '/other/repo'], /"-r \/other\/repo"/],
      [['--repo=/x'], /"--repo=\/x".*repository/],
      [['--repo', '/x'], /"--repo \/x"/],
      [['-pFILE'], /"-pFILE" \(-p\).*password/],
      [['-xpFILE'], /"-xpFILE" \(-p\)/],
      [['-vr/x'], /"-vr\/x" \(-r\)/],
      [['--password-file', '/etc/pw'], /"--password-file \/etc\/pw".*password/],
      [['--password-command=cat x'], /password/],
      [['--tag', 'x'], /tags/],
      [['--files-from', '/l'], /paths/],
      [['--stdin'], /paths/],
      [['--parent', 'abc'], /parent/],
      [['--cache-dir=/c'], /cache/],
      [['--no-cache'], /cache/],
      [['-n'], /"-n".*snapshot/],
      [['--dry-run'], /snapshot/],
      [['--json'], /JSON/],
      [['-o', 'sftp.command=ssh evil'], /sftp\.command/],
      [['--option=sftp.command=x'], /sftp\.command/],
      [['--', '/etc'], /"--".*\("\/etc"\)/],
      [['/etc/shadow'], /"\/etc\/shadow".*bare argument/],
      [['--frobnicate'], /"--frobnicate" is not an allowed/],
    ];
    for (const [args, re] of cases) {
      const p = problemsOf(args);
      expect(p.length, args.join(' ')).toBeGreaterThan(0);
      expect(p.join('\n'), args.join(' ')).toMatch(re);
      expect(checkResticArgs(args).options).toEqual([]);
    }
  });

  it('C30 allows the safe options in long, short, combined, = and separate-value forms', () => {
    const ok = [
      '--one-file-system',
      '-x',
      '--exclude-caches',
      '--exclude-if-present',
      '.nobackup',
      '--exclude-larger-than=1G',
      '--limit-upload',
      '500',
      '--compression=max',
      '--pack-size',
      '64',
      '--ignore-ctime',
      '--ignore-inode',
      '--with-atime',
      '--use-fs-snapshot',
      '-e',
      '*.tmp',
      '-xv',
      '-Hlaptop',
      '--host=laptop',
      '-o',
      's3.storage-class=STANDARD_IA',
      '--exclude-file=/etc/excl.txt',
      '--read-concurrency',
      '4',
    ];
    const r = checkResticArgs(ok);
    expect(r.problems).toEqual([]);
    expect(r.options.flatMap((o) => o.tokens)).toEqual(ok);
  });

  it('C26 C30 a relative --exclude-file or --cacert is refused, naming the value', () => {
    expect(problemsOf(['--exclude-file=excl.txt'])).toEqual([
      expect.stringContaining('--exclude-file "excl.txt" is a relative path'),
    ]);
    expect(problemsOf(['--cacert', 'ca.pem'])[0]).toContain('"ca.pem"');
  });

  it('C30 at run time the refused arguments are dropped with a note; the allowed ones stay in argv order', () => {
    const v: ResticVersion = { major: 0, minor: 14, patch: 0, raw: '0.14.0' };
    const built = buildBackupArgs(makeJob({ resticArgs: ['-x', '-r/other', '--', '/etc'] }), v, {
      sourcePaths: ['/srv/data'],
    });
    expect(built.args).toEqual([
      'backup',
      '--json',
      '-x',
      '--tag',
      'backup:6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f',
      '--tag',
      'backup_name=device1/Dokumenty',
      '--',
      '/srv/data',
    ]);
    expect(built.removed).toHaveLength(2);
  });
});

describe('C26 relative values refused when saved', () => {
  it('C26 job and repository values: relative source, ./exclude, ./repo URL, local:repo, password file and cache folder', () => {
    expect(jobValueProblems({ sourcePaths: ['Pictures', '/ok', 'C:\\Users\\x', '\\\\nas\\share\\x'] })).toEqual([
      expect.stringContaining('source path "Pictures" is relative'),
    ]);
    expect(jobValueProblems({ excludePatterns: ['./cache', '*.tmp', 'node_modules'] })).toEqual([
      expect.stringContaining('"./cache"'),
    ]);
    expect(repositoryValueProblems({ url: './repo' })[0]).toContain('"./repo"');
    expect(repositoryValueProblems({ url: 'local:repo' })[0]).toContain('"local:repo"');
    expect(repositoryValueProblems({ url: 'sftp:u@h:repo' })).toEqual([]);
    expect(repositoryValueProblems({ url: 'rest:http://h/' })).toEqual([]);
    expect(repositoryValueProblems({ url: 'D:\\restic' })).toEqual([]);
    expect(repositoryValueProblems({ passwordFile: 'pw.txt' })[0]).toContain('"pw.txt"');
  });
});

forEachDatabase('C26 C30 save paths', (getDb) => {
  beforeAll(async () => {
    await migrate(getDb());
    await upsertDevice(getDb(), { id: 'dev-s', name: 'S' });
  });

  it('C30 C26 POST /config (applyConfigChange) refuses restic_args and relative paths with field errors and writes nothing', async () => {
    const db = getDb();
    // restic_args and repository_* are admin-only through the local API (C36); with the admin's
    // allow switch on, their values are still checked: that is what this test is about.
    await setSetting(db, { deviceId: null, key: 'allow_local_command_changes', value: 'true' });
    const r = await applyConfigChange(db, 'dev-s', {
      jobs: [{ name: 'J', source_paths: ['Pictures'], restic_args: ['-r/other/repo', '--exclude-file=excl.txt'] }],
    } as unknown as ConfigChange);
    expect(r.ok).toBe(false);
    const messages = r.ok ? '' : r.errors.map((e) => `${e.field}: ${e.message}`).join('\n');
    expect(messages).toContain('jobs[0]: source path "Pictures" is relative');
    expect(messages).toContain('"-r/other/repo"');
    expect(messages).toContain('"excl.txt"');
    const bad = await applyConfigChange(db, 'dev-s', {
      settings: { repository_url: './repo', stall_timeout_seconds: '5' },
    } as unknown as ConfigChange);
    expect(bad.ok ? [] : bad.errors.map((e) => e.message)).toEqual([
      expect.stringContaining('"./repo"'),
      expect.stringContaining('stall_timeout_seconds must be a whole number from 10'),
    ]);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM backup_jobs');
    expect(rows[0]).toEqual({ n: 0 });
  });

  it('C26 a Relica import with a relative repository URL or password file is refused before anything is written', async () => {
    const db = getDb();
    await expect(
      applyImportPlan(
        db,
        planImport(loadSample(), 'cloud', {
          repositoryUrl: './relica-repo',
          password: { kind: 'file', path: 'pw.txt' },
        }),
      ),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/"\.\/relica-repo".*"pw\.txt"/) });
    const { rows } = await db.query('SELECT count(*)::int AS n FROM repositories');
    expect(rows[0]).toEqual({ n: 0 });
  });
});

describe('C30 a row edited with SQL, run with real restic', () => {
  let tmp: { dir: string; cleanup: () => void };
  let version: ResticVersion;
  beforeAll(async () => {
    tmp = tempDir('rbackup2-args-');
    version = (await discoverRestic('restic')).version;
  });
  afterAll(() => tmp.cleanup());

  it('C30 -r/other/repo, -pFILE, --tag, -- and a bare path are dropped with warnings; the snapshot lands in the job repository with backup:<uuid> and only the job paths; the check after the backup notices a snapshot without the tag', async () => {
    const repoDir = path.join(tmp.dir, 'repo');
    const otherDir = path.join(tmp.dir, 'other');
    const src = path.join(tmp.dir, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.txt'), 'a');
    fs.writeFileSync(path.join(tmp.dir, 'pw'), 'other-pw');
    restic(['init', '--repo', repoDir], { RESTIC_PASSWORD: 'pw' });
    restic(['init', '--repo', otherDir], { RESTIC_PASSWORD: 'other-pw' });
    const job = makeJob({
      sourcePaths: [src],
      repository: makeRepo({ url: repoDir, password: 'pw' }),
      resticArgs: [`-r${otherDir}`, `-p${path.join(tmp.dir, 'pw')}`, '--tag', 'evil', '--', '/etc/hostname', tmp.dir],
    });
    const r = await runBackup({
      job,
      restic: { path: 'restic', version },
      dataDir: path.join(tmp.dir, 'data'),
      verifySnapshotTag: true,
    });
    expect(r.status).toBe('success');
    expect(r.warnings.join('\n')).not.toContain('does not carry the tag');
    expect(r.warnings.filter((w) => w.startsWith('Ignored restic argument'))).toHaveLength(4);
    expect(r.warnings.join('\n')).toContain(`"-r${otherDir}"`);
    const snaps = JSON.parse(restic(['snapshots', '--json', '--repo', repoDir], { RESTIC_PASSWORD: 'pw' })) as {
      tags: string[];
      paths: string[];
    }[];
    expect(snaps).toHaveLength(1);
    expect(snaps[0]?.tags).toContain(`backup:${job.id}`);
    expect(snaps[0]?.tags).not.toContain('evil');
    expect(snaps[0]?.paths).toEqual([src]);
    expect(JSON.parse(restic(['snapshots', '--json', '--repo', otherDir], { RESTIC_PASSWORD: 'other-pw' }))).toEqual(
      [],
    );

    // A restic that loses the tags (a wrapper dropping every --tag): the check after the backup says so.
    const wrapper = path.join(tmp.dir, 'restic-no-tags.mjs');
    fs.writeFileSync(
      wrapper,
      `#!${process.execPath}\nconst { spawnSync } = require('node:child_process');\nconst a = process.argv.slice(2); const out = [];\nfor (let i = 0; i < a.length; i++) { if (a[i] === '--tag') { i++; continue; } out.push(a[i]); }\nprocess.exit(spawnSync('/usr/bin/restic', out, { stdio: 'inherit' }).status ?? 1);\n`,
      { mode: 0o755 },
    );
    fs.renameSync(wrapper, wrapper.replace(/\.mjs$/, '.cjs'));
    const untagged = await runBackup({
      job: { ...job, resticArgs: [] },
      restic: { path: wrapper.replace(/\.mjs$/, '.cjs'), version },
      dataDir: path.join(tmp.dir, 'data'),
      verifySnapshotTag: true,
    });
    expect(untagged.status).toBe('success');
    expect(untagged.warnings.join('\n')).toContain(`does not carry the tag backup:${job.id}`);
  }, 60_000);
});

import { describe, expect, it } from 'vitest';
import { classifyOutcome } from '../../src/backup/outcome.js';
import { parseLockMessage } from '../../src/restic/lock-message.js';
import { fixture, fixtureNames, parseAll } from './helpers.js';

function classify(name: string, resticArgs: string[] = []) {
  const f = fixture(name);
  const parsed = parseAll(f.stdout, f.stderr);
  // Fixtures 25/28 were recorded through a shell: 130/143 mean SIGINT/SIGTERM exits.
  const signal = f.exitCode === 143 ? 'SIGTERM' : null;
  return { parsed, outcome: classifyOutcome({ exitCode: signal ? null : f.exitCode, signal, parsed, resticArgs }) };
}

describe('classifier on every recorded restic 0.14 output', () => {
  it('replays every fixture without throwing; exit 0 is success, non-zero is never success', () => {
    for (const name of fixtureNames()) {
      const f = fixture(name);
      const { outcome } = classify(name);
      if (f.exitCode === 0) expect(outcome.status, name).toBe('success');
      else expect(outcome.status, name).not.toBe('success');
      if (outcome.status !== 'success') expect(outcome.errorMessage, name).toMatch(/\.$/);
    }
  });

  it('backup fixtures keep their statistics and snapshot id', () => {
    const { parsed, outcome } = classify('12-backup-json-ok');
    expect(outcome.status).toBe('success');
    expect(parsed.summary).toMatchObject({
      filesNew: 2,
      dirsNew: 3,
      dataAdded: 202084,
      totalFilesProcessed: 2,
      totalBytesProcessed: 200006,
      snapshotId: 'c38d3b43',
    });
    expect(classify('15-backup-json-verbose2').parsed.summary?.snapshotId).toBe('929c9b64');
    expect(classify('33-backup-json-dryrun').parsed.summary?.dryRun).toBe(true);
    expect(classify('34-backup-json-quiet').parsed.summary?.snapshotId).toBe('d5226682');
    expect(classify('18-backup-json-vanishing').parsed.summary?.filesNew).toBe(2100);
  });

  it('C04 exit code 3 gives partial, keeps the snapshot id and lists unreadable paths (fixture 16)', () => {
    const { parsed, outcome } = classify('16-backup-json-unreadable-as-nobody');
    expect(outcome.status).toBe('partial');
    expect(outcome.errorKind).toBe('unreadable_files');
    expect(parsed.summary?.snapshotId).toBe('a5d8eb00');
    expect(outcome.unreadablePaths).toEqual(['/srv/rsrc-nb/locked-dir', '/srv/rsrc-nb/unreadable.txt']);
    expect(outcome.errorMessage).toContain('/srv/rsrc-nb/unreadable.txt');
  });

  it('C04 many unreadable files: message names three and counts the rest (fixture 19)', () => {
    const { outcome } = classify('19-backup-json-vanishing-files');
    expect(outcome.status).toBe('partial');
    expect(outcome.unreadablePaths).toHaveLength(32);
    expect(outcome.errorMessage).toMatch(
      /^The snapshot was saved, but 32 items could not be read: \/srv\/rsrc-churn\/tmp_11, \/srv\/rsrc-churn\/tmp_12, \/srv\/rsrc-churn\/tmp_13 and 29 more\.$/,
    );
  });

  it('missing repository (fixtures 08, 39, 40) is repository_missing naming the location', () => {
    for (const name of ['08-snapshots-norepo', '39-cat-config-norepo', '40-backup-json-norepo']) {
      const { outcome } = classify(name);
      expect(outcome.errorKind, name).toBe('repository_missing');
    }
    expect(classify('08-snapshots-norepo').outcome.errorMessage).toBe(
      'There is no restic repository at /srv/does-not-exist; initialise it with "restic init" or fix the repository URL.',
    );
  });

  it('wrong and missing password (fixtures 09, 10)', () => {
    expect(classify('09-snapshots-wrongpw').outcome).toMatchObject({
      errorKind: 'wrong_password',
      errorMessage: 'The repository password is wrong (restic found no key for it).',
    });
    expect(classify('10-snapshots-nopw-stdin-devnull').outcome.errorKind).toBe('password_missing');
  });

  it('locked repository (fixtures 27, 30) names the PID, host and time', () => {
    const { outcome } = classify('27-forget-while-locked');
    expect(outcome.errorKind).toBe('locked');
    expect(outcome.errorMessage).toBe(
      'The repository is locked by restic PID 14211 on host "vm" (user root), since 2026-11-29 14:47:29 (2.5s ago); the backup did not run.',
    );
    expect(classify('30-forget-with-stale-lock').outcome.errorMessage).toContain('PID 14281');
    expect(
      parseLockMessage(
        'repository is already locked exclusively by PID 10370 on vm by root (UID 0, GID 0)\nlock was created at 2026-11-29 15:23:42 (1h2m3.5s ago)\nstorage ID 5b04f111',
      ),
    ).toEqual({
      pid: 10370,
      hostname: 'vm',
      username: 'root',
      exclusive: true,
      createdAt: '2026-11-29 15:23:42',
      age: '1h2m3.5s',
      storageId: '5b04f111',
    });
  });

  it('source missing: all missing fails (14), one missing is a warning on success (13)', () => {
    expect(classify('14-backup-json-all-missing').outcome).toMatchObject({
      status: 'failed',
      errorKind: 'source_missing',
      errorMessage: 'None of the source paths exist (/srv/nope1, /srv/nope2), so nothing was backed up.',
    });
    const { outcome } = classify('13-backup-json-missing-toplevel');
    expect(outcome.status).toBe('success');
    expect(outcome.warnings).toEqual(['Source path /srv/rsrc-missing-path does not exist and was skipped.']);
  });

  it('unknown flags (36, 41) name the flag', () => {
    expect(classify('41-backup-json-skip-if-unchanged-unsupported').outcome.errorMessage).toBe(
      "restic does not know the option --skip-if-unchanged; remove it from the job's restic_args.",
    );
    expect(classify('36-backup-bad-flag').outcome.errorKind).toBe('invalid_arguments');
  });

  it('C07 exit 130 (fixture 25) and death by signal (28) are cancelled', () => {
    expect(classify('25-backup-stdin-sigint').outcome.status).toBe('cancelled');
    expect(classify('28-backup-stdin-sigterm').outcome.status).toBe('cancelled');
  });

  it('exit codes 10, 11, 12 of restic 0.17+ and exit_error messages', () => {
    const parsed = parseAll(
      '',
      '{"message_type":"exit_error","code":12,"message":"Fatal: wrong password or no key found"}\n',
    );
    expect(classifyOutcome({ exitCode: 12, signal: null, parsed, resticArgs: [] }).errorKind).toBe('wrong_password');
    expect(classifyOutcome({ exitCode: 10, signal: null, parsed: parseAll(''), resticArgs: [] }).errorKind).toBe(
      'repository_missing',
    );
    expect(classifyOutcome({ exitCode: 11, signal: null, parsed: parseAll(''), resticArgs: [] }).errorKind).toBe(
      'locked',
    );
    expect(
      classifyOutcome({ exitCode: 1, signal: null, parsed: parseAll('', 'Fatal: something odd\n'), resticArgs: [] })
        .errorMessage,
    ).toBe('restic failed: something odd (exit code 1).');
  });

  it('C03 a summary without snapshot id is still success', () => {
    const parsed = parseAll(
      '{"message_type":"summary","files_new":0,"files_unmodified":3,"total_files_processed":3,"total_bytes_processed":10,"backup_start":"2026-01-01T00:00:00Z"}\n',
    );
    expect(classifyOutcome({ exitCode: 0, signal: null, parsed, resticArgs: ['--skip-if-unchanged'] })).toMatchObject({
      status: 'success',
      errorMessage: null,
      warnings: [],
    });
  });

  it('C21 VSS failure with --use-fs-snapshot adds a warning but keeps the exit code status', () => {
    const err =
      '{"message_type":"error","error":{"message":"failed to create snapshot for [c:\\\\]: VSS error: async operation failed: E_ACCESSDENIED"},"during":"scan","item":"c:\\\\"}\n';
    const summary = '{"message_type":"summary","files_new":1,"snapshot_id":"abcdef12"}\n';
    const withVss = classifyOutcome({
      exitCode: 0,
      signal: null,
      parsed: parseAll(summary, err),
      resticArgs: ['--use-fs-snapshot'],
    });
    expect(withVss.status).toBe('success');
    expect(withVss.warnings.join(' ')).toMatch(/No Windows shadow copy \(VSS\) was used for c:\\/);
    const text = classifyOutcome({
      exitCode: 3,
      signal: null,
      parsed: parseAll(summary, 'error: failed to create snapshot for [D:\\]: VSS error\n'),
      resticArgs: ['--use-fs-snapshot'],
    });
    expect(text.status).toBe('partial');
    expect(text.warnings.some((w) => w.includes('for D:\\'))).toBe(true);
    expect(
      classifyOutcome({ exitCode: 0, signal: null, parsed: parseAll(summary, err), resticArgs: [] }).warnings,
    ).toEqual([]);
  });

  it('C24 a cache warning on stderr is surfaced', () => {
    const parsed = parseAll(
      '{"message_type":"summary","snapshot_id":"abcdef12"}\n',
      'unable to open cache: mkdir /nonexistent/.cache: permission denied\n',
    );
    expect(classifyOutcome({ exitCode: 0, signal: null, parsed, resticArgs: [] }).warnings[0]).toMatch(
      /^restic cache problem: unable to open cache/,
    );
  });
});

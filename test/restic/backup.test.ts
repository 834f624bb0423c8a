/**
 * src/restic/backup.ts: the argv of `restic backup --json` from plain values, and the version
 * gating of newer flags (facts from restic's changelog: --retry-lock 0.16, --skip-if-unchanged 0.17).
 * The JSON messages are covered by backup-output.test.ts (recorded 0.14 outputs).
 */
import { describe, expect, it } from 'vitest';
import { backupArgs, filterResticArgs } from '../../src/restic/backup.js';
import { parseResticVersion, type ResticVersion } from '../../src/restic/version.js';

const v = (s: string) => parseResticVersion(`restic ${s} compiled with go1.22 on linux/amd64`) as ResticVersion;

describe('backup argv', () => {
  it('orders options, tags and paths; every path after --', () => {
    expect(
      backupArgs(
        {
          sourcePaths: ['/a', '-odd'],
          tags: ['backup:x', 'n=1'],
          excludes: ['*.tmp', ''],
          extraArgs: ['--one-file-system'],
          host: 'pc1',
          retryLockSeconds: 90.5,
        },
        v('0.16.4'),
      ),
    ).toEqual([
      'backup',
      '--json',
      '--one-file-system',
      '--retry-lock',
      '91s',
      '--host',
      'pc1',
      '--exclude',
      '*.tmp',
      '--tag',
      'backup:x',
      '--tag',
      'n=1',
      '--',
      '/a',
      '-odd',
    ]);
  });

  it('no --retry-lock before 0.16; no --host when the extra args set one', () => {
    const args = backupArgs(
      { sourcePaths: ['/a'], tags: [], excludes: [], extraArgs: ['--host=other'], host: 'pc1', retryLockSeconds: 60 },
      v('0.14.0'),
    );
    expect(args).toEqual(['backup', '--json', '--host=other', '--', '/a']);
  });

  it('filterResticArgs drops flags this restic does not know, naming the version needed', () => {
    const r = filterResticArgs(['--skip-if-unchanged', '--one-file-system'], v('0.14.0'));
    expect(r.args).toEqual(['--one-file-system']);
    expect(r.removed).toEqual(['--skip-if-unchanged needs restic 0.17 or newer (found 0.14.0)']);
    expect(filterResticArgs(['--skip-if-unchanged'], v('0.17.0')).args).toEqual(['--skip-if-unchanged']);
  });
});

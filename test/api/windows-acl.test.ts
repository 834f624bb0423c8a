/**
 * Issue 15, Windows: the data folder's ACL at the first start. Windows itself is not here: the
 * arguments are checked as Microsoft's icacls documentation spells them, and the failure path runs
 * for real (this machine has no icacls, as a Windows without it in PATH would not).
 */
import { describe, expect, it } from 'vitest';
import { dataDirAclArgs, restrictDataDir } from '../../src/api/auth/windows-acl.js';
import { isAppError } from '../../src/errors.js';

describe('the Windows data folder ACL', () => {
  it('removes inherited entries and grants full control to the owner, SYSTEM and Administrators only (well-known SIDs)', () => {
    expect(dataDirAclArgs('C:\\ProgramData\\rbackup2\\data')).toEqual([
      'C:\\ProgramData\\rbackup2\\data',
      '/inheritance:r',
      '/grant:r',
      '*S-1-3-4:(OI)(CI)F',
      '*S-1-5-18:(OI)(CI)F',
      '*S-1-5-32-544:(OI)(CI)F',
    ]);
  });

  it('does nothing on Linux; on Windows a failing icacls is one error naming the folder and the command to run', () => {
    expect(() => restrictDataDir('/srv/rbackup2', 'linux')).not.toThrow();
    let caught: unknown;
    try {
      restrictDataDir('C:\\Program Data\\rbackup2', 'win32');
    } catch (err) {
      caught = err;
    }
    expect(isAppError(caught, 'CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toMatch(
      /^C:\\Program Data\\rbackup2: could not limit the data folder to its owner, SYSTEM and Administrators/,
    );
    expect((caught as Error).message).toContain(
      'icacls "C:\\Program Data\\rbackup2" /inheritance:r /grant:r *S-1-3-4:(OI)(CI)F',
    );
  });
});

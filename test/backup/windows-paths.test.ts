/** Windows paths (issue 20 point 2): restic's snapshot paths shown the Windows way; source normalising. */
import { describe, expect, it } from 'vitest';
import { normalizeSourcePaths, resticPathForDisplay } from '../../src/backup/paths.js';

describe('resticPathForDisplay', () => {
  it('shows /C/Users/... of a Windows snapshot as C:\\Users\\...', () => {
    expect(resticPathForDisplay('/C/Users/Test/Documents', 'win32')).toBe('C:\\Users\\Test\\Documents');
    expect(resticPathForDisplay('/d', 'win32')).toBe('D:\\');
    expect(resticPathForDisplay('/D/', 'win32')).toBe('D:\\');
    expect(resticPathForDisplay('//nas/share/x', 'win32')).toBe('\\\\nas\\share\\x');
  });
  it('leaves Linux snapshot paths alone, and paths that are not a drive', () => {
    expect(resticPathForDisplay('/C/Users/Test', 'posix')).toBe('/C/Users/Test');
    expect(resticPathForDisplay('/home/anna', 'win32')).toBe('/home/anna');
  });
});

describe('Windows sources as the smoke test passes them', () => {
  it('D:, D:\\, \\\\nas\\share\\x and a long path', () => {
    const long = `C:\\${'a'.repeat(120)}\\${'b'.repeat(120)}\\${'c'.repeat(40)}`;
    const r = normalizeSourcePaths(['D:', 'D:\\', '\\\\nas\\share\\x', long, 'C:\\Users\\Test\\Documents'], 'win32');
    expect(r.paths).toEqual(['D:\\', '\\\\nas\\share\\x', long, 'C:\\Users\\Test\\Documents']);
    expect(r.warnings.join(' ')).toMatch(/D:\\/);
  });
});

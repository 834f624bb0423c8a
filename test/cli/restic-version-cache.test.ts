/**
 * Issue 13: the one-shot `rbackup2 backup` asks restic for its version only when the binary
 * changed (src/cli/restic-version-cache.ts). Real restic behind a wrapper script that counts its
 * calls; the cache lives in a temp data folder.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedResticVersion, resolveBinary } from '../../src/cli/restic-version-cache.js';

const restic = execFileSync('sh', ['-c', 'command -v restic'], { encoding: 'utf8' }).trim();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-rvcache-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A `restic` in a fresh folder that records each call in `calls`, then runs the real restic. */
function countingRestic(): { dir: string; bin: string; calls: () => number } {
  const dir = fs.mkdtempSync(path.join(tmp, 'bin-'));
  const bin = path.join(dir, 'restic');
  const log = path.join(dir, 'calls');
  fs.writeFileSync(bin, `#!/bin/sh\necho "$*" >> ${JSON.stringify(log)}\nexec ${JSON.stringify(restic)} "$@"\n`, {
    mode: 0o755,
  });
  return { dir, bin, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').length : 0) };
}

describe('restic version cache', () => {
  it('runs `restic version` once, then answers from <data_dir>/restic-version.json while the binary is unchanged', async () => {
    const r = countingRestic();
    const dataDir = path.join(tmp, 'data-1');
    const first = await cachedResticVersion(r.bin, dataDir);
    expect(first.version.major).toBe(0);
    expect(r.calls()).toBe(1);
    const second = await cachedResticVersion(r.bin, dataDir);
    expect(second).toEqual(first);
    expect(r.calls()).toBe(1);
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'restic-version.json'), 'utf8'))).toMatchObject({
      path: r.bin,
      version: first.version.raw,
    });
  });

  it('a replaced binary (other size or mtime) is asked again', async () => {
    const r = countingRestic();
    const dataDir = path.join(tmp, 'data-2');
    await cachedResticVersion(r.bin, dataDir);
    fs.appendFileSync(r.bin, '# upgraded\n');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(r.bin, later, later);
    await cachedResticVersion(r.bin, dataDir);
    expect(r.calls()).toBe(2);
  });

  it('a name is looked up on PATH; a missing binary fails as discovery does, naming it', async () => {
    const r = countingRestic();
    expect(resolveBinary('restic', { PATH: `${path.join(tmp, 'nothing')}${path.delimiter}${r.dir}` }, 'linux')).toBe(
      r.bin,
    );
    expect(resolveBinary('restic', { PATH: path.join(tmp, 'nothing') }, 'linux')).toBeNull();
    await expect(cachedResticVersion(path.join(tmp, 'no-restic-here'), path.join(tmp, 'data-3'))).rejects.toThrow(
      /restic binary ".*no-restic-here" was not found/,
    );
  });
});

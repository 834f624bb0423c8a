// C34: two unreadable files whose names are not valid UTF-8 (`\xff.txt`, `\xfe.txt`). restic's
// JSON turns both into `\ufffd.txt`; the run record must list two entries and say why. Real
// restic 0.14 run as user nobody (setpriv) so that mode 000 files are really unreadable.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverRestic, type ResticVersion } from '../../src/restic/version.js';
import { runBackup } from '../../src/backup/run-backup.js';
import { makeJob, makeRepo, restic, tempDir } from './helpers.js';

const NOBODY = 65534;
let tmp: { dir: string; cleanup: () => void };
let version: ResticVersion;
beforeAll(async () => {
  tmp = tempDir('rbackup2-c34-');
  fs.chmodSync(tmp.dir, 0o755);
  version = (await discoverRestic('restic')).version;
});
afterAll(() => tmp.cleanup());

describe.runIf(process.getuid?.() === 0)('C34 names that are not UTF-8', () => {
  it('C34 two unreadable \\xff.txt and \\xfe.txt: two entries in the run record, marked as not valid UTF-8', async () => {
    const src = path.join(tmp.dir, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'ok.txt'), 'fine');
    for (const b of [0xff, 0xfe]) {
      const name = Buffer.concat([Buffer.from(`${src}/`), Buffer.from([b]), Buffer.from('.txt')]);
      fs.writeFileSync(name, 'secret');
      fs.chmodSync(name, 0o000);
    }
    const repoDir = path.join(tmp.dir, 'repo');
    restic(['init', '--repo', repoDir], { RESTIC_PASSWORD: 'pw' });
    const dataDir = path.join(tmp.dir, 'data');
    fs.mkdirSync(dataDir);
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, repoDir, dataDir]);
    const wrapper = path.join(tmp.dir, 'restic-as-nobody');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\nexec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups /usr/bin/restic "$@"\n`,
      { mode: 0o755 },
    );
    const r = await runBackup({
      job: makeJob({ sourcePaths: [src], repository: makeRepo({ url: repoDir, password: 'pw' }) }),
      restic: { path: wrapper, version },
      dataDir,
    });
    expect(r.status, r.errorMessage ?? '').toBe('partial');
    expect(r.unreadablePaths).toEqual([`${src}/\ufffd.txt`, `${src}/\ufffd.txt`]);
    expect(r.errorMessage).toContain('2 items could not be read');
    expect(r.warnings.join('\n')).toContain('2 unreadable names are not valid UTF-8');
  }, 60_000);
});

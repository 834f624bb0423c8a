/**
 * Issue 13: the repository stands on its own. `scripts/check-self-contained.mjs` (first step of
 * `npm test`) fails when a tracked file outside `.ci/` mentions the folder beside the repository.
 * Proven on this repository (clean) and on throw-away git repositories (a hit fails, `.ci/` and
 * untracked files are ignored), with real git.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const script = path.join(root, 'scripts/check-self-contained.mjs');
const outside = ['..', 'shared'].join('/');
const temps: string[] = [];
afterAll(() => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A new git repository holding FILES (path -> text), all tracked unless listed in `untracked`. */
function gitRepo(files: Record<string, string>, untracked: string[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-selfcontained-'));
  temps.push(dir);
  execFileSync('git', ['init', '-q'], { cwd: dir });
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  const tracked = Object.keys(files).filter((f) => !untracked.includes(f));
  if (tracked.length > 0) execFileSync('git', ['add', '--', ...tracked], { cwd: dir });
  return dir;
}

const check = (dir: string) => spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });

describe('self-contained repository check', () => {
  it('this repository passes: no tracked file outside .ci/ reads the folder beside it', () => {
    const r = check(root);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('fails naming file and line when a tracked file mentions the folder beside the repository', () => {
    const dir = gitRepo({
      'test/x.ts': `const a = 1;\nconst f = path.resolve(root, '${outside}/fixtures/x');\n`,
      'doc/y.md': `see ${outside.replace('/', '\\')}\\fixtures\n`,
      'src/ok.ts': 'export const ok = true;\n',
    });
    const r = check(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('test/x.ts:2:');
    expect(r.stderr).toContain('doc/y.md:1:');
    expect(r.stderr).not.toContain('src/ok.ts');
    expect(r.stderr).toContain('2 line(s)');
  });

  it('ignores .ci/ and files git does not track', () => {
    const dir = gitRepo(
      { '.ci/run': `# runs with ${outside} beside it\n`, 'scratch.txt': `${outside}\n`, 'a.ts': 'x\n' },
      ['scratch.txt'],
    );
    const r = check(dir);
    expect(r.status).toBe(0);
  });

  it('says so (exit 2) when the folder is not a git work tree', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-selfcontained-nogit-'));
    temps.push(dir);
    const r = spawnSync(process.execPath, [script, dir], {
      encoding: 'utf8',
      env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(dir) },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cannot list tracked files');
  });
});

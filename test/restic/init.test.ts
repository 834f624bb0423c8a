/**
 * src/restic/init.ts: argv per restic version, the output of 0.14 (text, recorded) and 0.15+
 * (JSON, shape from restic's docs), then the real restic 0.14: a new repository, and a second init
 * of it refused as repository_exists.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isResticError } from '../../src/restic/errors.js';
import { init, initArgs, parseInitOutput } from '../../src/restic/init.js';
import { failureOf, runRestic } from '../../src/restic/runner.js';
import { parseResticVersion } from '../../src/restic/version.js';
import { snapshots } from '../../src/restic/snapshots.js';
import { docsFixture, fixture, outputOf, resticDirect, tempRepo } from './helpers.js';

const v = (s: string) => parseResticVersion(`restic ${s} compiled with go1.22 on linux/amd64`);

describe('init: argv and parsing', () => {
  it('adds --json only from restic 0.15 (0.14 ignores it and prints text)', () => {
    expect(initArgs({}, v('0.14.0'))).toEqual(['init']);
    expect(initArgs({}, null)).toEqual(['init']);
    expect(initArgs({ repositoryVersion: '2' }, v('0.17.3'))).toEqual(['init', '--json', '--repository-version', '2']);
  });

  it('reads the repository id from 0.14 text (fixture 03) and 0.17 JSON (docs shape)', () => {
    expect(parseInitOutput(fixture('03-init').stdout.toString())).toEqual({ repositoryId: 'f787c70eca' });
    expect(parseInitOutput(docsFixture('init-0.17.jsonl'))).toEqual({
      repositoryId: '5f0e8c7a9b1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f',
    });
    expect(parseInitOutput('')).toEqual({ repositoryId: null });
  });

  it('classifies "config file already exists" (fixtures 04, 47) as repository_exists', () => {
    for (const name of ['04-init-again-json', '47-init-exists']) {
      const err = failureOf(outputOf(name), 'restic init', { name: 'nas', resticBinary: 'restic' });
      expect(err?.kind).toBe('repository_exists');
      expect(err?.message).toMatch(/^A restic repository already exists there \(create repository at .* failed/);
    }
  });
});

describe('init: real restic', () => {
  const t = tempRepo();
  afterAll(() => t.cleanup());

  it('creates a repository that restic can then open; a second init is repository_exists', async () => {
    const r = await init(t.conn);
    expect(r.repositoryId).toMatch(/^[0-9a-f]{10,64}$/);
    expect(fs.existsSync(path.join(t.conn.url, 'config'))).toBe(true);
    expect(resticDirect(t.conn, ['cat', 'config'])).toContain('"version"');
    expect(await snapshots(t.conn)).toEqual([]);
    const again = await init(t.conn).catch((e: unknown) => e);
    expect(isResticError(again, 'repository_exists')).toBe(true);
    expect((again as Error).message).toContain('already exists');
  });

  it('the password reaches restic through the environment, never the argv', async () => {
    const other = tempRepo();
    try {
      const conn = { ...other.conn, password: { kind: 'value' as const, value: 'pw-not-in-argv' } };
      await init(conn);
      // The repository opens with that password (so restic got it) ...
      expect(await snapshots(conn)).toEqual([]);
      const out = await runRestic(conn, ['cat', 'config'], {}, { defaultTimeoutSeconds: 60 });
      expect(out.exitCode).toBe(0);
      expect(out.args.join(' ')).not.toContain('pw-not-in-argv');
      // ... and a wrong one is refused.
      await expect(snapshots({ ...conn, password: { kind: 'value', value: 'x' } })).rejects.toSatisfy((e) =>
        isResticError(e, 'wrong_password'),
      );
    } finally {
      other.cleanup();
    }
  });
});

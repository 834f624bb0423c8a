/**
 * A new embedded database folder is created (initdb) by a child process (src/db/pglite-initdb.ts),
 * so the agent does not keep initdb's memory; the folder it leaves opens with the agent's settings.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initdbInChild, isInitialised } from '../../src/db/pglite-initdb.js';
import { openPglite, PGLITE_START_PARAMS, PGLITE_V8_FLAGS } from '../../src/db/pglite.js';

const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) fs.rmSync(d, { recursive: true, force: true });
});

describe('embedded database creation in a child process', () => {
  it('C18 initdbInChild leaves an initialised folder that opens, with the agent start parameters in force', async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-initdb-'));
    cleanup.push(base);
    const dir = path.join(base, 'db');
    expect(isInitialised(dir)).toBe(false);
    await initdbInChild(dir, PGLITE_START_PARAMS, PGLITE_V8_FLAGS);
    expect(isInitialised(dir)).toBe(true);
    const db = await openPglite(dir);
    try {
      const { rows } = await db.query<{ name: string; setting: string }>(
        "SELECT name, setting FROM pg_settings WHERE name IN ('shared_buffers', 'max_connections', 'fsync', 'synchronous_commit') ORDER BY name",
      );
      expect(Object.fromEntries(rows.map((r) => [r.name, r.setting]))).toEqual({
        fsync: 'on',
        max_connections: '4',
        shared_buffers: '128',
        synchronous_commit: 'on',
      });
    } finally {
      await db.close();
    }
  }, 300_000);

  it("a folder that cannot be created fails with one error naming it and the child's reason", async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-initdb-'));
    cleanup.push(base);
    fs.writeFileSync(path.join(base, 'file'), 'not a folder');
    const dir = path.join(base, 'file', 'db');
    await expect(initdbInChild(dir, PGLITE_START_PARAMS, PGLITE_V8_FLAGS)).rejects.toThrow(
      new RegExp(`creating the embedded database ${dir} failed \\(exit 1\\): .+`),
    );
  }, 120_000);
});

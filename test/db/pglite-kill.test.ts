/**
 * C18 with the embedded database's memory settings (src/db/pglite.ts PGLITE_START_PARAMS and
 * PGLITE_V8_FLAGS): a process writing runs through the real run store is SIGKILLed at random
 * moments, several times over the same folder. Every run whose commit had returned before the
 * kill is there after reopening, with the status it was committed with; the folder always reopens.
 * The writer is a real child process (built dist/, as the agent runs), not this test's process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addJob, addRepository, migrate, openPglite, upsertDevice } from '../../src/db/index.js';
import { freshPgliteDir } from '../helpers/databases.js';

const DEVICE = 'kill-dev';
const dist = path.resolve(import.meta.dirname, '../../dist');
const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) fs.rmSync(d, { recursive: true, force: true });
});

/** The writer: opens the folder, then records runs (started, then finished success) until killed. */
const WRITER = `
import { openPglite } from ${JSON.stringify(`${dist}/db/index.js`)};
import { DbRunStore } from ${JSON.stringify(`${dist}/runs/run-store.js`)};
import { randomUUID } from 'node:crypto';
const [dir, jobId, deviceId] = process.argv.slice(1);
const db = await openPglite(dir);
const store = new DbRunStore(db);
process.stdout.write('open\\n');
for (;;) {
  const s = { clientRunId: randomUUID(), jobId, deviceId, startTime: new Date(), triggeredBy: 'manual', metadata: {} };
  const id = await store.started(s);
  process.stdout.write('started ' + id + '\\n');
  await store.finished({ clientRunId: s.clientRunId, jobId, startTime: s.startTime, completion: { status: 'success', endTime: new Date(), durationSeconds: 0.1 } }, s, id);
  process.stdout.write('finished ' + id + '\\n');
}
`;

/** Start the writer, SIGKILL it after `afterFinished` committed runs plus `extraMs`; its output lines. */
async function writeUntilKilled(dir: string, jobId: string, afterFinished: number, extraMs: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER, dir, jobId, DEVICE], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let buf = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 10_000) stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`writer exited ${code} before the kill: ${stderr}`)));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
      if (lines.filter((l) => l.startsWith('finished')).length >= afterFinished) resolve();
    });
  });
  await new Promise((r) => setTimeout(r, extraMs));
  child.kill('SIGKILL');
  await exited;
  if (buf) lines.push(buf); // a line cut by the kill: ignored below unless complete
  return lines;
}

describe('embedded database killed while writing', () => {
  it('C18 SIGKILL at random moments while runs are committed: every committed run is there after reopening, the folder always reopens', async () => {
    const dir = await freshPgliteDir();
    cleanup.push(path.dirname(dir));
    const setup = await openPglite(dir);
    await migrate(setup);
    await upsertDevice(setup, { id: DEVICE });
    const repo = await addRepository(setup, { name: 'r', url: '/tmp/nowhere', password: 'pw' });
    const job = await addJob(setup, { deviceId: DEVICE, name: 'j', sourcePaths: ['/tmp'], repositoryId: repo.id });
    await setup.close();

    const committed = new Map<number, 'running' | 'success'>();
    for (let round = 0; round < 4; round++) {
      const lines = await writeUntilKilled(
        dir,
        job.id,
        2 + Math.floor(Math.random() * 8),
        Math.floor(Math.random() * 40),
      );
      for (const l of lines) {
        const m = /^(started|finished) (\d+)$/.exec(l);
        if (m) committed.set(Number(m[2]), m[1] === 'finished' ? 'success' : 'running');
      }
      // Reopen (taking over the dead writer's lock): nothing moved aside, every committed run there.
      const db = await openPglite(dir);
      try {
        const { rows } = await db.query<{ id: number; status: string }>(
          'SELECT id, status FROM runs WHERE device_id = $1',
          [DEVICE],
        );
        const inDb = new Map(rows.map((r) => [Number(r.id), r.status]));
        for (const [id, status] of committed) {
          expect(inDb.has(id), `run ${id} committed before the kill of round ${round + 1} is missing`).toBe(true);
          if (status === 'success') expect(inDb.get(id)).toBe('success');
        }
      } finally {
        await db.close();
      }
    }
    expect(fs.readdirSync(path.dirname(dir)).filter((n) => n.includes('.broken-'))).toEqual([]);
    expect([...committed.values()].filter((s) => s === 'success').length).toBeGreaterThanOrEqual(8);
  }, 300_000);
});

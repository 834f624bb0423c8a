/**
 * The restore task (src/tasks/restore-task.ts) with real restic 0.14, which prints no restore
 * progress: the progress comes from the bytes below the destination, measured on disk (48 files of
 * 2 MiB: 0.14 preallocates each file, so the figure moves file by file), and reaches the total at
 * the end; the outcome names snapshot, paths and target.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import type { RunProgress } from '../../src/events.js';
import { silentLogger } from '../../src/logging.js';
import { restoreTask, type RestorePlan } from '../../src/tasks/restore-task.js';
import { backupDirect, resticDirect, tempRepo } from '../restic/helpers.js';

let t: ReturnType<typeof tempRepo>;
let snap = '';
const SIZE = 96 * 1024 * 1024;

beforeAll(() => {
  t = tempRepo('rb2-restore-task-');
  resticDirect(t.conn, ['init']);
  fs.mkdirSync(path.join(t.source, 'many'));
  for (let i = 0; i < SIZE / (2 * 1024 * 1024); i++)
    fs.writeFileSync(path.join(t.source, 'many', `f${i}.bin`), randomBytes(2 * 1024 * 1024));
  snap = backupDirect(t.conn, t.source, 'pc', ['backup:x']);
}, 120_000);
afterAll(() => t.cleanup());

describe('restore task', () => {
  it('reports the bytes written on disk as progress (restic 0.14 prints none) and ends at the total', async () => {
    const file = path.join(t.source, 'many');
    const target = path.join(t.dir, 'target');
    const plan = {
      job: { id: 'j', name: 'J', repository: null } as unknown as RestorePlan['job'],
      snapshot: { id: snap, shortId: snap.slice(0, 8), time: '2026-01-01T00:00:00Z', hostname: 'pc' },
      paths: [file],
      target,
      overwrite: false,
      files: SIZE / (2 * 1024 * 1024),
      totalBytes: SIZE,
    } satisfies RestorePlan;
    const progress: RunProgress[] = [];
    const task = restoreTask(plan, { connection: async () => t.conn, meterSeconds: 0.02 });
    const outcome = await task.run({
      signal: new AbortController().signal,
      clock: systemClock,
      logger: silentLogger(),
      dataDir: t.dir,
      onProgress: (p) => progress.push(p),
    });
    expect(outcome).toMatchObject({ status: 'success', snapshotId: snap, totalBytesProcessed: SIZE });
    expect(outcome.metadata).toMatchObject({ target, paths: [file], files: 48, total_bytes: SIZE });
    expect(progress.at(-1)).toMatchObject({ bytesDone: SIZE, totalBytes: SIZE, percentDone: 1 });
    // at least one measurement while restic was still writing (0.14 preallocates each file with
    // fallocate, so the on-disk figure moves file by file, not within one file)
    expect(progress.some((p) => (p.bytesDone ?? 0) > 0 && (p.bytesDone ?? 0) < SIZE)).toBe(true);
    expect(fs.readdirSync(path.join(target, file))).toHaveLength(48);
  }, 120_000);
});

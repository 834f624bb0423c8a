/**
 * A replay (every 30 s) that runs while a run's outcome is being journalled must leave that run
 * alone: before the fix it could read the start-only entry and write the run as `interrupted`
 * after (or racing) its success, and a listing of the journal deleted the temp file of another
 * run's write in progress (that write failed, its start-only entry became `interrupted`). The inner store here only records what it is asked to write.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { JournalRunStore } from '../../src/runs/journal-run-store.js';
import type { RunFinishRecord, RunStartRecord, RunStore } from '../../src/runs/run-store.js';
import { silentLogger } from '../../src/logging.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Records every outcome written; `finished` takes `delayMs` (a slow database). */
class Recorder implements RunStore {
  readonly written: { id: string; status: string }[] = [];
  constructor(private readonly delayMs: number) {}
  async started(): Promise<number | null> {
    return 1;
  }
  async finished(r: RunFinishRecord): Promise<number | null> {
    await new Promise((res) => setTimeout(res, this.delayMs));
    this.written.push({ id: r.clientRunId, status: r.completion.status });
    return 1;
  }
}

describe('journal replay racing a finishing run', () => {
  it('C17 a replay during finished() never records the finishing run as interrupted (20 rounds of two runs)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-race-'));
    dirs.push(dir);
    const inner = new Recorder(5);
    const store = new JournalRunStore(inner, dir, silentLogger());
    const start = (): RunStartRecord => ({
      clientRunId: randomUUID(),
      jobId: 'j',
      deviceId: 'd',
      startTime: new Date(),
      triggeredBy: 'schedule',
      metadata: {},
    });
    const finish = (s: RunStartRecord): RunFinishRecord => ({
      clientRunId: s.clientRunId,
      jobId: 'j',
      startTime: s.startTime,
      completion: { status: 'success', endTime: new Date(), snapshotId: 'abcd1234' },
    });
    for (let i = 0; i < 20; i++) {
      // Two runs finishing at once (each finish lists the journal) while replays run.
      const a = start();
      const b = start();
      await store.started(a);
      await store.started(b);
      await Promise.all([
        store.finished(finish(a), a, 1),
        store.finished(finish(b), b, 1),
        store.replay(),
        new Promise((r) => setImmediate(r)).then(() => store.replay()),
      ]);
    }
    expect(inner.written.filter((w) => w.status !== 'success')).toEqual([]);
    expect(inner.written).toHaveLength(40);
    expect(store.pending).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'journal'))).toEqual([]);
  });
});

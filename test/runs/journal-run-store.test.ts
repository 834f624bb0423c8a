import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readdirSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { forEachDatabase } from '../helpers/databases.js';
import { migrate, upsertDevice, listRuns } from '../../src/db/index.js';
import { DbRunStore, type RunFinishRecord, type RunStartRecord, type RunStore } from '../../src/runs/run-store.js';
import { JournalRunStore } from '../../src/runs/journal-run-store.js';
import { RunJournal } from '../../src/runs/journal.js';
import { silentLogger } from '../../src/logging.js';

const JOB = '11111111-2222-4333-8444-555555555555';

function startRecord(device: string): RunStartRecord {
  return {
    clientRunId: randomUUID(),
    jobId: JOB,
    deviceId: device,
    startTime: new Date('2026-11-29T10:00:00Z'),
    triggeredBy: 'schedule',
    metadata: { job_name: 'j' },
  };
}

function finishRecord(s: RunStartRecord, snapshotId: string): RunFinishRecord {
  return {
    clientRunId: s.clientRunId,
    jobId: s.jobId,
    startTime: s.startTime,
    completion: {
      status: 'success',
      endTime: new Date('2026-11-29T10:01:00Z'),
      durationSeconds: 60,
      snapshotId,
      filesNew: 3,
    },
  };
}

/** A store whose database is "down" while `down` is true (every call throws like a refused connection). */
class Switchable implements RunStore {
  down = true;
  constructor(private readonly real: RunStore) {}
  started(r: RunStartRecord) {
    return this.down ? Promise.reject(new Error('connect ECONNREFUSED')) : this.real.started(r);
  }
  finished(r: RunFinishRecord, s: RunStartRecord, id: number | null) {
    return this.down ? Promise.reject(new Error('connect ECONNREFUSED')) : this.real.finished(r, s, id);
  }
}

forEachDatabase('run journal (C17)', (getDb) => {
  let device: string;
  beforeAll(async () => {
    await migrate(getDb());
  });

  async function runsOf(d: string) {
    return listRuns(getDb(), { deviceId: d, limit: 100 });
  }

  it('C17 runs finished while the database is down are written once when it returns', async () => {
    device = `dev-${randomUUID().slice(0, 8)}`;
    await upsertDevice(getDb(), { id: device });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-journal-'));
    const inner = new Switchable(new DbRunStore(getDb()));
    const store = new JournalRunStore(inner, dir, silentLogger());
    const starts = [startRecord(device), startRecord(device), startRecord(device)];
    for (const [i, s] of starts.entries()) {
      expect(await store.started(s)).toBeNull();
      expect(await store.finished(finishRecord(s, `snap${i}`), s, null)).toBeNull();
    }
    expect(store.pending).toBe(3);
    expect(await runsOf(device)).toHaveLength(0);
    expect(await store.replay()).toBe(0); // still down: nothing written, nothing lost
    inner.down = false;
    expect(await store.replay()).toBe(3);
    expect(await store.replay()).toBe(0); // replay again: no duplicates
    const runs = await runsOf(device);
    expect(runs.map((r) => r.snapshotId).sort()).toEqual(['snap0', 'snap1', 'snap2']);
    expect(runs.every((r) => r.status === 'success' && r.filesNew === 3)).toBe(true);
    expect(store.pending).toBe(0);
    expect(readdirSync(path.join(dir, 'journal'))).toEqual([]);
  });

  it('C17 a run whose start reached the database and whose end did not is completed, not duplicated', async () => {
    device = `dev-${randomUUID().slice(0, 8)}`;
    await upsertDevice(getDb(), { id: device });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-journal-'));
    const inner = new Switchable(new DbRunStore(getDb()));
    inner.down = false;
    const store = new JournalRunStore(inner, dir, silentLogger());
    const s = startRecord(device);
    const id = await store.started(s);
    expect(id).toBeGreaterThan(0);
    inner.down = true;
    await store.finished(finishRecord(s, 'abc'), s, id);
    inner.down = false;
    await store.replay();
    const runs = await runsOf(device);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id, status: 'success', snapshotId: 'abc' });
  });

  it('a start-only entry left by a killed agent is replayed as interrupted; a torn entry is skipped with a warning', async () => {
    device = `dev-${randomUUID().slice(0, 8)}`;
    await upsertDevice(getDb(), { id: device });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-journal-'));
    const journal = new RunJournal(dir);
    const crashed = startRecord(device);
    await journal.write({ start: crashed, finish: null });
    const torn = startRecord(device);
    await journal.write({ start: torn, finish: finishRecord(torn, 'x') });
    const tornFile = path.join(journal.dir, `${torn.clientRunId}.json`);
    writeFileSync(tornFile, readFileSync(tornFile, 'utf8').slice(0, 40));
    writeFileSync(path.join(journal.dir, `${randomUUID()}.json.tmp`), '{"half');
    const warnings: string[] = [];
    const logger = Object.assign(silentLogger(), { warn: (_o: object, msg: string) => warnings.push(msg) });
    const store = new JournalRunStore(new DbRunStore(getDb()), dir, logger as never);
    expect(await store.replay()).toBe(1);
    const runs = await runsOf(device);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'interrupted' });
    expect(warnings.some((w) => /torn or damaged/.test(w))).toBe(true);
    expect(readdirSync(journal.dir).sort()).toEqual([`${torn.clientRunId}.json.bad`]);
  });

  it('an unwritable journal folder falls back to the database directly', async () => {
    device = `dev-${randomUUID().slice(0, 8)}`;
    await upsertDevice(getDb(), { id: device });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-journal-'));
    // A file where the journal folder should be: fails for root too (root ignores permissions).
    writeFileSync(path.join(dir, 'journal'), 'not a folder');
    const store = new JournalRunStore(new DbRunStore(getDb()), dir, silentLogger());
    const s = startRecord(device);
    const id = await store.started(s);
    await store.finished(finishRecord(s, 'direct'), s, id);
    expect((await runsOf(device)).map((r) => r.snapshotId)).toEqual(['direct']);
  });
});

describe('run journal files', () => {
  it('keeps the previous entry whole when a rewrite is cut off before its rename', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-journal-'));
    const journal = new RunJournal(dir);
    const s = startRecord('d');
    await journal.write({ start: s, finish: null });
    // a cut-off rewrite leaves only a temp file beside the good entry
    mkdirSync(journal.dir, { recursive: true });
    writeFileSync(path.join(journal.dir, `${s.clientRunId}.json.tmp`), '{"format":1,"sha');
    expect(await journal.list()).toEqual([s.clientRunId]);
    const read = await journal.read(s.clientRunId);
    expect(read.ok && read.entry.start.startTime.toISOString()).toBe('2026-11-29T10:00:00.000Z');
  });
});

/**
 * The local run journal (`<data_dir>/journal/`): one small JSON file per run, written atomically
 * (temp file, fsync, rename) before the database is told, removed only after the database has the
 * run. A cut-off write (power loss, SIGKILL) leaves the previous version of that file or a stray
 * temp file, never a half entry; an entry whose checksum does not match is moved aside and
 * reported. Bounded: at most MAX_ENTRIES files.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { RunFinishRecord, RunStartRecord } from './run-store.js';

/** The journal keeps at most this many runs waiting for the database (about 14 months of hourly runs). */
export const MAX_ENTRIES = 10_000;

export interface JournalEntry {
  start: RunStartRecord;
  finish: RunFinishRecord | null;
}

interface StoredEntry {
  format: 1;
  sha256: string;
  entry: JournalEntry;
}

/** JSON with Dates as ISO strings, revived on read. */
function encode(entry: JournalEntry): string {
  const body = JSON.stringify(entry);
  const stored: StoredEntry = { format: 1, sha256: createHash('sha256').update(body).digest('hex'), entry };
  return JSON.stringify(stored);
}

function revive(e: JournalEntry): JournalEntry {
  const start = { ...e.start, startTime: new Date(e.start.startTime) };
  const finish = e.finish
    ? {
        ...e.finish,
        startTime: new Date(e.finish.startTime),
        completion: { ...e.finish.completion, endTime: new Date(e.finish.completion.endTime) },
      }
    : null;
  return { start, finish };
}

export type ReadResult = { ok: true; entry: JournalEntry } | { ok: false; reason: string };

export class RunJournal {
  readonly dir: string;
  /** Runs whose entry this process is writing now: their temp files are not strays. */
  private readonly writing = new Set<string>();

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'journal');
  }

  private file(clientRunId: string): string {
    return path.join(this.dir, `${clientRunId}.json`);
  }

  /**
   * Write (or replace) the entry of one run durably. Throws the fs error (ENOSPC, EACCES, EROFS)
   * or an Error when the journal is full; the caller then writes to the database directly.
   */
  async write(entry: JournalEntry): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const target = this.file(entry.start.clientRunId);
    const exists = await fs.stat(target).then(
      () => true,
      () => false,
    );
    if (!exists && (await this.list()).length >= MAX_ENTRIES)
      throw new Error(`run journal ${this.dir} is full (${MAX_ENTRIES} runs waiting for the database)`);
    const tmp = `${target}.tmp`;
    this.writing.add(entry.start.clientRunId);
    try {
      const handle = await fs.open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(encode(entry));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, target);
    } finally {
      this.writing.delete(entry.start.clientRunId);
    }
    if (process.platform !== 'win32') {
      const d = await fs.open(this.dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    }
  }

  /**
   * Client run ids with an entry, oldest file first. Stray temp files (a write cut off by a crash)
   * are removed; the temp file of a write in progress in this process is left alone.
   */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return [];
    }
    const ids: { id: string; mtime: number }[] = [];
    for (const name of names) {
      const full = path.join(this.dir, name);
      if (name.endsWith('.tmp')) {
        // A write cut off before its rename: the old entry (if any) stands.
        if (!this.writing.has(name.slice(0, -'.json.tmp'.length))) await fs.rm(full, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const st = await fs.stat(full).catch(() => null);
      if (st) ids.push({ id: name.slice(0, -5), mtime: st.mtimeMs });
    }
    return ids.sort((a, b) => a.mtime - b.mtime).map((x) => x.id);
  }

  /** Read one entry; a torn or edited file gives `ok: false` with the reason. */
  async read(clientRunId: string): Promise<ReadResult> {
    try {
      const stored = JSON.parse(await fs.readFile(this.file(clientRunId), 'utf8')) as Partial<StoredEntry>;
      if (stored.format !== 1 || !stored.entry) return { ok: false, reason: 'unknown format' };
      const sum = createHash('sha256').update(JSON.stringify(stored.entry)).digest('hex');
      if (sum !== stored.sha256) return { ok: false, reason: 'checksum mismatch' };
      return { ok: true, entry: revive(stored.entry) };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  /** The database has the run: forget it. */
  async remove(clientRunId: string): Promise<void> {
    await fs.rm(this.file(clientRunId), { force: true });
  }

  /** Keep a bad entry for a person to look at, out of the replay's way. */
  async quarantine(clientRunId: string): Promise<string> {
    const to = `${this.file(clientRunId)}.bad`;
    await fs.rename(this.file(clientRunId), to).catch(() => undefined);
    return to;
  }
}

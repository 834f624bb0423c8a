/**
 * The local outbox journal (issue 19 point 3: "the local journal keeps them while the database is
 * away"): notifications the database did not take, one JSON line each in
 * `<data_dir>/notify-outbox.jsonl`, replayed into the outbox later. Bounded: at most `maxEntries`
 * (the oldest are dropped with a warning: a database away that long has bigger news).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { NotificationPayload } from './events.js';

export const OUTBOX_JOURNAL_FILE = 'notify-outbox.jsonl';

export class OutboxJournal {
  readonly file: string;

  constructor(
    dataDir: string,
    private readonly maxEntries = 1000,
  ) {
    this.file = path.join(dataDir, OUTBOX_JOURNAL_FILE);
  }

  /** Entries waiting, oldest first (an unreadable line is skipped). */
  read(): NotificationPayload[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return [];
    }
    const out: NotificationPayload[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as NotificationPayload);
      } catch {
        // a torn last line after a power cut: skip it
      }
    }
    return out;
  }

  /** Append one entry; returns how many old entries were dropped to stay within the bound. */
  append(p: NotificationPayload): number {
    const all = [...this.read(), p];
    const dropped = Math.max(0, all.length - this.maxEntries);
    this.write(all.slice(dropped));
    return dropped;
  }

  /** Keep only `left` (after a replay). */
  write(left: NotificationPayload[]): void {
    if (left.length === 0) {
      fs.rmSync(this.file, { force: true });
      return;
    }
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, left.map((p) => JSON.stringify(p)).join('\n') + '\n', { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}

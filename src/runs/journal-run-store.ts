/**
 * A RunStore that never loses a run (C17): each state change goes to the local journal first,
 * then to the database. When the database is away the entry waits; `replay()` writes waiting
 * entries exactly once (inserts are idempotent per client_run_id) and removes them only after the
 * database has them. A run whose start was journalled but whose process died before it finished
 * is replayed as `interrupted`.
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../logging.js';
import { RunJournal, type JournalEntry } from './journal.js';
import type { RunFinishRecord, RunStartRecord, RunStore } from './run-store.js';

const INTERRUPTED =
  'The agent stopped (crash, kill or power loss) while this run was going on; the run was recorded from the local journal.';

export class JournalRunStore implements RunStore {
  private readonly journal: RunJournal;
  /** Runs of this process still going (their start-only entries are not interrupted). */
  private readonly live = new Set<string>();
  private replaying: Promise<number> | null = null;
  private waiting = 0;

  constructor(
    private readonly inner: RunStore,
    dataDir: string,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.journal = new RunJournal(dataDir);
  }

  /** Entries waiting for the database (for /status and the pending-entries metric). */
  get pending(): number {
    return this.waiting;
  }

  private async journalWrite(entry: JournalEntry): Promise<boolean> {
    try {
      await this.journal.write(entry);
      return true;
    } catch (err) {
      this.logger.error(
        { err: errorMessage(err), dir: this.journal.dir },
        'run journal not writable: the run record depends on the database alone',
      );
      return false;
    }
  }

  async started(r: RunStartRecord): Promise<number | null> {
    this.live.add(r.clientRunId);
    await this.journalWrite({ start: r, finish: null });
    try {
      return await this.inner.started(r);
    } catch (err) {
      this.logger.warn(
        { err: errorMessage(err), jobId: r.jobId },
        'run start kept in the local journal until the database is back',
      );
      return null;
    }
  }

  async finished(r: RunFinishRecord, s: RunStartRecord, runId: number | null): Promise<number | null> {
    // The run stays `live` until its outcome is journalled and offered to the database: a replay
    // running meanwhile must not read the start-only entry and record the run as interrupted
    // (its database write could land after this success and overwrite it).
    let journalled = false;
    try {
      journalled = await this.journalWrite({ start: s, finish: r });
      const id = await this.inner.finished(r, s, runId);
      if (journalled) await this.journal.remove(r.clientRunId);
      return id;
    } catch (err) {
      if (!journalled) throw err;
      this.logger.warn(
        { err: errorMessage(err), jobId: r.jobId },
        'run outcome kept in the local journal until the database is back',
      );
      return null;
    } finally {
      this.live.delete(r.clientRunId);
      if (journalled) await this.refreshCount().catch(() => undefined);
    }
  }

  private async refreshCount(): Promise<void> {
    this.waiting = (await this.journal.list()).filter((id) => !this.live.has(id)).length;
  }

  /**
   * Write every waiting entry to the database; resolves with how many were written. Stops at the
   * first database error (still away). Coalesces concurrent calls.
   */
  replay(): Promise<number> {
    this.replaying ??= this.replayOnce().finally(() => {
      this.replaying = null;
    });
    return this.replaying;
  }

  private async replayOnce(): Promise<number> {
    let written = 0;
    try {
      for (const id of await this.journal.list()) {
        if (this.live.has(id)) continue;
        const read = await this.journal.read(id);
        if (!read.ok) {
          const to = await this.journal.quarantine(id);
          this.logger.warn(
            { clientRunId: id, reason: read.reason, movedTo: to },
            'torn or damaged journal entry skipped',
          );
          continue;
        }
        const { start, finish } = read.entry;
        const end = this.now();
        const record: RunFinishRecord = finish ?? {
          clientRunId: id,
          jobId: start.jobId,
          operation: start.operation ?? 'backup',
          startTime: start.startTime,
          completion: {
            status: 'interrupted',
            endTime: end,
            errorMessage: INTERRUPTED,
            durationSeconds: Math.max(0, (end.getTime() - start.startTime.getTime()) / 1000),
          },
        };
        await this.inner.finished(record, start, null);
        await this.journal.remove(id);
        written++;
      }
    } catch (err) {
      this.logger.debug({ err: errorMessage(err) }, 'journal replay paused: database unavailable');
    }
    await this.refreshCount();
    if (written > 0) this.logger.info({ written, waiting: this.waiting }, 'journalled runs written to the database');
    return written;
  }
}

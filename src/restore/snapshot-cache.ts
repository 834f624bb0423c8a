/**
 * The agent's cache of each job's snapshot list (issue 17: "cached and refreshed after each run of
 * the job, so the UI does not run restic on every page view"). One entry per job, filled on first
 * use, refreshed in the background when a run of the job ends (backup, forget, prune, restore...)
 * and at most every `maxAgeSeconds` otherwise; concurrent readers share one restic call. Bounded:
 * at most `maxJobs` entries (least recently used dropped).
 */
import type { Clock } from '../clock.js';
import type { Snapshot } from '../restic/snapshot.js';

interface Entry {
  /** monotonic ms when the list was read */
  at: number;
  list: Snapshot[] | null;
  loading: Promise<Snapshot[]> | null;
  /** ISO 8601 of the read. */
  readAt: string | null;
}

export interface SnapshotCacheOptions {
  clock: Clock;
  /** Reads the job's snapshots from restic, newest first. */
  load: (jobId: string) => Promise<Snapshot[]>;
  /** Longest a list is served without a refresh, seconds (default 3600). */
  maxAgeSeconds?: number;
  maxJobs?: number;
}

export class SnapshotCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly o: SnapshotCacheOptions) {}

  /**
   * The job's snapshots and when they were read. `fresh` forces a restic call (a snapshot id not in
   * the cached list). Rejects with the loader's error when there is no list to serve.
   */
  async get(jobId: string, fresh = false): Promise<{ snapshots: Snapshot[]; readAt: string }> {
    const e = this.entries.get(jobId);
    const maxAge = (this.o.maxAgeSeconds ?? 3600) * 1000;
    if (e?.list && !fresh && this.o.clock.monotonic() - e.at < maxAge) {
      this.touch(jobId, e);
      return { snapshots: e.list, readAt: e.readAt ?? '' };
    }
    const list = await this.refresh(jobId);
    return { snapshots: list, readAt: this.entries.get(jobId)?.readAt ?? '' };
  }

  /** Read the job's list again (shared by concurrent callers). */
  refresh(jobId: string): Promise<Snapshot[]> {
    const e: Entry = this.entries.get(jobId) ?? { at: 0, list: null, loading: null, readAt: null };
    if (e.loading) return e.loading;
    const loading = this.o.load(jobId).then(
      (list) => {
        e.list = list;
        e.at = this.o.clock.monotonic();
        e.readAt = new Date(this.o.clock.now()).toISOString();
        e.loading = null;
        return list;
      },
      (err: unknown) => {
        e.loading = null;
        throw err;
      },
    );
    e.loading = loading;
    this.touch(jobId, e);
    return loading;
  }

  /** After a run of the job: refresh in the background when the job was cached (errors ignored). */
  runEnded(jobId: string): void {
    if (!this.entries.has(jobId)) return;
    this.refresh(jobId).catch(() => {
      const e = this.entries.get(jobId);
      if (e) e.at = 0; // stale: the next read tries again
    });
  }

  private touch(jobId: string, e: Entry): void {
    this.entries.delete(jobId);
    this.entries.set(jobId, e);
    const max = this.o.maxJobs ?? 500;
    while (this.entries.size > max) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}

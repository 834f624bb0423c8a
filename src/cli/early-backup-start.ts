/**
 * The early restic of `rbackup2 backup JOB` (src/backup/early-backup.ts), from the CLI's side:
 * the job comes from the last-known-good device config copy (`<data_dir>/config-cache.json`,
 * sync/config-cache.ts, written by the agent and by this command), restic's version from its cache
 * (restic-version-cache.ts). Nothing is started when an agent holds the embedded database (the
 * command then asks that agent), when the job's cross-process lock (C33) is held, or when anything
 * is missing: the command then runs as without it. Until the run takes the process over, Ctrl-C
 * or SIGTERM stops restic (restic's clean stop) before this process exits, as it would have
 * without an early start.
 */
import path from 'node:path';
import { EarlyBackup, unrecordedSnapshotNote } from '../backup/early-backup.js';
import type { DeviceConfig, JobConfig } from '../config/device-config.js';
import type { LocalConfig } from '../config/local-config.js';
import { embeddedDataDir } from '../db/open.js';
import { readPgliteLock } from '../db/pglite-lock.js';
import { isUuid } from '../db/rows.js';
import { pidAliveOnThisHost } from '../process-alive.js';
import { acquireJobLock } from '../runs/job-lock.js';
import { currentOwner } from '../runs/run-owner.js';
import { readConfigCache, writeConfigCache } from '../sync/config-cache.js';
import { cachedResticVersion } from './restic-version-cache.js';

/** What the early start did; `close` always runs when the command ends. */
export interface EarlyStart {
  /** The restic started, or null. */
  early: EarlyBackup | null;
  /**
   * Hand the process to the run: from now on the run's own signal handling (cancelledBySignals)
   * stops it. Idempotent.
   */
  handOver(): void;
  /**
   * Keep `config` (just read from the database) as the last-known-good copy when it differs from
   * the copy read at start; resolves when written or failed (a failure only costs the next
   * command its early start). Never rejects.
   */
  remember(config: DeviceConfig): Promise<void>;
  /**
   * Stop a restic not taken over (and wait for it), release the job lock. Resolves with the
   * sentence to print when that restic had already written a snapshot no run records, else null.
   * Idempotent.
   */
  close(): Promise<string | null>;
}

/** The job `jobRef` (a UUID or a name) of `jobs`, as `rbackup2 backup` finds it. */
export function findJobByRef<T extends Pick<JobConfig, 'id' | 'name'>>(
  jobs: readonly T[],
  jobRef: string,
): T | undefined {
  return jobs.find((j) => (isUuid(jobRef) ? j.id === jobRef : j.name === jobRef));
}

/** The config as compared with the copy: without `loadedAt`, which every load stamps anew. */
function comparable(config: DeviceConfig): string {
  return JSON.stringify({ ...config, loadedAt: '' });
}

/** Exit code of a command stopped by Ctrl-C (128 + SIGINT), as a shell reports it. */
const INTERRUPTED_EXIT = 130;

/**
 * Start restic for `jobRef` from the cached config, if it can be done safely (module doc).
 * Never rejects.
 */
export async function startEarlyBackup(local: LocalConfig, jobRef: string): Promise<EarlyStart> {
  const dataDir = path.resolve(local.dataDir);
  let cachedJson: string | null = null;
  let release = (): void => undefined;
  let early: EarlyBackup | null = null;
  let signalsOn = false;
  const onSignal = (): void => {
    void (async () => {
      const note = await result.close();
      if (note) console.error(`rbackup2: ${note}`);
      process.exit(INTERRUPTED_EXIT);
    })();
  };
  const handOver = (): void => {
    if (!signalsOn) return;
    signalsOn = false;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  let closed: Promise<string | null> | null = null;
  const result: EarlyStart = {
    early: null,
    handOver,
    async remember(config) {
      const json = comparable(config);
      if (json === cachedJson) return;
      try {
        await writeConfigCache(dataDir, config, new Date());
        cachedJson = json;
      } catch {
        // read-only or full data folder: the next command starts restic after the database
      }
    },
    close() {
      closed ??= (async () => {
        handOver();
        const written = await early?.discard();
        release();
        return written && early ? unrecordedSnapshotNote(written, early.job.name) : null;
      })();
      return closed;
    },
  };
  try {
    const cache = await readConfigCache(dataDir, local.device.id);
    if (!cache.ok) return result;
    cachedJson = comparable(cache.config);
    const job = findJobByRef(cache.config.jobs, jobRef);
    if (!job) return result;
    if (local.embedded) {
      // An agent holding the embedded database runs the backup itself (backup.ts asks it).
      const holder = readPgliteLock(embeddedDataDir(dataDir));
      if (holder && holder.pid !== process.pid && pidAliveOnThisHost(holder.pid)) return result;
    }
    const restic = await cachedResticVersion(local.client.restic_binary, dataDir);
    const lock = acquireJobLock(dataDir, job.id, currentOwner());
    if (!lock.ok) return result;
    if (lock.unlockedBecause) {
      lock.release(); // the run itself says why it goes on without the lock
      return result;
    }
    release = lock.release;
    // Listening before the start: a signal in between must not leave restic running alone.
    signalsOn = true;
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    early = await EarlyBackup.start(job, restic, { dataDir });
    if (!early) {
      handOver();
      release();
      release = () => undefined;
      return result;
    }
    result.early = early;
    return result;
  } catch {
    await result.close();
    return result;
  }
}

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
import fs from 'node:fs';
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
import { configCachePath, readConfigCache, writeConfigCache } from '../sync/config-cache.js';
import { cachedResticVersion } from './restic-version-cache.js';

/** What the early start did; `close` always runs when the command ends. */
export interface EarlyStart {
  /** The restic started, or null. */
  early: EarlyBackup | null;
  /**
   * True once Ctrl-C or SIGTERM came before the run took over: the command then records no run
   * (the signal handler stops restic, releases the job lock and exits 130).
   */
  readonly cancelled: boolean;
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
/** Longest wait for the early start itself (source checks, the repository's locks folder), ms. */
const START_WAIT_MS = 2000;

/**
 * Whether `file` belongs to this user and no one else may write it (POSIX; on Windows the data
 * folder's ACL, set at install, is what protects it). A missing file counts as ours when
 * `missingOk` (about to be written).
 */
function ownedByUs(file: string, missingOk: boolean): boolean {
  if (process.platform === 'win32' || typeof process.getuid !== 'function') return true;
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st) return missingOk;
  return st.uid === process.getuid() && (st.mode & 0o022) === 0;
}

/**
 * Start restic for `jobRef` from the cached config, if it can be done safely (module doc).
 * Never rejects.
 */
export async function startEarlyBackup(local: LocalConfig, jobRef: string): Promise<EarlyStart> {
  const dataDir = path.resolve(local.dataDir);
  const cacheFile = configCachePath(dataDir);
  let cachedJson: string | null = null;
  let release = (): void => undefined;
  let early: EarlyBackup | null = null;
  let cancelled = false;
  let signalsOn = false;
  // A signal before the run takes over: stop restic (bounded: discard), release the lock, exit 130.
  // Repeated signals meanwhile are swallowed: the default handler would kill this process and
  // leave restic, in its own process group, running alone.
  const onSignal = (): void => {
    if (cancelled) return;
    cancelled = true;
    void (async () => {
      const note = await result.close();
      if (note) console.error(`rbackup2: ${note}`);
      process.exit(INTERRUPTED_EXIT);
    })();
  };
  const signalsOff = (): void => {
    if (!signalsOn) return;
    signalsOn = false;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  let closed: Promise<string | null> | null = null;
  const result: EarlyStart = {
    early: null,
    get cancelled() {
      return cancelled;
    },
    handOver: signalsOff,
    async remember(config) {
      const json = comparable(config);
      if (json === cachedJson || !ownedByUs(cacheFile, true)) return;
      try {
        await writeConfigCache(dataDir, config, new Date());
        cachedJson = json;
      } catch {
        // read-only or full data folder: the next command starts restic after the database
      }
    },
    close() {
      closed ??= (async () => {
        const written = await early?.discard();
        release();
        release = () => undefined;
        signalsOff(); // only now: a signal while restic stops must not kill this process
        return written && early ? unrecordedSnapshotNote(written, early.job.name) : null;
      })();
      return closed;
    },
  };
  try {
    // The copy chooses what this process runs (restic's argv and environment): only one written
    // by this user and by no one else is trusted (the agent trusts it only when the database is away).
    if (!ownedByUs(cacheFile, false)) return result;
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
    // Bounded: a source path or repository on a hung mount must not hold the database back.
    let wanted = true;
    const started = EarlyBackup.start(job, restic, { dataDir, stillWanted: () => wanted });
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), START_WAIT_MS)));
    early = await Promise.race([started, gaveUp]);
    clearTimeout(timer);
    wanted = false;
    // Started after all (cannot happen: stillWanted is asked in the same turn as the spawn): stop it.
    void started.then((late) => (late && late !== early ? late.discard() : null));
    if (!early) {
      release();
      release = () => undefined;
      signalsOff();
      return result;
    }
    result.early = early;
    return result;
  } catch {
    await result.close();
    return result;
  }
}

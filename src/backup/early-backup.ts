/**
 * A `restic backup` started before its run is recorded (issues 13 and 21): the one-shot
 * `rbackup2 backup JOB` starts restic from the last-known-good device config while the database
 * opens, because restic spends its first ~0.5 s deriving the repository key (scrypt, restic
 * docs "Design: keys") and opening a database costs 0.2-0.6 s: the two overlap instead of adding up.
 *
 * The process is only a candidate until the run adopts it: runBackup (run-backup.ts) takes it
 * over when the job read from the database gives exactly the same argv and environment, else it
 * is cancelled (SIGINT, restic's own clean stop) and waited for before the run starts its own
 * restic. Its output goes into the run's own parser from the first byte, so an adopted process
 * loses nothing. Started only when the job has no start hooks (they must run before restic) and a
 * local repository shows no locks (the lock handling of run-backup.ts would need a restic call
 * before the backup).
 */
import { systemClock, type Clock } from '../clock.js';
import type { JobConfig } from '../config/device-config.js';
import { BackupOutputParser, type ProgressEvent } from '../restic/backup-output.js';
import { spawnProcess, type SpawnedProcess } from '../restic/spawn.js';
import type { ResticVersion } from '../restic/version.js';
import { localRepositoryHasNoLocks } from './local-locks.js';
import { lowerPriority, prepareBackupCommand } from './run-backup.js';

/** Where an adopted process's output goes from the moment it is adopted. */
export interface AdoptHandlers {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  onProgress(p: ProgressEvent): void;
}

/** The process handed to the run, with the parser that has read its output so far. */
export interface AdoptedRestic {
  child: SpawnedProcess;
  parser: BackupOutputParser;
  /** True when restic printed anything before it was adopted. */
  outputSeen: boolean;
}

/** SIGINT -> SIGKILL grace of a candidate that is not adopted, seconds. */
const DISCARD_GRACE_SECONDS = 10;
/** How long a discard waits for restic's first output before its SIGINT, ms (see discard). */
const LOCK_WRITE_WAIT_MS = 5000;

export class EarlyBackup {
  private handlers: AdoptHandlers | null = null;
  private adopted = false;
  private discarded: Promise<string | null> | null = null;
  private seen = false;
  private firstOutput: () => void = () => undefined;
  private readonly outputSeen = new Promise<void>((resolve) => (this.firstOutput = resolve));
  readonly parser: BackupOutputParser;
  readonly child: SpawnedProcess;

  private constructor(
    /** The job as the cache gave it. */
    readonly job: JobConfig,
    readonly args: readonly string[],
    readonly env: Readonly<Record<string, string>>,
    /** Wall-clock and monotonic start, ms (the run's start when adopted). */
    readonly startedAt: number,
    readonly startedMono: number,
    spawn: (onStdout: (d: Buffer) => void, onStderr: (d: Buffer) => void) => SpawnedProcess,
  ) {
    this.parser = new BackupOutputParser({ onProgress: (p) => this.handlers?.onProgress(p) });
    this.child = spawn(
      (d) => {
        this.seen = true;
        this.firstOutput();
        this.parser.pushStdout(d);
        this.handlers?.onStdout(d);
      },
      (d) => {
        this.parser.pushStderr(d);
        this.handlers?.onStderr(d);
      },
    );
    lowerPriority(this.child.pid);
  }

  /**
   * Start restic for `job` now, or null when it should not start early (start hooks, a job that
   * cannot run, a repository that is not local or shows locks, anything unexpected). Never throws.
   * The caller holds the job's cross-process lock (C33) before calling and until the run ends.
   */
  static async start(
    job: JobConfig,
    restic: { path: string; version: ResticVersion },
    o: {
      dataDir: string;
      platform?: NodeJS.Platform;
      agentEnv?: Readonly<Record<string, string | undefined>>;
      hostname?: string;
      clock?: Clock;
    },
  ): Promise<EarlyBackup | null> {
    try {
      if (job.hooks.some((h) => h.enabled && h.timing === 'start')) return null;
      const platform = o.platform ?? process.platform;
      const prepared = await prepareBackupCommand(job, restic, {
        dataDir: o.dataDir,
        agentEnv: o.agentEnv ?? process.env,
        platform,
        ...(o.hostname !== undefined ? { hostname: o.hostname } : {}),
      });
      if (!prepared.ok || !(await localRepositoryHasNoLocks(prepared.repository.url.trim(), platform))) return null;
      const clock = o.clock ?? systemClock;
      const { args, env } = prepared;
      return new EarlyBackup(job, args, env, clock.now(), clock.monotonic(), (onStdout, onStderr) =>
        spawnProcess({
          command: restic.path,
          args,
          env,
          clock,
          platform,
          cwd: o.dataDir,
          processGroup: true,
          killGroupOnExit: true,
          onStdout,
          onStderr,
        }),
      );
    } catch {
      return null;
    }
  }

  /**
   * Hand the process to the run when it runs exactly `args` with exactly `env`; null otherwise
   * (the caller then discards it). Once only.
   */
  adopt(args: readonly string[], env: Readonly<Record<string, string>>, handlers: AdoptHandlers): AdoptedRestic | null {
    if (this.adopted || this.discarded || !this.matches(args, env)) return null;
    this.adopted = true;
    this.handlers = handlers;
    return { child: this.child, parser: this.parser, outputSeen: this.seen };
  }

  /** Whether the process runs exactly `args` with exactly `env`. */
  matches(args: readonly string[], env: Readonly<Record<string, string>>): boolean {
    return sameArgv(this.args, args) && sameEnv(this.env, env);
  }

  /** Whether the run took the process over. */
  get isAdopted(): boolean {
    return this.adopted;
  }

  /**
   * Cancel the process unless it was adopted, and wait until it has exited (restic removes its lock
   * on SIGINT; SIGKILL after 10 s). As in run-backup.ts's attemptBackup, the SIGINT waits for
   * restic's first output (at most 5 s): restic 0.14 interrupted while writing its lock file leaves
   * an empty lock behind. Resolves with the snapshot restic still managed to write before it was
   * stopped (a small backup can end first), else null, for the caller to report: such a snapshot is
   * a real backup of the job as the cached config had it, but no run records it. Idempotent; never
   * rejects; null once adopted.
   */
  discard(clock: Clock = systemClock): Promise<string | null> {
    if (this.adopted) return Promise.resolve(null);
    this.discarded ??= (async () => {
      let stopWait = (): void => undefined;
      const timedOut = new Promise<void>((resolve) => (stopWait = clock.setTimer(resolve, LOCK_WRITE_WAIT_MS)));
      await Promise.race([this.outputSeen, timedOut, this.child.done]);
      stopWait();
      this.child.cancel(DISCARD_GRACE_SECONDS);
      const r = await this.child.done;
      this.parser.end();
      return r.exitCode === 0 || r.exitCode === 3 ? (this.parser.result().summary?.snapshotId ?? null) : null;
    })();
    return this.discarded;
  }
}

/** The sentence that reports a snapshot an early restic wrote before it was discarded. */
export function unrecordedSnapshotNote(snapshotId: string, jobName: string): string {
  return `restic, started from the cached config of job "${jobName}" before the database answered, finished snapshot ${snapshotId} before it could be stopped; that snapshot is a backup of the job as it was configured before, and no run records it.`;
}

function sameArgv(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameEnv(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/**
 * A `restic backup` started before its run is recorded (issues 13 and 21): the one-shot
 * `rbackup2 backup JOB` starts restic from the last-known-good device config while the database
 * opens, because restic spends its first ~0.5 s deriving the repository key (scrypt, restic
 * docs "Design: keys") and opening a database costs 0.2-0.6 s: the two overlap instead of adding up.
 *
 * The process is only a candidate until the run adopts it: runBackup (run-backup.ts) takes it
 * over when the job read from the database gives exactly the same restic binary, argv and
 * environment, else it is discarded and waited for before the run starts its own restic. Its output
 * goes into the run's own parser from the first byte, so an adopted process loses nothing.
 *
 * Discarding (the job changed since the copy, a cancel, an error): before its first output restic
 * has only derived the key, taken its lock and read the index (restic prints its first status line
 * ~0.7 s in, measured with 0.14), so the common case, a database that answers before that, stops it
 * before it has read a single source file: the process group is frozen (SIGSTOP), and if the
 * repository's `locks/` folder is still empty (it was before the start) restic has written
 * nothing and is killed. Otherwise it gets restic's own clean stop, SIGINT, once it has printed
 * (its lock is complete by then; see attemptBackup in run-backup.ts for why). A small job can
 * still end in between: its snapshot, of the job as the copy had it, is then reported, never
 * silently kept. Started only when the job has no start hooks (they must run before restic) and a
 * local repository shows no locks (the lock handling of run-backup.ts would need a restic call
 * before the backup). On Windows a discard ends the process tree (spawn.ts); the lock it may leave
 * is cleared by the next backup's stale-lock check.
 */
import { systemClock, type Clock } from '../clock.js';
import type { JobConfig } from '../config/device-config.js';
import { BackupOutputParser, type ProgressEvent } from '../restic/backup-output.js';
import { spawnProcess, type SpawnedProcess } from '../restic/spawn.js';
import type { ResticVersion } from '../restic/version.js';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { localRepositoryHasNoLocks, localRepositoryPath } from './local-locks.js';
import { lockWritten, prepareBackupCommand } from './run-backup.js';

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

export class EarlyBackup {
  private handlers: AdoptHandlers | null = null;
  private adopted = false;
  private discarded: Promise<string | null> | null = null;
  private noteTaken = false;
  private seen = false;
  private firstOutput: () => void = () => undefined;
  private readonly outputSeen = new Promise<void>((resolve) => (this.firstOutput = resolve));
  readonly parser: BackupOutputParser;
  readonly child: SpawnedProcess;

  private constructor(
    /** The job as the cache gave it. */
    readonly job: JobConfig,
    readonly resticPath: string,
    /** The local repository's `locks/` folder (empty when restic started). */
    private readonly locksDir: string,
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
    // Normal priority, as every backup of the one-shot command (run-backup.ts, `lowerPriority`).
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
      /** Asked right before the spawn: false = the caller stopped waiting (null, nothing started). */
      stillWanted?: () => boolean;
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
      if (!prepared.ok) return null;
      const url = prepared.repository.url.trim();
      const repoDir = localRepositoryPath(url, platform);
      if (repoDir === null || !(await localRepositoryHasNoLocks(url, platform))) return null;
      if (o.stillWanted && !o.stillWanted()) return null;
      const clock = o.clock ?? systemClock;
      const { args, env } = prepared;
      const locksDir = (platform === 'win32' ? path.win32 : path.posix).join(repoDir, 'locks');
      return new EarlyBackup(
        job,
        restic.path,
        locksDir,
        args,
        env,
        clock.now(),
        clock.monotonic(),
        (onStdout, onStderr) =>
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
  adopt(
    resticPath: string,
    args: readonly string[],
    env: Readonly<Record<string, string>>,
    handlers: AdoptHandlers,
  ): AdoptedRestic | null {
    if (this.adopted || this.discarded || !this.matches(resticPath, args, env)) return null;
    this.adopted = true;
    this.handlers = handlers;
    return { child: this.child, parser: this.parser, outputSeen: this.seen };
  }

  /** Whether the process is restic `resticPath` running exactly `args` with exactly `env`. */
  matches(resticPath: string, args: readonly string[], env: Readonly<Record<string, string>>): boolean {
    return this.resticPath === resticPath && sameArgv(this.args, args) && sameEnv(this.env, env);
  }

  /** Whether the run took the process over. */
  get isAdopted(): boolean {
    return this.adopted;
  }

  /**
   * Stop the process unless it was adopted, and wait until it has exited (module doc: frozen and
   * killed while it has written nothing, else SIGINT after its first output, at most 5 s, then
   * SIGKILL after 10 s). Resolves with the id of a snapshot restic still managed to write, for the
   * first caller only (it is reported once), else null. Idempotent; never rejects.
   */
  async discard(clock: Clock = systemClock): Promise<string | null> {
    if (this.adopted) return null;
    this.discarded ??= this.stop(clock);
    const written = await this.discarded;
    if (!written || this.noteTaken) return null;
    this.noteTaken = true;
    return written;
  }

  private async stop(clock: Clock): Promise<string | null> {
    if (!this.seen && (await this.killIfNothingWritten())) {
      await this.child.done;
      return null;
    }
    await lockWritten(clock, this.outputSeen, this.child).ready;
    this.child.cancel(DISCARD_GRACE_SECONDS);
    const r = await this.child.done;
    this.parser.end();
    return r.exitCode === 0 || r.exitCode === 3 ? (this.parser.result().summary?.snapshotId ?? null) : null;
  }

  /**
   * Freeze restic's process group; if the repository still has no lock, restic has written
   * nothing: kill it (true). Else let it go on (false). Not on Windows (no SIGSTOP).
   */
  private async killIfNothingWritten(): Promise<boolean> {
    const pid = this.child.pid;
    if (process.platform === 'win32' || pid === undefined || !signalGroup(pid, 'SIGSTOP')) return false;
    let empty = false;
    try {
      empty = (await readdir(this.locksDir)).length === 0;
    } catch {
      empty = false; // unreadable: restic may have a lock there; take the slow, clean way
    }
    signalGroup(pid, empty ? 'SIGKILL' : 'SIGCONT'); // SIGKILL ends a stopped process too
    return empty;
  }
}

/** Send `signal` to the process group `pid`; false when it is gone. */
function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
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

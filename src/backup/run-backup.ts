/**
 * One backup run, end to end, up to an in-memory BackupResult (recording it in the DB is the
 * caller's job): start hooks, stale-lock handling (C06), `restic backup --json`, parse, classify,
 * wait for a live lock within a bound, end hooks. Never throws for run failures: they become a
 * `failed` / `cancelled` result with one clear sentence.
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sleep, systemClock, type Clock } from '../clock.js';
import type { JobConfig } from '../config/device-config.js';
import { errorMessage, isAppError } from '../errors.js';
import { ActiveRepositories } from './active-repositories.js';
import { formatErrorItems, formatOutputTail, statsFrom, type BackupResult } from './backup-result.js';
import { buildBackupArgs } from './command.js';
import { baseChildEnv, resticEnv } from '../restic/environment.js';
import { connectionFromRepository, type RepositoryConnection } from '../restic/connection.js';
import { isResticError } from '../restic/errors.js';
import type { CallOptions } from '../restic/runner.js';
import { snapshots } from '../restic/snapshots.js';
import { runHooks, type HookResult } from './hooks.js';
import { localRepositoryHasNoLocks } from './local-locks.js';
import { clearStaleLocks, lockCommands, pidAliveOnThisHost, type LockCommands } from './locks.js';
import { classifyOutcome, type ErrorKind, type Outcome } from './outcome.js';
import { BackupOutputParser, type ParsedOutput, type ProgressEvent } from '../restic/backup-output.js';
import { normalizeSourcePaths, type NormalizedSources } from './paths.js';
import { formatVersion, supports, type ResticVersion } from '../restic/version.js';
import { checkSources, emptySourceMessage, type SourceCheck } from './source-check.js';
import { sftpCommandArgs } from '../restic/sftp-command.js';
import { spawnProcess, type SpawnedProcess } from '../restic/spawn.js';
import { unrecordedSnapshotNote, type EarlyBackup } from './early-backup.js';
import { redactRepositoryUrl, StallWatchdog, type WatchdogReason } from './watchdog.js';

/** Minimal logger (pino-compatible). Never given secrets. */
export interface BackupLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RunBackupOptions {
  job: JobConfig;
  restic: { path: string; version: ResticVersion };
  /** client.data_dir (made absolute here). */
  dataDir: string;
  hostname?: string;
  signal?: AbortSignal;
  onProgress?: (p: ProgressEvent) => void;
  clock?: Clock;
  logger?: BackupLogger;
  /** The app's registry; a private one is used when absent (tests). */
  activeRepositories?: ActiveRepositories;
  /** The agent's environment (default process.env); RESTIC_* in it is never passed on. */
  agentEnv?: Readonly<Record<string, string | undefined>>;
  platform?: NodeJS.Platform;
  /** How long to wait for a live lock held by someone else, seconds (default 120). */
  lockWaitSeconds?: number;
  /** Pause between attempts while waiting for a lock on restic < 0.16, seconds (default 10). */
  lockRetryDelaySeconds?: number;
  /** SIGINT -> SIGKILL grace when cancelled, seconds (default 30). */
  cancelGraceSeconds?: number;
  hookTimeoutSeconds?: number;
  pidAlive?: (pid: number) => boolean;
  /** Seconds without progress before the backup is stopped as stalled (C27; default 1800). */
  stallTimeoutSeconds?: number;
  /** Hard limit of one restic backup, seconds; 0 = none (default). */
  backupTimeoutSeconds?: number;
  /**
   * After a snapshot was written, check with `restic snapshots --json --no-lock <id>` that it
   * carries `backup:<job uuid>` (C30). The running agent sets it; the one-shot CLI does not (one
   * restic process per backup there).
   */
  verifySnapshotTag?: boolean;
  /**
   * Files of the job's last successful backup (C28), or null when unknown / none; may still be
   * on its way (read only after restic ends).
   */
  previousFiles?: number | null | Promise<number | null>;
  /** Upper bound of each short restic call (list locks, cat lock, unlock), seconds (default 120). */
  resticCallTimeoutSeconds?: number;
  /**
   * A restic started before the run (early-backup.ts, the one-shot CLI): taken over as the first
   * attempt when it runs exactly this backup's argv and environment, else discarded (cancelled and
   * waited for) before anything else touches the repository. The run's start is the process's.
   */
  early?: EarlyBackup | undefined;
  /**
   * Run restic below normal priority (default true): the agent's backups run in the background of
   * someone's computer. The one-shot `rbackup2 backup` runs it at normal priority, as restic typed
   * by hand would (the user waits for it; `nice rbackup2 backup` for a background one): niced, its
   * restic also yields to the command's own database start it overlaps (bench/cli.mjs on 2 cores:
   * 1.28-1.38x bare restic niced, 1.13-1.17x not).
   */
  lowerPriority?: boolean;
}

/** Default of the `stall_timeout_seconds` setting. */
export const DEFAULT_STALL_TIMEOUT_SECONDS = 1800;

const MAX_ATTEMPTS = 50;
/** Bound of each lock check restic call after a cancel, seconds. */
const CANCELLED_CHECK_SECONDS = 10;
/** How long a cancel before restic's first output waits for it (see attemptBackup), ms. */
const LOCK_WRITE_WAIT_MS = 5000;

/**
 * The moment a cancel may interrupt restic `child` (attemptBackup explains why): its first output
 * (`outputSeen`), its exit, or 5 s, whichever comes first. `stop` ends the wait's timer early (the
 * child exited). Used by the run's cancel and by early-backup.ts's discard.
 */
export function lockWritten(
  clock: Clock,
  outputSeen: Promise<void>,
  child: SpawnedProcess,
): { ready: Promise<void>; stop: () => void } {
  let stop = (): void => undefined;
  const timedOut = new Promise<void>((resolve) => (stop = clock.setTimer(resolve, LOCK_WRITE_WAIT_MS)));
  return { ready: Promise.race([outputSeen, timedOut, child.done]).then(() => stop()), stop: () => stop() };
}

interface Attempt {
  parsed: ParsedOutput;
  outcome: Outcome;
  exitCode: number | null;
}

/** Run one backup of `opts.job`; see the module doc. Resolves with the result; never rejects. */
export async function runBackup(opts: RunBackupOptions): Promise<BackupResult> {
  const clock = opts.clock ?? systemClock;
  const startWall = opts.early?.startedAt ?? clock.now();
  const startMono = opts.early?.startedMono ?? clock.monotonic();
  const { job, restic } = opts;
  const platform = opts.platform ?? process.platform;
  const agentEnv = opts.agentEnv ?? process.env;
  const dataDir = path.resolve(opts.dataDir);
  const warnings: string[] = [];
  const hookResults: HookResult[] = [];
  let args: string[] = [];
  let attempts = 0;
  let last: Attempt | null = null;

  const finish = (outcome: Outcome): BackupResult => {
    const parsed = last?.parsed ?? null;
    return {
      jobId: job.id,
      status: outcome.status,
      errorKind: outcome.errorKind,
      exitCode: last?.exitCode ?? null,
      errorMessage: outcome.errorMessage,
      startTime: new Date(startWall).toISOString(),
      endTime: new Date(clock.now()).toISOString(),
      ...statsFrom(parsed, outcome),
      durationSeconds: Math.max(0, (clock.monotonic() - startMono) / 1000),
      resticOutput: parsed ? formatOutputTail(parsed) : '',
      resticErrors: parsed ? formatErrorItems(parsed.errors, parsed.errorCount) : '',
      errorItems: parsed?.errors ?? [],
      errorCount: parsed?.errorCount ?? 0,
      warnings: [...warnings, ...outcome.warnings],
      unreadablePaths: outcome.unreadablePaths,
      hooks: hookResults,
      attempts,
      resticVersion: formatVersion(restic.version),
      args,
      ...(attempts > 0 ? { resticHost: hostOf(args) } : {}),
    };
  };
  const fail = (kind: ErrorKind, message: string): BackupResult =>
    finish({
      status: kind === 'cancelled' ? 'cancelled' : 'failed',
      errorKind: kind,
      errorMessage: message,
      warnings: [],
      unreadablePaths: [],
    });

  const prepared = await prepareBackupCommand(job, restic, {
    dataDir,
    agentEnv,
    platform,
    ...(opts.hostname !== undefined ? { hostname: opts.hostname } : {}),
    lockWaitSeconds: opts.lockWaitSeconds,
  });
  warnings.push(...prepared.warnings);
  if (!prepared.ok) {
    const written = await opts.early?.discard(clock);
    if (written) warnings.push(unrecordedSnapshotNote(written, job.name));
    return fail(prepared.kind, prepared.message);
  }
  const { conn, sources, onDisk, env } = prepared;
  const repo = prepared.repository;
  args = prepared.args;
  const lockWait = Math.max(0, opts.lockWaitSeconds ?? 120);
  const active = opts.activeRepositories ?? new ActiveRepositories();
  const repoKey = repo.url.trim();
  let token: symbol | undefined;
  const baseEnv = baseChildEnv(agentEnv);
  const runEnv: Record<string, string> = {
    RBACKUP2_JOB_ID: job.id,
    RBACKUP2_JOB_NAME: job.name,
    RBACKUP2_SOURCE_PATHS: JSON.stringify(sources.paths),
    RBACKUP2_REPOSITORY_NAME: repo.name,
  };
  const hookOpts = { baseEnv, timeoutSeconds: opts.hookTimeoutSeconds ?? 3600, clock, platform, cwd: dataDir };
  const stallSeconds = Math.max(1, opts.stallTimeoutSeconds ?? DEFAULT_STALL_TIMEOUT_SECONDS);
  const callTimeout = Math.min(opts.resticCallTimeoutSeconds ?? 120, stallSeconds);
  const where = redactRepositoryUrl(repo.url);
  let callTimedOut = false;
  // Every short restic call is bounded, runs in its own process group and ends with a cancel (C27, C35).
  const callOptions = (timeoutSeconds: number, signal?: AbortSignal): CallOptions => ({
    clock,
    platform,
    timeoutSeconds,
    ...(signal ? { signal } : {}),
  });
  /** The lock commands of this repository; a time-out of any of them is remembered (callTimedOut). */
  const makeLocks = (timeoutSeconds: number, signal?: AbortSignal): LockCommands => {
    const inner = lockCommands(conn, callOptions(timeoutSeconds, signal));
    const noteTimeout = <T>(p: Promise<T>): Promise<T> =>
      p.catch((err: unknown) => {
        if (isResticError(err, 'timed_out')) callTimedOut = true;
        throw err;
      });
    return {
      list: () => noteTimeout(inner.list()),
      cat: (id) => noteTimeout(inner.cat(id)),
      unlock: () => noteTimeout(inner.unlock()),
    };
  };
  const runner = makeLocks(callTimeout, opts.signal);
  const stalledCall = (what: string) =>
    fail(
      'stalled',
      `restic did not answer within ${callTimeout} s while ${what} on repository ${where}; the backup was stopped (is the repository reachable?).`,
    );
  const staleCtx = () => ({
    now: clock.now(),
    hostname: opts.hostname ?? os.hostname(),
    pidAlive: opts.pidAlive ?? pidAliveOnThisHost,
    ourResticRunning: active.othersRunning(repoKey, token),
  });
  let outcome: Outcome;
  // A restic started early (the one-shot CLI) runs this very backup only when the argv and the
  // environment are the same and no start hook has to run first; else it goes before anything else.
  let early = opts.early ?? null;
  const discardEarly = async (): Promise<void> => {
    const written = await early?.discard(clock);
    if (written) warnings.push(unrecordedSnapshotNote(written, job.name));
    early = null;
  };
  try {
    const hasStartHooks = job.hooks.some((h) => h.enabled && h.timing === 'start');
    if (early && (hasStartHooks || opts.signal?.aborted || !early.matches(restic.path, args, env)))
      await discardEarly();
    if (opts.signal?.aborted) return fail('cancelled', 'The backup was cancelled before restic started.');
    const start = await runHooks(job.hooks, 'start', { ...hookOpts, runEnv });
    hookResults.push(...start.results);
    warnings.push(...start.warnings);
    if (start.stop) return fail('hook_failed', start.stopMessage ?? 'A start hook failed.');
    if (opts.signal?.aborted) {
      await discardEarly();
      return fail('cancelled', 'The backup was cancelled before restic started.');
    }
    await mkdir(dataDir, { recursive: true });

    // An empty locks/ folder of a local repository needs no `restic list locks` (local-locks.ts);
    // an early restic was started only after the same check.
    const pre =
      early !== null || (await localRepositoryHasNoLocks(repoKey, platform))
        ? null
        : await active.serialize(repoKey, () => clearStaleLocks(runner, staleCtx()));
    if (callTimedOut) return stalledCall('listing its locks');
    if (opts.signal?.aborted) {
      await discardEarly();
      return fail('cancelled', 'The backup was cancelled before restic started.');
    }
    if (pre && (pre.unlocked || pre.notes.length > 0)) warnings.push(...pre.notes);
    let deadline: number | null = null;
    for (;;) {
      attempts++;
      token = active.enter(repoKey); // a restic of ours now uses the repository (C06: no unlock by others meanwhile)
      try {
        const first = early;
        early = null;
        last = await attemptBackup(opts, clock, env, args, platform, dataDir, stallSeconds, where, first);
      } finally {
        active.leave(token);
        token = undefined;
      }
      outcome = last.outcome;
      if (outcome.errorKind !== 'locked' || opts.signal?.aborted || attempts >= MAX_ATTEMPTS) break;
      const report = await active.serialize(repoKey, () => clearStaleLocks(runner, staleCtx()));
      if (callTimedOut) return stalledCall('checking its locks');
      warnings.push(...report.notes);
      if (report.unlocked) continue;
      deadline ??= clock.monotonic() + lockWait * 1000;
      if (supports(restic.version, 'retry-lock') || clock.monotonic() >= deadline) break;
      opts.logger?.info({ jobId: job.id, live: report.live.length }, 'repository locked by a live process; waiting');
      await sleep(
        clock,
        Math.min((opts.lockRetryDelaySeconds ?? 10) * 1000, Math.max(0, deadline - clock.monotonic())),
        opts.signal,
      );
      if (opts.signal?.aborted) break;
    }
    // Check the locks again after the backup when they may have become stale meanwhile:
    // - cancelled: restic 0.14 interrupted right after creating its lock exits 130 and leaves the
    //   lock behind (seen in the C07 test); a SIGKILL after the grace period always does;
    // - a lock of this host looked live before: a restic killed with its agent can still exist as
    //   an unreaped process for a moment, so by restic's rule (same host, PID exists) its lock was
    //   not stale yet; a backup (non-exclusive lock) still runs beside it, and by now it is.
    const thisHost = opts.hostname ?? os.hostname();
    const unanswered = callTimedOut || outcome.errorKind === 'stalled' || outcome.errorKind === 'timed_out';
    const recheck =
      !unanswered &&
      (outcome.status === 'cancelled' ||
        (pre !== null && (pre.unreadable.length > 0 || pre.live.some((l) => l.hostname === thisHost))));
    // After a cancel (shutdown) the check is short: a stop must end within its time-out plus a bounded grace.
    const checkRunner = makeLocks(opts.signal?.aborted ? Math.min(callTimeout, CANCELLED_CHECK_SECONDS) : callTimeout);
    if (recheck) {
      let post = await active.serialize(repoKey, () => clearStaleLocks(checkRunner, staleCtx()));
      if (post.unreadable.length > 0) {
        // A lock file still being written when restic died reads as garbage for a moment.
        await sleep(clock, 1000);
        post = await active.serialize(repoKey, () => clearStaleLocks(checkRunner, staleCtx()));
      }
      opts.logger?.info(
        { jobId: job.id, stale: post.stale.length, live: post.live.length, unreadable: post.unreadable.length },
        'lock check after the backup',
      );
      warnings.push(...post.notes);
    }
    const snapshotId = last.parsed.summary?.snapshotId;
    if (opts.verifySnapshotTag && snapshotId && (outcome.status === 'success' || outcome.status === 'partial')) {
      const note = await snapshotTagProblem(
        conn,
        callOptions(callTimeout, opts.signal),
        snapshotId,
        `backup:${job.id}`,
      );
      if (note) {
        warnings.push(note);
        opts.logger?.warn({ jobId: job.id, snapshotId }, note);
      }
    }
    const previousFiles = (await opts.previousFiles) ?? 0;
    if (outcome.status === 'success' && onDisk.emptyFolders.length > 0 && previousFiles > 0) {
      outcome = {
        ...outcome,
        status: 'partial',
        errorKind: 'empty_source',
        errorMessage: emptySourceMessage(onDisk.emptyFolders, previousFiles),
      };
    }
    if (outcome.errorKind === 'locked' && attempts > 1)
      outcome = { ...outcome, errorMessage: `${outcome.errorMessage?.replace(/\.$/, '')} (waited ${lockWait} s).` };

    const end = await runHooks(job.hooks, 'end', {
      ...hookOpts,
      runEnv: {
        ...runEnv,
        RBACKUP2_RUN_STATUS: outcome.status,
        RBACKUP2_SNAPSHOT_ID: last.parsed.summary?.snapshotId ?? '',
        RBACKUP2_EXIT_CODE: last.exitCode === null ? '' : String(last.exitCode),
        RBACKUP2_ERROR_MESSAGE: outcome.errorMessage ?? '',
      },
    });
    hookResults.push(...end.results);
    warnings.push(...end.warnings);
  } catch (err) {
    opts.logger?.warn({ jobId: job.id, err: errorMessage(err) }, 'backup run failed unexpectedly');
    return fail('unknown', `The backup failed unexpectedly: ${errorMessage(err)}.`);
  } finally {
    if (token) active.leave(token);
    // An unexpected error before the first attempt: the early restic is not left running.
    const written = await early?.discard(clock);
    if (written) opts.logger?.warn({ jobId: job.id, snapshotId: written }, unrecordedSnapshotNote(written, job.name));
  }
  const result = finish(outcome);
  return result;
}

/** The restic command of one backup of a job, as runBackup and an early start (early-backup.ts) build it. */
export type PreparedBackup =
  | {
      ok: true;
      repository: NonNullable<JobConfig['repository']>;
      conn: RepositoryConnection;
      /** The job's source paths, normalised (paths.ts). */
      sources: NormalizedSources;
      /** What checkSources found of them on disk (only existing paths go to restic). */
      onDisk: SourceCheck;
      /** restic's argv (sftp command first, when any). */
      args: string[];
      /** restic's environment (RESTIC_* of the repository; secrets live only here). */
      env: Record<string, string>;
      warnings: string[];
    }
  | { ok: false; kind: ErrorKind; message: string; warnings: string[] };

/**
 * The argv and environment of `restic backup` for `job`: normalised source paths (those missing on
 * disk left out), the repository's connection, `--host` (the job's restic host, else `hostname`,
 * else this computer's name), `--retry-lock` of `lockWaitSeconds` (default 120) where restic has
 * it. Pure but for reading the sources' state on disk (not on Windows). Never throws: a job that
 * cannot start restic gives `ok: false` with the run's error kind and one sentence.
 */
export async function prepareBackupCommand(
  job: JobConfig,
  restic: { path: string; version: ResticVersion },
  o: {
    dataDir: string;
    agentEnv: Readonly<Record<string, string | undefined>>;
    platform: NodeJS.Platform;
    hostname?: string;
    lockWaitSeconds?: number | undefined;
  },
): Promise<PreparedBackup> {
  const warnings: string[] = [];
  const repo = job.repository;
  if (!repo || !repo.url.trim())
    return {
      ok: false,
      kind: 'repository_not_configured',
      message: `Job "${job.name}" has no repository configured (set repository_url or the job's repository).`,
      warnings,
    };
  const sources = normalizeSourcePaths(job.sourcePaths, o.platform === 'win32' ? 'win32' : 'posix');
  warnings.push(...sources.warnings);
  if (sources.errors.length > 0 || sources.paths.length === 0) {
    return {
      ok: false,
      kind: 'invalid_source',
      message: sources.errors[0] ? `${sources.errors.join('; ')}.` : `Job "${job.name}" has no source paths.`,
      warnings,
    };
  }
  let conn: RepositoryConnection;
  try {
    conn = connectionFromRepository(repo, {
      resticBinary: restic.path,
      version: restic.version,
      dataDir: o.dataDir,
      agentEnv: o.agentEnv,
      cwd: o.dataDir,
    });
  } catch (err) {
    return {
      ok: false,
      kind: isAppError(err) && /password/.test(err.message) ? 'password_missing' : 'repository_not_configured',
      message: `${errorMessage(err)}.`,
      warnings,
    };
  }
  const onDisk =
    o.platform === 'win32'
      ? { paths: sources.paths, warnings: [], emptyFolders: [] }
      : await checkSources(sources.paths);
  warnings.push(...onDisk.warnings);
  const built = buildBackupArgs(job, restic.version, {
    sourcePaths: onDisk.paths,
    retryLockSeconds: Math.max(0, o.lockWaitSeconds ?? 120),
    host: job.resticHost?.trim() || (o.hostname ?? os.hostname()),
  });
  warnings.push(...built.removed.map((r) => `Ignored restic argument: ${r}.`));
  return {
    ok: true,
    repository: repo,
    conn,
    sources,
    onDisk,
    args: [...sftpCommandArgs(repo.url), ...built.args],
    env: resticEnv(conn),
    warnings,
  };
}

/** Why snapshot `id` is not tagged `tag` (one sentence), or null when it is. */
async function snapshotTagProblem(
  conn: RepositoryConnection,
  call: CallOptions,
  id: string,
  tag: string,
): Promise<string | null> {
  try {
    const list = await snapshots(conn, { ids: [id] }, call);
    return list.some((s) => s.tags.includes(tag))
      ? null
      : `The snapshot ${id} does not carry the tag ${tag}; rbackup2 will not recognise it as this job's.`;
  } catch {
    return `The snapshot ${id} could not be checked for its tag ${tag}.`;
  }
}

/** The --host value in `args` (ours or one from restic_args). */
function hostOf(args: readonly string[]): string {
  const i = args.indexOf('--host');
  if (i >= 0 && args[i + 1]) return args[i + 1] as string;
  const eq = args.find((a) => a.startsWith('--host='));
  return eq ? eq.slice('--host='.length) : os.hostname();
}

/**
 * A backup runs in the background of someone's computer: restic gets a lower CPU priority (nice
 * 10; Windows "below normal") so the user's programs and the agent's own UI stay responsive.
 */
function lowerPriority(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    os.setPriority(pid, os.constants.priority.PRIORITY_BELOW_NORMAL);
  } catch {
    // not permitted or already gone: the backup runs at normal priority
  }
}

async function attemptBackup(
  opts: RunBackupOptions,
  clock: Clock,
  env: Record<string, string>,
  args: string[],
  platform: NodeJS.Platform,
  cwd: string,
  stallSeconds: number,
  where: string,
  early: EarlyBackup | null,
): Promise<Attempt> {
  let watchdog: StallWatchdog | null = null;
  const grace = opts.cancelGraceSeconds ?? 30;
  // restic writes its lock file right after opening the repository and prints its first status
  // line only later; a SIGINT in between makes restic 0.14 exit from its signal handler while the
  // lock file is still being written, leaving an empty lock that `restic unlock` never removes
  // (restic 0.14 ignores it; 0.15+ refuses every later command until `unlock --remove-all`).
  // So a cancel before restic's first output waits for that output, at most LOCK_WRITE_WAIT_MS.
  let firstOutput = (): void => undefined;
  const outputSeen = new Promise<void>((resolve) => (firstOutput = resolve));
  const onProgress = (p: ProgressEvent): void => {
    watchdog?.progress(p);
    opts.onProgress?.(p);
  };
  const onStdout = (d: Buffer): void => {
    firstOutput();
    if (!isOnlyStatus(d)) watchdog?.activity();
  };
  const onStderr = (): void => watchdog?.activity();
  let parser: BackupOutputParser;
  let child: SpawnedProcess;
  const adopted = early?.adopt(opts.restic.path, args, env, { onStdout, onStderr, onProgress }) ?? null;
  if (adopted) {
    ({ parser, child } = adopted);
    if (adopted.outputSeen) firstOutput();
  } else {
    const written = await early?.discard(clock);
    if (written)
      opts.logger?.warn({ jobId: opts.job.id, snapshotId: written }, unrecordedSnapshotNote(written, opts.job.name));
    const own = new BackupOutputParser({ onProgress });
    parser = own;
    child = spawnProcess({
      command: opts.restic.path,
      args,
      env,
      clock,
      platform,
      cwd,
      processGroup: true,
      killGroupOnExit: true,
      onStdout: (d) => {
        onStdout(d);
        own.pushStdout(d);
      },
      onStderr: (d) => {
        onStderr();
        own.pushStderr(d);
      },
    });
    if (opts.lowerPriority !== false) lowerPriority(child.pid);
  }
  watchdog = new StallWatchdog({
    clock,
    stallMs: stallSeconds * 1000,
    hardMs: Math.max(0, opts.backupTimeoutSeconds ?? 0) * 1000,
    onFire: (reason) => {
      opts.logger?.warn({ jobId: opts.job.id, reason, repository: where }, 'restic stopped by the watchdog');
      child.cancel(Math.min(grace, 10));
    },
  });
  let stopWait = (): void => undefined;
  const onAbort = () => {
    const wait = lockWritten(clock, outputSeen, child);
    stopWait = wait.stop;
    void wait.ready.then(() => child.cancel(grace));
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  const r = await child.done;
  stopWait();
  watchdog.stop();
  opts.signal?.removeEventListener('abort', onAbort);
  parser.end();
  const parsed = parser.result();
  const fired = watchdog.reason;
  const outcome = fired
    ? watchdogOutcome(fired, fired === 'stalled' ? stallSeconds : (opts.backupTimeoutSeconds ?? 0), where)
    : classifyOutcome({
        exitCode: r.exitCode,
        signal: r.signal,
        parsed,
        resticArgs: opts.job.resticArgs,
        spawnError: r.spawnError,
      });
  return { parsed, outcome, exitCode: r.exitCode };
}

/** A status line is `{"message_type":"status",...}`; anything else restic prints counts as activity. */
function isOnlyStatus(chunk: Buffer): boolean {
  const text = chunk.toString('utf8');
  return text.split('\n').every((l) => l.trim() === '' || l.includes('"message_type":"status"'));
}

/** The `failed` outcome of a backup the watchdog stopped (C27). */
function watchdogOutcome(reason: WatchdogReason, seconds: number, where: string): Outcome {
  const errorMessage =
    reason === 'stalled'
      ? `restic made no progress for ${seconds} s (stall_timeout_seconds) on repository ${where}; the backup was stopped as stalled (is the repository reachable?).`
      : `The backup ran longer than backup_timeout_seconds (${seconds} s) on repository ${where} and was stopped.`;
  return { status: 'failed', errorKind: reason, errorMessage, warnings: [], unreadablePaths: [] };
}

/**
 * Stall watchdog of a backup (case C27). restic 0.14 has no network time-outs: a repository that
 * accepts a connection and never answers keeps `restic backup` waiting for hours. The watchdog
 * fires when restic shows no progress for `stallMs` (the done/total counters of its status lines
 * do not move and it prints nothing else), or when the whole attempt exceeds `hardMs`.
 *
 * Time is measured with `clock.monotonic()` (performance.now(), i.e. libuv's uv_hrtime =
 * CLOCK_MONOTONIC on Linux, which stops while the machine is suspended), so a laptop that slept
 * for a night does not see a "stall" on wake-up. Timers are re-armed from the remaining
 * monotonic time, never trusted alone.
 */
import type { Clock } from '../clock.js';
import type { ProgressEvent } from '../restic/backup-output.js';

export type WatchdogReason = 'stalled' | 'timed_out';

export interface WatchdogOptions {
  clock: Clock;
  /** ms without progress before `onFire('stalled')`; > 0. */
  stallMs: number;
  /** ms for the whole attempt before `onFire('timed_out')`; 0 = no limit. */
  hardMs: number;
  onFire: (reason: WatchdogReason) => void;
}

/** Watches one restic process; call `stop()` when it ended. Fires at most once. */
export class StallWatchdog {
  private lastProgressAt: number;
  private readonly startedAt: number;
  private lastKey = '';
  private cancelTimer: (() => void) | null = null;
  private fired: WatchdogReason | null = null;
  private stopped = false;

  constructor(private readonly opts: WatchdogOptions) {
    this.startedAt = opts.clock.monotonic();
    this.lastProgressAt = this.startedAt;
    this.arm();
  }

  /** Why it fired, or null. */
  get reason(): WatchdogReason | null {
    return this.fired;
  }

  /** restic printed something that is not a status line (an error item, a summary, stderr text). */
  activity(): void {
    this.lastProgressAt = this.opts.clock.monotonic();
  }

  /** A status line: progress only when its counters differ from the last one's. */
  progress(p: ProgressEvent): void {
    const key = `${p.filesDone}/${p.bytesDone}/${p.totalFiles}/${p.totalBytes}/${p.errorCount}`;
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.activity();
  }

  /** Stop watching (the process ended). */
  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  private arm(): void {
    if (this.stopped || this.fired) return;
    const now = this.opts.clock.monotonic();
    const stallLeft = this.lastProgressAt + this.opts.stallMs - now;
    const hardLeft = this.opts.hardMs > 0 ? this.startedAt + this.opts.hardMs - now : Infinity;
    if (hardLeft <= 0) {
      this.fire('timed_out');
      return;
    }
    if (stallLeft <= 0) {
      this.fire('stalled');
      return;
    }
    const wait = Math.min(stallLeft, hardLeft); // a wait beyond one timer (clamped by the clock) re-arms
    this.cancelTimer = this.opts.clock.setTimer(
      () => {
        this.cancelTimer = null;
        this.arm();
      },
      Math.max(1, Math.ceil(wait)),
    );
  }

  private fire(reason: WatchdogReason): void {
    this.fired = reason;
    this.opts.onFire(reason);
  }
}

/**
 * A repository URL fit for a message: `user:password@` removed from URL forms, query strings
 * (which can carry keys) dropped. `rest:https://u:p@host/x?k=1` -> `rest:https://host/x`.
 */
export function redactRepositoryUrl(url: string): string {
  return url
    .trim()
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1')
    .replace(/\?.*$/, '');
}

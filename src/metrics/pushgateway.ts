/**
 * Pushes the device's metrics to a Prometheus Pushgateway, off the backup path (C16, C23).
 *
 * - One group per device: HTTP PUT of the whole exposition to
 *   `<url>/metrics/job/rbackup2/device/<deviceId>` (PUT replaces the group, so series of a deleted
 *   or renamed job vanish on the next push; Pushgateway README, "PUT method").
 * - Any 2xx is success (200; 202 with --push.disable-consistency-check; 204 from proxies).
 * - Each request is bounded by `timeoutSeconds` (AbortSignal.timeout), including a gateway that
 *   accepts the connection and never answers (push-http.ts).
 * - pushSoon() never waits: at most one push in flight plus one pending (later calls coalesce).
 * - Failures are logged once per outage: warn on the first, debug after, info on recovery.
 */
import { every, systemClock, type Clock, type Repeating } from '../clock.js';
import { deviceGroupTarget, type GroupTarget } from './pushgateway-url.js';
import { describeError, sendToGateway, type PushResult } from './push-http.js';

/** The logger calls the pusher makes (a pino Logger fits). */
export interface PushLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface PushgatewayOptions {
  /** Configured `metrics.prometheus_pushgateway`, e.g. `http://127.0.0.1:9091`. */
  url: string;
  /** `devices.id`; the `device` label of the grouping key. */
  deviceId: string;
  /** Per-request bound in seconds (default 5, clamped to 0.1..300). */
  timeoutSeconds?: number;
  /** Periodic push interval in seconds (default 60, clamped to 1..86400). */
  intervalSeconds?: number;
  logger: PushLogger;
  /** The body to PUT (text exposition format), e.g. `() => metrics.metricsText()`. */
  getBody: () => Promise<string>;
  clock?: Clock;
}

/** What the pusher knows about the gateway, for /status. */
export interface PushState {
  /** Unix ms of the last successful push, or null. */
  lastSuccessAt: number | null;
  /** Short description of the last failure (no credentials), or null after a success. */
  lastError: string | null;
  /** Failures since the last success (0 when healthy). */
  consecutiveFailures: number;
}

/** Pushgateway client of one device. Construction throws AppError CONFIG_INVALID for a bad URL. */
export class PushgatewayPusher {
  private readonly target: GroupTarget;
  private readonly timeoutMs: number;
  private readonly intervalMs: number;
  private readonly clock: Clock;
  private readonly stopAbort = new AbortController();
  private inFlight: Promise<void> | null = null;
  private pending = false;
  private stopped = false;
  private repeating: Repeating | null = null;
  private outageSince: number | null = null;
  private readonly st: PushState = { lastSuccessAt: null, lastError: null, consecutiveFailures: 0 };

  constructor(private readonly opts: PushgatewayOptions) {
    this.target = deviceGroupTarget(opts.url, opts.deviceId);
    this.timeoutMs = Math.round(clamp(opts.timeoutSeconds ?? 5, 0.1, 300) * 1000);
    this.intervalMs = Math.round(clamp(opts.intervalSeconds ?? 60, 1, 86_400) * 1000);
    this.clock = opts.clock ?? systemClock;
  }

  /** The group URL without credentials (for logs and /status). */
  get groupUrl(): string {
    return this.target.display;
  }

  /** A copy of the current push state. */
  state(): PushState {
    return { ...this.st };
  }

  /**
   * Ask for a push and return at once (never throws, never waits). If a push is in flight, one
   * more push follows it (with the body read then); further calls meanwhile add nothing.
   */
  pushSoon(): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.pending = true;
      return;
    }
    this.inFlight = this.loop()
      .catch(() => {}) // only a throwing logger gets here; never an unhandled rejection
      .finally(() => {
        this.inFlight = null;
      });
  }

  /** Resolves when no push is in flight or pending (each push is bounded by the timeout). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  /** pushSoon() then flush(); true when the last attempt succeeded. For a final push on stop. */
  async pushAndWait(): Promise<boolean> {
    this.pushSoon();
    await this.flush();
    return this.st.consecutiveFailures === 0 && this.st.lastSuccessAt !== null;
  }

  /** Push now and then every `intervalSeconds` until stop(). Calling it twice does nothing more. */
  start(): void {
    if (this.stopped || this.repeating) return;
    this.pushSoon();
    this.repeating = every(this.clock, this.intervalMs, () => this.pushSoon());
  }

  /**
   * Stop the timer and further pushes; wait for an in-flight push at most `graceSeconds`
   * (default: the request timeout), then abort it. Never throws.
   */
  async stop(graceSeconds?: number): Promise<void> {
    this.stopped = true;
    this.pending = false;
    void this.repeating?.stop();
    this.repeating = null;
    const current = this.inFlight;
    if (!current) return;
    const graceMs = Math.round(clamp(graceSeconds ?? this.timeoutMs / 1000, 0, 300) * 1000);
    let cancel: () => void = () => {};
    const expired = new Promise<void>((resolve) => {
      cancel = this.clock.setTimer(resolve, graceMs);
    });
    await Promise.race([current, expired]);
    cancel();
    this.stopAbort.abort();
    await current;
  }

  /**
   * Remove the device's whole group from the gateway (device removed). Stops the pusher first so
   * no later push re-creates it. Resolves true on a 2xx (the gateway answers 202); never throws.
   */
  async deleteGroup(): Promise<boolean> {
    await this.stop();
    const r = await this.request('DELETE', undefined, false);
    if (!r.ok)
      this.opts.logger.warn({ url: this.groupUrl, error: r.error }, 'Pushgateway: deleting the device group failed');
    return r.ok;
  }

  private async loop(): Promise<void> {
    await Promise.resolve(); // the caller of pushSoon() continues before any work is done
    do {
      this.pending = false;
      let r: PushResult;
      try {
        r = await this.request('PUT', await this.bodyWithin(this.timeoutMs));
      } catch (err) {
        r = { ok: false, error: `building the metrics failed: ${describeError(err)}` };
      }
      this.note(r);
    } while (this.pending && !this.stopped);
  }

  /** getBody(), bounded: a collector that never resolves must not stall every later push. */
  private async bodyWithin(ms: number): Promise<string> {
    let cancel: () => void = () => {};
    const late = new Promise<never>((_, reject) => {
      cancel = this.clock.setTimer(() => reject(new Error(`no body within ${ms / 1000} s`)), ms);
    });
    try {
      return await Promise.race([this.opts.getBody(), late]);
    } finally {
      cancel();
    }
  }

  private request(method: 'PUT' | 'DELETE', body: string | undefined, abortOnStop = true): Promise<PushResult> {
    return sendToGateway(this.target, method, body, this.timeoutMs, abortOnStop ? this.stopAbort.signal : null);
  }

  private note(r: PushResult): void {
    const log = this.opts.logger;
    if (r.ok) {
      if (this.outageSince !== null) {
        const downSeconds = Math.max(0, Math.round((this.clock.now() - this.outageSince) / 1000));
        log.info(
          { url: this.groupUrl, failedAttempts: this.st.consecutiveFailures, downSeconds },
          'Pushgateway push recovered',
        );
      }
      this.outageSince = null;
      this.st.lastSuccessAt = this.clock.now();
      this.st.lastError = null;
      this.st.consecutiveFailures = 0;
      return;
    }
    this.st.lastError = r.error;
    this.st.consecutiveFailures += 1;
    if (this.outageSince === null) {
      this.outageSince = this.clock.now();
      log.warn(
        { url: this.groupUrl, error: r.error },
        'Pushgateway push failed; repeats are logged at debug level until it recovers',
      );
    } else {
      log.debug(
        { url: this.groupUrl, error: r.error, failedAttempts: this.st.consecutiveFailures },
        'Pushgateway push failed again',
      );
    }
  }
}

function clamp(v: number, min: number, max: number): number {
  return Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : min;
}

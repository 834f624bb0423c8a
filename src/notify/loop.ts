/**
 * A periodic task: `tick()` every `intervalMs` (first one at once), never two at a time, stoppable.
 * `stop()` waits for a running tick. `kick()` runs the next tick now (e.g. a new outbox row).
 */
import type { Clock } from '../clock.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

export class Loop {
  private cancel: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private again = false;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly tick: () => Promise<void>,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Run a tick as soon as the current one (if any) is over. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    this.cancel?.();
    this.cancel = this.clock.setTimer(() => void this.run(), Math.min(Math.max(0, ms), MAX_TIMER_MS));
  }

  private async run(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = this.tick().catch(() => undefined);
    await this.running;
    this.running = null;
    if (this.stopped) return;
    const again = this.again;
    this.again = false;
    this.schedule(again ? 0 : this.intervalMs);
  }

  /** Stop; resolves once a running tick has finished. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    this.cancel = null;
    await this.running;
  }
}

import { Clock, InvalidStateError, systemClock, TimerHandle } from '../util';

export interface PacerOptions {
  clock?: Clock;
  /** Tick period in ms (the packetisation time; 20 ms for G.711 at ptime 20). */
  intervalMs?: number;
  /**
   * After a stall (event loop blocked, VM paused), at most this many overdue ticks are emitted back to back;
   * older ones are skipped so the far end does not get a burst it would have to discard anyway.
   */
  maxCatchUp?: number;
  /** Called once per tick with the tick index (0, 1, 2... including skipped indices). */
  onTick: (tick: number) => void;
}

/**
 * Emits one tick per interval on the injected clock without drift: tick n is due at start + n * interval,
 * and each timer is armed for the next due time rather than "interval after the previous callback", so
 * timer lateness never accumulates (an hour at 20 ms is exactly 180 000 ticks).
 */
export class Pacer {
  private readonly clock: Clock;
  readonly intervalMs: number;
  private readonly maxCatchUp: number;
  private readonly onTick: (tick: number) => void;
  private startAt = 0;
  /** Index of the next tick to emit. */
  private next = 0;
  private timer: TimerHandle | undefined;
  private running = false;
  private closed = false;
  /** Ticks emitted. */
  ticks = 0;
  /** Ticks skipped after stalls longer than the catch-up bound. */
  skipped = 0;

  constructor(opts: PacerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.intervalMs = opts.intervalMs ?? 20;
    if (!(this.intervalMs > 0)) throw new TypeError('pacer interval must be positive');
    this.maxCatchUp = Math.max(0, opts.maxCatchUp ?? 2);
    this.onTick = opts.onTick;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Start ticking; the first tick fires immediately (on the next timer turn). */
  start(): void {
    if (this.closed) throw new InvalidStateError('Pacer is closed');
    if (this.running) return;
    this.running = true;
    this.startAt = this.clock.now();
    this.next = 0;
    this.timer = this.clock.setTimeout(this.wake, 0);
  }

  /** Stop ticking; start() may be called again (a new schedule begins). */
  stop(): void {
    this.running = false;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stop for good. */
  close(): void {
    this.stop();
    this.closed = true;
  }

  /** Clock time at which tick `n` of the current schedule is due. */
  dueAt(n: number): number {
    return this.startAt + n * this.intervalMs;
  }

  private readonly wake = (): void => {
    this.timer = undefined;
    if (!this.running) return;
    const now = this.clock.now();
    // Highest tick index due by now.
    const due = Math.floor((now - this.startAt) / this.intervalMs);
    if (due - this.next > this.maxCatchUp) {
      const skip = due - this.next - this.maxCatchUp;
      this.skipped += skip;
      this.next += skip;
    }
    while (this.running && this.next <= due) {
      const n = this.next++;
      this.ticks++;
      this.onTick(n);
    }
    if (this.running) this.timer = this.clock.setTimeout(this.wake, Math.max(0, this.dueAt(this.next) - this.clock.now()));
  };
}

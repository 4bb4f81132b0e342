import { Clock, InvalidStateError, TimerHandle } from '../util';

export interface RtcpSchedulerOptions {
  clock: Clock;
  /** Deterministic interval Td in ms; RFC 3550 §6.2 recommends 5 s minimum. */
  intervalMs?: number;
  /** Random source in [0, 1) (injectable for tests). */
  random?: () => number;
  /** Called when a report is due. */
  onReport: () => void;
}

/**
 * Timer for periodic RTCP reports, simplified for a two-party session (RFC 3550 §6.2, A.7): with two members
 * and 5% of a G.711 session's bandwidth the computed interval is always below the 5 s minimum, so the
 * deterministic interval is Td = 5 s, randomised to [0.5, 1.5] x Td to avoid synchronisation; the first
 * report goes out after half the minimum (§6.2 "initial" rule). Timer reconsideration is not needed for a
 * fixed membership, so the e-3/2 compensation of A.7 is not applied.
 */
export class RtcpScheduler {
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly random: () => number;
  private readonly onReport: () => void;
  private timer: TimerHandle | undefined;
  private running = false;
  private closed = false;
  /** Reports fired so far. */
  reportsFired = 0;

  constructor(opts: RtcpSchedulerOptions) {
    this.clock = opts.clock;
    this.intervalMs = opts.intervalMs ?? 5000;
    if (!(this.intervalMs > 0)) throw new TypeError('RTCP interval must be positive');
    this.random = opts.random ?? Math.random;
    this.onReport = opts.onReport;
  }

  /** Randomised interval in ms for the next report. */
  nextInterval(initial = false): number {
    const td = initial ? this.intervalMs / 2 : this.intervalMs;
    return td * (0.5 + this.random());
  }

  start(): void {
    if (this.closed) throw new InvalidStateError('RtcpScheduler is stopped');
    if (this.running) return;
    this.running = true;
    this.arm(this.nextInterval(true));
  }

  /** Stop for good. */
  stop(): void {
    this.closed = true;
    this.running = false;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = this.clock.setTimeout(this.fire, ms);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    if (!this.running) return;
    this.reportsFired++;
    try {
      this.onReport();
    } finally {
      if (this.running) this.arm(this.nextInterval());
    }
  };
}

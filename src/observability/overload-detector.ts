import type { Clock, TimerHandle } from '../util';

export interface OverloadDetectorOptions {
  clock: Clock;
  /** Smoothed event-loop lag (ms) above which the server is overloaded (OVERLOAD_LAG_MS). 0 = detector off. */
  lagThresholdMs: number;
  /** Seconds a refused client is asked to wait before it retries (OVERLOAD_RETRY_AFTER_S, RFC 3261 §20.33). */
  retryAfterS: number;
  /** Period of the lag sampling timer (ms). Default 100. */
  sampleIntervalMs?: number;
  /** EWMA weight of a new lag sample, in (0, 1]. Default 0.2: a lone stall of 5x the threshold is needed to enter. */
  smoothing?: number;
  /** Called on every transition into (true) or out of (false) overload, with the smoothed lag. */
  onChange?: (overloaded: boolean, lagMs: number) => void;
  /** Called for every request refused because of overload. */
  onReject?: (method: string) => void;
}

/** What the ops status endpoint shows. */
export interface OverloadStatus {
  readonly enabled: boolean;
  readonly overloaded: boolean;
  /** Smoothed event-loop lag, ms. */
  readonly lagMs: number;
  readonly thresholdMs: number;
  /** Requests refused with 503 since start-up. */
  readonly rejected: number;
  /** Transitions into overload since start-up. */
  readonly episodes: number;
}

const DEFAULT_SAMPLE_INTERVAL_MS = 100;
const DEFAULT_SMOOTHING = 0.2;

/**
 * Overload detection from event-loop lag. One timer is armed every `sampleIntervalMs`; how late it fires is the time
 * the loop spent on other work (I/O callbacks, timers, GC) beyond what was asked. The lateness is smoothed with an
 * EWMA so that one long garbage collection or a compile does not count as overload, and a hysteresis keeps the state
 * from flapping: the detector enters overload when the smoothed lag rises above the threshold and leaves it only when
 * it falls below half the threshold.
 *
 * On one Node.js event loop every piece of work (SIP, media ticks, CDR writes) shares the same thread, so a
 * persistently late timer is the direct measure of a backlog building up: the point at which accepting more calls
 * makes every call worse (RFC 7339 §1: shed load before the server collapses).
 *
 * Costs one timer per sample interval; `check()` is a field read. Time comes from the injected clock.
 */
export class OverloadDetector {
  private readonly clock: Clock;
  private readonly threshold: number;
  private readonly leaveBelow: number;
  private readonly interval: number;
  private readonly alpha: number;
  private readonly retryAfter: number;
  private readonly onChange: ((overloaded: boolean, lagMs: number) => void) | undefined;
  private readonly onReject: ((method: string) => void) | undefined;
  private timer: TimerHandle | undefined;
  private dueAt = 0;
  private smoothed = 0;
  private state = false;
  private rejectedCount = 0;
  private episodeCount = 0;

  constructor(options: OverloadDetectorOptions) {
    this.clock = options.clock;
    this.threshold = finiteAtLeast(options.lagThresholdMs, 0, 0);
    this.leaveBelow = this.threshold / 2;
    this.interval = finiteAtLeast(options.sampleIntervalMs, 1, DEFAULT_SAMPLE_INTERVAL_MS);
    const a = options.smoothing ?? DEFAULT_SMOOTHING;
    this.alpha = Number.isFinite(a) && a > 0 && a <= 1 ? a : DEFAULT_SMOOTHING;
    this.retryAfter = Math.floor(finiteAtLeast(options.retryAfterS, 0, 5));
    this.onChange = options.onChange;
    this.onReject = options.onReject;
  }

  /** False when OVERLOAD_LAG_MS is 0: the detector never samples and never refuses. */
  get enabled(): boolean {
    return this.threshold > 0;
  }

  /** Whether new work should be refused right now. */
  get overloaded(): boolean {
    return this.state;
  }

  /** Smoothed event-loop lag, ms. */
  get lagMs(): number {
    return this.smoothed;
  }

  /** Start sampling (no-op when disabled or already running). */
  start(): void {
    if (!this.enabled || this.timer !== undefined) return;
    this.arm();
  }

  /** Stop sampling; the state is kept as it was. */
  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Admission of one new request of `method`: undefined to admit it, or the Retry-After (s) to refuse it with 503.
   * A refusal is counted and reported to `onReject`.
   */
  check(method: string): number | undefined {
    if (!this.state) return undefined;
    this.rejectedCount++;
    this.onReject?.(method);
    return this.retryAfter;
  }

  /** Feed one lag sample (ms); the sampling timer calls this, tests and other probes may too. */
  record(lagMs: number): void {
    if (!this.enabled || !Number.isFinite(lagMs)) return;
    const sample = lagMs > 0 ? lagMs : 0;
    this.smoothed += this.alpha * (sample - this.smoothed);
    if (!this.state && this.smoothed > this.threshold) {
      this.state = true;
      this.episodeCount++;
      this.onChange?.(true, this.smoothed);
    } else if (this.state && this.smoothed < this.leaveBelow) {
      this.state = false;
      this.onChange?.(false, this.smoothed);
    }
  }

  status(): OverloadStatus {
    return {
      enabled: this.enabled,
      overloaded: this.state,
      lagMs: Math.round(this.smoothed * 10) / 10,
      thresholdMs: this.threshold,
      rejected: this.rejectedCount,
      episodes: this.episodeCount,
    };
  }

  private arm(): void {
    this.dueAt = this.clock.now() + this.interval;
    this.timer = this.clock.setTimeout(this.tick, this.interval);
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    this.record(this.clock.now() - this.dueAt);
    this.arm();
  };
}

function finiteAtLeast(value: number | undefined, min: number, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= min ? value : fallback;
}

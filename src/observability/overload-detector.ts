import type { Clock, TimerHandle } from '../util';

export interface OverloadDetectorOptions {
  clock: Clock;
  /** Smoothed event-loop lag (ms) above which the server is overloaded (OVERLOAD_LAG_MS). 0 = detector off. */
  lagThresholdMs: number;
  /** Seconds a refused client is asked to wait before it retries (OVERLOAD_RETRY_AFTER_S, RFC 3261 §20.33). */
  retryAfterS: number;
  /** Period of the sampling timer (ms). Default 50: the busy signal needs short windows to see a backlog early. */
  sampleIntervalMs?: number;
  /**
   * Event-loop busy fraction, in percent, at or above which a sampling window counts as saturated (OVERLOAD_BUSY_PCT).
   * 0 or no `busyProbe` = this signal is off. Default 0.
   */
  busyThresholdPct?: number;
  /** Consecutive saturated windows that enter overload. Default 3 (150 ms at the default period). */
  busyEnterSamples?: number;
  /** Busy percentage under which a window counts as having idle time (the admitted share grows). Default threshold - 15. */
  busyLeavePct?: number;
  /**
   * New requests (`check()` calls) a window needs to count as saturated. Default 10 (200/s at 50 ms): shedding new
   * calls relieves the loop only when new calls are what keeps it busy; a loop saturated by other work with calls
   * trickling in is left to the lag signal.
   */
  busyMinRequests?: number;
  /**
   * Fraction of wall time, in [0, 1], the event loop was busy since the previous call (Node's
   * `performance.eventLoopUtilization()` difference). Called once per sampling window.
   */
  busyProbe?: () => number;
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
  /** Busy percentage of the event loop in the last sampling window (0 when the busy signal is off). */
  readonly busyPct: number;
  readonly busyThresholdPct: number;
  /** Share of new requests admitted right now, percent (100 when not overloaded). */
  readonly admittedPct: number;
  /** Requests refused with 503 since start-up. */
  readonly rejected: number;
  /** Transitions into overload since start-up. */
  readonly episodes: number;
}

const DEFAULT_SAMPLE_INTERVAL_MS = 50;
const DEFAULT_SMOOTHING = 0.2;
const DEFAULT_BUSY_ENTER_SAMPLES = 3;
const DEFAULT_BUSY_HYSTERESIS_PCT = 15;
const DEFAULT_BUSY_MIN_REQUESTS = 10;
/** While overloaded on the busy signal: the admitted share is multiplied by this per saturated window... */
const ADMIT_DECREASE = 0.75;
/** ...and grows by this per window with idle time (under the leave level); never under MIN_ADMIT. */
const ADMIT_INCREASE = 0.1;
const MIN_ADMIT = 0.05;

/**
 * Overload detection from the event loop: how busy it is, and how late its timers fire.
 *
 * Busy fraction (the early signal): a SIP server fed over UDP never shows a long timer lag while it falls behind,
 * because libuv reads a few dozen datagrams per turn and then runs the timers; the loop simply never goes idle while
 * the socket's receive queue grows (and with it the BYEs of answered calls, whose media keeps running: a backlog that
 * feeds itself). So the share of wall time the loop was not waiting for I/O is sampled per window: `busyEnterSamples`
 * windows in a row at or above `busyThresholdPct`, each with at least `busyMinRequests` new requests, enter overload
 * (one garbage collection or one compile fills one window, not three). Overload on this signal refuses a share of
 * new requests, not all of them: the admitted share starts at 3/4 and is cut by a quarter for every further saturated
 * window (the queue is still draining, or too much is still admitted), grows by a tenth for every window with idle
 * time (busy under `busyLeavePct`), and stays put between the two levels; overload ends when it is back at 1. A
 * refused INVITE costs little (a stateless 503), so the admitted calls get the loop: the admitted rate settles near
 * what the loop can serve instead of collapsing, and short bursts are absorbed, not refused.
 *
 * Timer lag (the late signal, for long stalls: a huge GC, a blocking call, thousands of media ticks): the sampling
 * timer's lateness is the time the loop spent on other work beyond what was asked. It is smoothed with an EWMA so
 * that one long garbage collection or a compile does not count as overload, with a hysteresis: in above the
 * threshold, out below half of it.
 *
 * Either signal puts the detector in overload; it leaves when neither holds. On one Node.js event loop every piece of
 * work (SIP, media ticks, CDR writes) shares the same thread, so a saturated loop is the point at which accepting
 * more calls makes every call worse (RFC 7339 §1: shed load before the server collapses).
 *
 * Costs one timer and one probe call per sample interval; `check()` is a field read. Time comes from the injected
 * clock; the busy fraction from the injected probe.
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
  private readonly busyProbe: (() => number) | undefined;
  private readonly busyEnter: number;
  private readonly busyLeave: number;
  private readonly busyEnterSamples: number;
  private readonly busyMinRequests: number;
  private busyRun = 0;
  private arrivals = 0;
  private busyLast = 0;
  private lagState = false;
  private busyState = false;
  /** Share of new requests admitted while overloaded on the busy signal, (0, 1]. */
  private admit = 1;
  private credit = 0;
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
    const busyPct = finiteAtLeast(options.busyThresholdPct, 0, 0);
    this.busyProbe = busyPct > 0 ? options.busyProbe : undefined;
    this.busyEnter = Math.min(busyPct, 100) / 100;
    const leavePct = options.busyLeavePct ?? busyPct - DEFAULT_BUSY_HYSTERESIS_PCT;
    this.busyLeave = Math.min(Math.max(0, Number.isFinite(leavePct) ? leavePct : 0) / 100, this.busyEnter);
    this.busyEnterSamples = Math.max(1, Math.floor(finiteAtLeast(options.busyEnterSamples, 1, DEFAULT_BUSY_ENTER_SAMPLES)));
    this.busyMinRequests = Math.floor(finiteAtLeast(options.busyMinRequests, 0, DEFAULT_BUSY_MIN_REQUESTS));
  }

  /** False when both signals are off (OVERLOAD_LAG_MS and OVERLOAD_BUSY_PCT 0): never samples, never refuses. */
  get enabled(): boolean {
    return this.threshold > 0 || this.busyProbe !== undefined;
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
    this.arrivals++;
    if (!this.state) return undefined;
    if (!this.lagState) {
      // Busy signal only: admit the fraction `admit` of new requests, spread evenly (a credit accumulator).
      this.credit += this.admit;
      if (this.credit >= 1) {
        this.credit -= 1;
        return undefined;
      }
    }
    this.rejectedCount++;
    this.onReject?.(method);
    return this.retryAfter;
  }

  /** Busy fraction of the event loop in the last sampling window, [0, 1]. */
  get busy(): number {
    return this.busyLast;
  }

  /** Share of new requests admitted right now, [0, 1]: 1 when not overloaded, 0 while the lag signal holds. */
  get admitted(): number {
    if (!this.state) return 1;
    return this.lagState ? 0 : this.admit;
  }

  /** Feed one lag sample (ms); the sampling timer calls this, tests and other probes may too. */
  record(lagMs: number): void {
    if (this.threshold <= 0 || !Number.isFinite(lagMs)) return;
    const sample = lagMs > 0 ? lagMs : 0;
    this.smoothed += this.alpha * (sample - this.smoothed);
    if (!this.lagState && this.smoothed > this.threshold) this.lagState = true;
    else if (this.lagState && this.smoothed < this.leaveBelow) this.lagState = false;
    this.update();
  }

  /**
   * Feed the busy fraction ([0, 1]) of one sampling window, which ends here (the requests `check()` saw since the
   * previous call belong to it); the sampling timer calls this with the probe's value.
   */
  recordBusy(fraction: number): void {
    if (this.busyProbe === undefined || !Number.isFinite(fraction)) return;
    const f = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
    this.busyLast = f;
    const requests = this.arrivals;
    this.arrivals = 0;
    const saturated = f >= this.busyEnter && requests >= this.busyMinRequests;
    if (saturated) this.busyRun++;
    else this.busyRun = 0;
    if (!this.busyState) {
      if (this.busyRun >= this.busyEnterSamples) {
        this.busyState = true;
        this.admit = ADMIT_DECREASE;
        this.credit = 0;
      }
    } else if (saturated) {
      // Still saturated (a queue is still being drained, or too much is still admitted): admit less.
      this.admit = Math.max(MIN_ADMIT, this.admit * ADMIT_DECREASE);
    } else if (f < this.busyLeave) {
      // Idle time again: admit more; overload ends once everything is admitted again.
      this.admit = Math.min(1, this.admit + ADMIT_INCREASE);
      if (this.admit >= 1) this.busyState = false;
    }
    this.update();
  }

  private update(): void {
    const next = this.lagState || this.busyState;
    if (next === this.state) return;
    this.state = next;
    if (next) this.episodeCount++;
    this.onChange?.(next, this.smoothed);
  }

  status(): OverloadStatus {
    return {
      enabled: this.enabled,
      overloaded: this.state,
      lagMs: Math.round(this.smoothed * 10) / 10,
      thresholdMs: this.threshold,
      busyPct: Math.round(this.busyLast * 1000) / 10,
      busyThresholdPct: this.busyProbe === undefined ? 0 : Math.round(this.busyEnter * 100),
      admittedPct: Math.round(this.admitted * 1000) / 10,
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
    if (this.busyProbe !== undefined) this.recordBusy(this.busyProbe());
    this.arm();
  };
}

function finiteAtLeast(value: number | undefined, min: number, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= min ? value : fallback;
}

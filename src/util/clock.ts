/**
 * Injected time. Protocol timers (RFC 3261 T1/T2/T4, Timer A..K, RTCP intervals, pacers) take a Clock so
 * state machines run in virtual time in unit tests and on the real clock in production.
 */
export interface TimerHandle {
  /** Opaque; pass back to Clock.clearTimeout. */
  readonly id: number;
}

export interface Clock {
  /** Monotonic milliseconds (not wall time). */
  now(): number;
  /** Wall-clock milliseconds since the epoch (for CDR timestamps, SIP Date headers). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

class RealTimer implements TimerHandle {
  constructor(
    readonly id: number,
    readonly inner: NodeJS.Timeout,
  ) {}
}

let realSeq = 0;

/** The process clock: performance.now() for intervals, native timers, unref'd so they never hold the process open. */
export class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }
  wallNow(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, ms);
    t.unref();
    return new RealTimer(++realSeq, t);
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle instanceof RealTimer) clearTimeout(handle.inner);
  }
}

export const systemClock: Clock = new SystemClock();

interface VirtualTimer extends TimerHandle {
  at: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. `advance(ms)` fires due timers in time order, including timers
 * scheduled by the callbacks themselves while advancing.
 */
export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: VirtualTimer[] = [];

  constructor(private readonly epochMs = 1_700_000_000_000) {}

  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.epochMs + this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: VirtualTimer = { id: ++this.seq, at: this.t + Math.max(0, ms), fn, cancelled: false };
    this.timers.push(timer);
    return timer;
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const timer = this.timers.find((x) => x.id === handle.id);
    if (timer) timer.cancelled = true;
  }
  /** Number of timers still pending. */
  pending(): number {
    return this.timers.filter((x) => !x.cancelled).length;
  }
  /** Move time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers = this.timers.filter((x) => !x.cancelled);
      let next: VirtualTimer | undefined;
      for (const x of this.timers) if (x.at <= end && (!next || x.at < next.at || (x.at === next.at && x.id < next.id))) next = x;
      if (!next) break;
      this.t = next.at;
      next.cancelled = true;
      next.fn();
    }
    this.t = end;
  }
}

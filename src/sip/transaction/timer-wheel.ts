import type { Clock, TimerHandle } from '../../util';

/**
 * An intrusive entry of a {@link TimerWheel}: the owner (a transaction, a dialog) carries the bookkeeping
 * fields itself, so scheduling a long timer allocates nothing.
 */
export interface WheelEntry {
  /** Absolute tick the entry is due at; -1 when not scheduled. Owned by the wheel. */
  wheelTick: number;
  /** Position inside its bucket, for O(1) removal. Owned by the wheel. */
  wheelIndex: number;
  /** Called once when the entry falls due. */
  onWheelTimer(): void;
}

/** Marks an entry collected for firing in the current tick (not yet fired, not in any bucket). */
const FIRING = -2;
const IDLE = -1;

/** Default granularity: long SIP timers (Timer B/F/H/J = 32 s, Timer D, I, K, L, M) tolerate 100 ms of lateness. */
export const DEFAULT_WHEEL_TICK_MS = 100;
const DEFAULT_BUCKETS = 1024;

/**
 * A coarse hashed timer wheel over an injected {@link Clock} for long protocol timers.
 *
 * At 3,000 calls/s tens of thousands of 32-second timers are pending; giving each one a native timer costs a heap
 * insertion and a closure per transaction. Here an entry lives in a bucket array indexed by its due tick, and one
 * clock timer per tick drives the whole wheel, and only while entries are pending (undici `lib/util/timers.js`).
 *
 * Entries fire at or after their due time, never before: a timer of `ms` fires within `ms + tickMs`.
 * Entries due beyond the wheel horizon stay in their bucket until their own round comes.
 */
export class TimerWheel {
  readonly tickMs: number;
  private readonly buckets: WheelEntry[][];
  private readonly mask: number;
  private readonly scratch: WheelEntry[] = [];
  private lastTick: number;
  private count = 0;
  private handle: TimerHandle | undefined;
  private readonly onTick = (): void => this.tick();

  constructor(
    private readonly clock: Clock,
    opts: { tickMs?: number; buckets?: number } = {},
  ) {
    const tickMs = opts.tickMs ?? DEFAULT_WHEEL_TICK_MS;
    if (!(tickMs > 0)) throw new TypeError('TimerWheel tickMs must be > 0');
    let buckets = 1;
    while (buckets < (opts.buckets ?? DEFAULT_BUCKETS)) buckets <<= 1;
    this.tickMs = tickMs;
    this.mask = buckets - 1;
    this.buckets = [];
    for (let i = 0; i < buckets; i++) this.buckets.push([]);
    this.lastTick = Math.floor(clock.now() / tickMs);
  }

  /** Number of entries pending. */
  get size(): number {
    return this.count;
  }

  /** Schedule `entry` to fire `ms` from now, replacing any earlier schedule of the same entry. */
  schedule(entry: WheelEntry, ms: number): void {
    if (entry.wheelTick !== IDLE) this.cancel(entry);
    if (this.count === 0 && this.handle === undefined) this.lastTick = Math.floor(this.clock.now() / this.tickMs);
    // Round up so an entry never fires early; and never into a tick already processed.
    let tick = Math.ceil((this.clock.now() + Math.max(0, ms)) / this.tickMs);
    if (tick <= this.lastTick) tick = this.lastTick + 1;
    const bucket = this.buckets[tick & this.mask];
    entry.wheelTick = tick;
    entry.wheelIndex = bucket.length;
    bucket.push(entry);
    this.count++;
    this.arm();
  }

  /** Cancel `entry` if scheduled; no-op otherwise. */
  cancel(entry: WheelEntry): void {
    const tick = entry.wheelTick;
    if (tick === IDLE) return;
    entry.wheelTick = IDLE;
    if (tick === FIRING) return; // collected for this tick: skipped when its turn comes
    const bucket = this.buckets[tick & this.mask];
    const last = bucket.pop() as WheelEntry;
    if (last !== entry) {
      bucket[entry.wheelIndex] = last;
      last.wheelIndex = entry.wheelIndex;
    }
    this.count--;
    if (this.count === 0) this.disarm();
  }

  /** Whether `entry` is pending. */
  isScheduled(entry: WheelEntry): boolean {
    return entry.wheelTick >= 0;
  }

  /** Drop every entry and stop ticking (shutdown). */
  clear(): void {
    for (const bucket of this.buckets) {
      for (const e of bucket) e.wheelTick = IDLE;
      bucket.length = 0;
    }
    this.count = 0;
    this.disarm();
  }

  private arm(): void {
    if (this.handle !== undefined || this.count === 0) return;
    const next = (this.lastTick + 1) * this.tickMs;
    this.handle = this.clock.setTimeout(this.onTick, Math.max(0, next - this.clock.now()));
  }

  private disarm(): void {
    if (this.handle === undefined) return;
    this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }

  private tick(): void {
    this.handle = undefined;
    const now = Math.floor(this.clock.now() / this.tickMs);
    // A late wake-up (event-loop stall) catches up on every skipped tick, but scans each bucket at most once.
    const from = Math.max(this.lastTick + 1, now - this.mask);
    const due = this.scratch;
    for (let t = from; t <= now; t++) {
      const bucket = this.buckets[t & this.mask];
      for (let i = 0; i < bucket.length; ) {
        const e = bucket[i];
        if (e.wheelTick <= now) {
          const last = bucket.pop() as WheelEntry;
          if (last !== e) {
            bucket[i] = last;
            last.wheelIndex = i;
          }
          e.wheelTick = FIRING;
          this.count--;
          due.push(e);
        } else {
          i++;
        }
      }
    }
    this.lastTick = now;
    // Fire after collecting: a callback may cancel or schedule other entries without disturbing the scan.
    for (let i = 0; i < due.length; i++) {
      const e = due[i];
      if (e.wheelTick !== FIRING) continue; // cancelled or rescheduled by an earlier callback
      e.wheelTick = IDLE;
      try {
        e.onWheelTimer();
      } catch (err) {
        process.emitWarning(`timer wheel callback threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }
    due.length = 0;
    this.arm();
  }
}

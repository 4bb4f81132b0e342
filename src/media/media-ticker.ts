import { Pacer, RtpSendBatch } from '../rtp';
import { Clock, systemClock } from '../util';

/** Something driven once per 20 ms media tick, in two phases. */
export interface MediaTickTarget {
  /**
   * Phase 1 of a tick: send this period's frame. Every target sends before any target receives. `missed` counts
   * ticks skipped before this one after a stall (event loop blocked): no packet was sent for them, and the far end
   * heard a gap. `overdue` is how many whole periods late this tick runs (the pacer's catch-up: the next tick follows
   * at once). Senders never send skipped ticks late beyond that catch-up; a sender whose source keeps streaming at
   * real time drops the backlog instead, so the stall does not become lasting delay (see PcmQueue).
   */
  onSendTick(missed: number, overdue: number): void;
  /**
   * Phase 2: take this period's received frame. `missed` is as above: receivers drain that many extra frames so the
   * jitter buffer does not overflow. Because all sends precede all receives, a frame received in tick n and handed
   * to another target is sent in tick n + 1 whatever the order of the targets.
   */
  onReceiveTick(missed: number): void;
}

export interface MediaTickerOptions {
  clock?: Clock;
  /** Tick period in ms (default 20, the G.711 packetisation time). */
  intervalMs?: number;
  /**
   * A tick running this many ms or more after its due time takes its receive phase after the I/O that is pending
   * (default: a quarter of the period). See {@link MediaTicker}.
   */
  lateMs?: number;
  /** Runs `fn` once the event loop has handled pending I/O (default setImmediate: after the poll phase). */
  defer?: (fn: () => void) => void;
}

/** A tick (or the receive phase of one) waiting for the pending I/O to be read. */
interface DeferredTick {
  /** The send phase already ran; `n` targets were ticked. */
  sent: boolean;
  n: number;
  missed: number;
  overdue: number;
}

/**
 * One drift-free 20 ms clock for many media sessions: a single {@link Pacer} timer ticks every registered target in
 * turn. With 1000+ calls this costs one timer wake-up per period instead of one per call, and all legs of a bridge
 * advance together (a frame received on leg A in tick n is sent on leg B in tick n + 1).
 *
 * Tick n closes the period whose RTP packet is due at start + 20n ms. A target may send that packet earlier, within
 * the period (MediaSession sends AI audio the moment it arrives on an idle stream), but never more than one packet
 * per period. After a stall the pacer runs at most one overdue tick back to back and skips older ones, which are
 * reported to the targets as `missed`.
 *
 * Late ticks: Node runs timers before the poll phase that reads sockets, so after a stall of the event loop (GC,
 * load) a tick would take its received frame before the packets that arrived during the stall are read, and the
 * jitter buffers would conceal audio that is waiting in the socket. A tick running `lateMs` or more behind its due
 * time therefore sends at once but takes its receive phase in `defer` (setImmediate, after the poll phase); ticks
 * due meanwhile (the pacer's catch-up) follow it in order. A tick on time runs both phases at once, with no delay.
 *
 * The pacer runs only while at least one target is registered. Targets added during a tick are first ticked on the
 * next one; targets removed during a tick are not ticked again.
 */
export class MediaTicker {
  readonly intervalMs: number;
  /** The RTP packets of a send phase, sent together at its end (targets' endpoints queue to it). */
  readonly sendBatch = new RtpSendBatch();
  private readonly clock: Clock;
  private readonly pacer: Pacer;
  /** Targets in registration order; removed ones leave a null hole until the next compaction. */
  private readonly targets: (MediaTickTarget | null)[] = [];
  /** Each registered target's index in `targets`: add and remove are O(1). */
  private readonly members = new Map<MediaTickTarget, number>();
  private lastTick = -1;
  private ticking = false;
  private holes = 0;
  private readonly lateMs: number;
  private readonly defer: (fn: () => void) => void;
  /** Ticks waiting for pending I/O, in order (empty unless a tick ran late). */
  private deferred: DeferredTick[] = [];
  private closed = false;
  /** Receive phases run after the pending I/O because their tick was late. */
  deferredTicks = 0;
  /** Ticks skipped after stalls (the far end sees a gap, never a burst). */
  get skippedTicks(): number {
    return this.pacer.skipped;
  }
  /** Ticks run. */
  get ticks(): number {
    return this.pacer.ticks;
  }

  constructor(opts: MediaTickerOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 20;
    this.clock = opts.clock ?? systemClock;
    this.lateMs = opts.lateMs ?? this.intervalMs / 4;
    this.defer = opts.defer ?? setImmediate;
    // maxCatchUp 1: after a short stall send one overdue frame back to back, skip older ones (see Pacer).
    this.pacer = new Pacer({ clock: this.clock, intervalMs: this.intervalMs, maxCatchUp: 1, onTick: this.onTick });
  }

  /** Number of registered targets. */
  get size(): number {
    return this.members.size;
  }

  add(target: MediaTickTarget): void {
    if (this.members.has(target)) return;
    this.members.set(target, this.targets.length);
    this.targets.push(target);
    if (!this.pacer.isRunning) {
      this.lastTick = -1;
      this.pacer.start();
    }
  }

  remove(target: MediaTickTarget): void {
    const i = this.members.get(target);
    if (i === undefined) return;
    this.members.delete(target);
    // Leave a hole: the array never shifts under the tick loop, and the others keep their order. Holes are
    // compacted outside a tick once they make up a quarter of the array, so a close costs O(1) amortized.
    this.targets[i] = null;
    this.holes++;
    if (!this.ticking) this.maybeCompact();
    if (this.members.size === 0) this.pacer.stop();
  }

  /** Stop ticking and forget every target. */
  close(): void {
    this.closed = true;
    this.deferred.length = 0;
    this.ticking = false;
    this.pacer.close();
    this.targets.length = 0;
    this.members.clear();
    this.holes = 0;
  }

  /** Compact when holes are a quarter of the array or more (amortized O(1) per removal), or nothing is left. */
  private maybeCompact(): void {
    const holes = this.holes;
    if (holes === 0) return;
    const targets = this.targets;
    if (holes === targets.length) {
      targets.length = 0;
      this.holes = 0;
      return;
    }
    if (holes * 4 < targets.length) return;
    // In place, keeping registration order; each moved target learns its new index.
    let j = 0;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      if (t === null) continue;
      if (i !== j) {
        targets[j] = t;
        this.members.set(t, j);
      }
      j++;
    }
    targets.length = j;
    this.holes = 0;
  }

  private readonly onTick = (tick: number): void => {
    const missed = this.lastTick < 0 ? 0 : Math.max(0, tick - this.lastTick - 1);
    this.lastTick = tick;
    const lateBy = this.clock.now() - this.pacer.dueAt(tick);
    const overdue = Math.max(0, Math.floor(lateBy / this.intervalMs));
    if (this.deferred.length > 0) {
      // An earlier tick still waits for its receive phase: keep the order (its receive precedes this send).
      this.deferred.push({ sent: false, n: 0, missed, overdue });
      return;
    }
    // Targets added by a tick callback land beyond `n` and wait for the next tick.
    const n = this.targets.length;
    this.ticking = true;
    this.sendPhase(n, missed, overdue);
    if (lateBy >= this.lateMs) {
      // Holes stay in place (ticking) until the deferred receive phase has run.
      this.deferred.push({ sent: true, n, missed, overdue });
      this.defer(this.runDeferred);
      return;
    }
    this.receivePhase(n, missed);
    this.ticking = false;
    this.maybeCompact();
  };

  /** After the pending I/O: the late tick's receive phase, then the ticks queued behind it. */
  private readonly runDeferred = (): void => {
    if (this.closed) return;
    const queue = this.deferred;
    for (let k = 0; k < queue.length; k++) {
      const d = queue[k];
      if (!d.sent) {
        d.n = this.targets.length;
        this.sendPhase(d.n, d.missed, d.overdue);
      }
      this.receivePhase(d.n, d.missed);
      if (this.closed) return;
    }
    queue.length = 0;
    this.ticking = false;
    this.maybeCompact();
  };

  private sendPhase(n: number, missed: number, overdue: number): void {
    const targets = this.targets;
    const batch = this.sendBatch;
    batch.begin();
    for (let i = 0; i < n; i++) {
      const t = targets[i];
      if (t === null) continue;
      try {
        t.onSendTick(missed, overdue);
      } catch (err) {
        tickFailed(err);
      }
    }
    batch.flush();
  }

  private receivePhase(n: number, missed: number): void {
    const targets = this.targets;
    for (let i = 0; i < n; i++) {
      const t = targets[i];
      if (t === null) continue;
      try {
        t.onReceiveTick(missed);
      } catch (err) {
        tickFailed(err);
      }
    }
  }
}

function tickFailed(err: unknown): void {
  process.emitWarning(`media tick failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
}

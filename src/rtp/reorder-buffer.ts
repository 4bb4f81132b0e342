import { seqAdd, seqDiff } from './seq';

export interface ReorderBufferOptions {
  /** Slots in the ring; a power of two (default 32 = 640 ms of 20 ms frames). */
  capacity?: number;
  /** Largest payload stored per slot (bytes); larger frames are rejected. Default 480 (60 ms of G.711). */
  maxFrameBytes?: number;
  /** How long a gap in the sequence waits for its packet before it is declared lost, ms (default 20: one frame). */
  waitMs?: number;
  /** Called with each audio payload, in sequence order. `payload` is a view valid only during the call. */
  onFrame: (payload: Uint8Array, payloadType: number, sequenceNumber: number) => void;
  /** Called when `count` consecutive sequence numbers are given up as lost (before the frame that follows them). */
  onLost: (count: number) => void;
}

/** Result of {@link ReorderBuffer.put} and {@link ReorderBuffer.skip}. */
export type ReorderPutResult =
  /** Delivered at once, or held until the gap before it closes or its wait ends. */
  | 'ok'
  /** Already held. */
  | 'duplicate'
  /** Behind the next expected number: already delivered, skipped or given up on. */
  | 'late'
  | 'too-large'
  /** The sequence jumped out of the window (a new source, a restart): held frames were flushed first. */
  | 'reset';

const EMPTY = -1;
const AUDIO = 0;
/** A sequence number taken by a packet without audio (RFC 4733 event, comfort noise). */
const TAKEN = 1;

/**
 * Orders received audio by sequence number and hands it on as it arrives, with no playout clock: for consumers that
 * buffer themselves (an AI platform's speech recognition) and want each frame as early as possible.
 *
 * The packet carrying the next expected sequence number (or the first packet) is delivered at once, with no copy,
 * followed by any held packets it makes consecutive. A packet ahead of a gap is copied and held; the gap waits
 * `waitMs` from the arrival of the first packet held behind it (reordering on a path is a few ms), then its numbers
 * are reported lost and the held frames flushed. Numbers behind the next expected one are dropped (duplicates and
 * packets too late to matter). Sequence math is modulo 2^16 (RFC 3550 A.1); a jump beyond the window in either
 * direction is a restart of the stream (RtpEndpoint's RFC 3550 A.1 validator has already accepted it) and
 * resynchronises. Numbers taken by packets without audio (RFC 4733 §2.1) are reported with {@link skip} and stepped
 * over without a loss.
 *
 * The buffer owns no timer: the caller arms one for {@link deadline} and calls {@link expire} when it fires.
 */
export class ReorderBuffer {
  readonly capacity: number;
  readonly waitMs: number;
  private readonly mask: number;
  private readonly maxFrameBytes: number;
  private readonly onFrame: (payload: Uint8Array, payloadType: number, sequenceNumber: number) => void;
  private readonly onLost: (count: number) => void;
  private readonly storage: Buffer;
  private readonly slotSeq: Int32Array;
  private readonly slotKind: Uint8Array;
  private readonly slotLen: Uint16Array;
  private readonly slotPt: Uint8Array;
  private readonly slotArrival: Float64Array;
  private started = false;
  /** Next sequence number to deliver (valid once started). */
  private next = 0;
  /** Occupied slots (audio and taken numbers). */
  private held = 0;
  /** Arrival of the earliest packet held behind a gap, or -1. */
  private waitingSince = -1;
  // Counters.
  delivered = 0;
  /** Delivered after being held behind a gap. */
  reordered = 0;
  lost = 0;
  duplicates = 0;
  late = 0;
  resets = 0;
  skipped = 0;

  constructor(opts: ReorderBufferOptions) {
    const capacity = opts.capacity ?? 32;
    if (capacity < 4 || capacity > 4096 || (capacity & (capacity - 1)) !== 0) throw new TypeError('reorder buffer capacity must be a power of two in 4..4096');
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.maxFrameBytes = opts.maxFrameBytes ?? 480;
    this.waitMs = Math.max(0, opts.waitMs ?? 20);
    this.onFrame = opts.onFrame;
    this.onLost = opts.onLost;
    this.storage = Buffer.alloc(capacity * this.maxFrameBytes);
    this.slotSeq = new Int32Array(capacity).fill(EMPTY);
    this.slotKind = new Uint8Array(capacity);
    this.slotLen = new Uint16Array(capacity);
    this.slotPt = new Uint8Array(capacity);
    this.slotArrival = new Float64Array(capacity);
  }

  /** Packets held behind a gap. */
  get size(): number {
    return this.held;
  }

  /** True once a packet has fixed the sequence (until reset). */
  get isStarted(): boolean {
    return this.started;
  }

  /** Clock time at which the oldest gap gives up waiting (call {@link expire} then), or -1 when nothing waits. */
  get deadline(): number {
    return this.waitingSince < 0 ? -1 : this.waitingSince + this.waitMs;
  }

  /** Forget everything; the next packet starts a new sequence. */
  reset(): void {
    if (this.held > 0) this.slotSeq.fill(EMPTY);
    this.held = 0;
    this.started = false;
    this.waitingSince = -1;
  }

  /** An audio packet arrived at `nowMs`. Delivers it (and what it makes consecutive) at once when it is next. */
  put(sequenceNumber: number, payload: Uint8Array, nowMs: number, payloadType = 0): ReorderPutResult {
    if (payload.length > this.maxFrameBytes) return 'too-large';
    const seq = sequenceNumber & 0xffff;
    if (!this.started) {
      this.started = true;
      this.next = seq;
    }
    const ahead = seqDiff(seq, this.next);
    if (ahead === 0) {
      this.next = seqAdd(seq, 1);
      this.delivered++;
      this.onFrame(payload, payloadType, seq);
      if (this.held > 0) this.drain();
      return 'ok';
    }
    if (ahead < 0 && ahead > -this.capacity) {
      this.late++;
      return 'late';
    }
    if (ahead < 0 || ahead >= this.capacity) {
      // RFC 3550 A.1: a jump this large is a restart of the sender's sequence, not reordering.
      this.flush();
      this.resets++;
      this.next = seqAdd(seq, 1);
      this.delivered++;
      this.onFrame(payload, payloadType, seq);
      return 'reset';
    }
    const slot = seq & this.mask;
    if (this.slotSeq[slot] === seq) {
      this.duplicates++;
      return 'duplicate';
    }
    this.hold(slot, seq, AUDIO, nowMs);
    this.slotLen[slot] = payload.length;
    this.slotPt[slot] = payloadType;
    this.storage.set(payload, slot * this.maxFrameBytes);
    return 'ok';
  }

  /**
   * `sequenceNumber` was taken by a packet without audio for this stream (RFC 4733 §2.1 telephone-event, RFC 3389
   * comfort noise): step over it without reporting a loss.
   */
  skip(sequenceNumber: number, nowMs: number): ReorderPutResult {
    const seq = sequenceNumber & 0xffff;
    // Before the first audio packet there is no sequence to keep: audio starts wherever it starts.
    if (!this.started) return 'late';
    const ahead = seqDiff(seq, this.next);
    if (ahead === 0) {
      this.next = seqAdd(seq, 1);
      this.skipped++;
      if (this.held > 0) this.drain();
      return 'ok';
    }
    if (ahead < 0 || ahead >= this.capacity) {
      this.late++;
      return 'late';
    }
    const slot = seq & this.mask;
    if (this.slotSeq[slot] === seq) {
      this.duplicates++;
      return 'duplicate';
    }
    this.hold(slot, seq, TAKEN, nowMs);
    return 'ok';
  }

  /** Give up on gaps whose wait has ended by `nowMs`: report their numbers lost and deliver what follows. */
  expire(nowMs: number): void {
    while (this.waitingSince >= 0 && nowMs >= this.waitingSince + this.waitMs) this.skipGap();
  }

  /** Deliver everything held, in order, reporting the gaps between as lost. */
  flush(): void {
    while (this.held > 0) this.skipGap();
  }

  private hold(slot: number, seq: number, kind: number, nowMs: number): void {
    // A slot still occupied here holds a number a full window behind: stale, replace it.
    if (this.slotSeq[slot] === EMPTY) this.held++;
    this.slotSeq[slot] = seq;
    this.slotKind[slot] = kind;
    this.slotArrival[slot] = nowMs;
    if (this.waitingSince < 0 || nowMs < this.waitingSince) this.waitingSince = nowMs;
  }

  /** Report the numbers missing before the first held one as lost, then deliver from there. */
  private skipGap(): void {
    let missing = 0;
    let seq = this.next;
    while (this.slotSeq[seq & this.mask] !== seq && missing < this.capacity) {
      missing++;
      seq = seqAdd(seq, 1);
    }
    if (missing >= this.capacity) {
      // Nothing held within the window (cannot happen while `held` is counted right): start over.
      this.reset();
      return;
    }
    if (missing > 0) {
      this.lost += missing;
      this.next = seq;
      this.onLost(missing);
    }
    this.drain();
  }

  /** Deliver held packets from `next` on while they are consecutive; then re-date the wait of what stays held. */
  private drain(): void {
    const mask = this.mask;
    for (;;) {
      const slot = this.next & mask;
      if (this.slotSeq[slot] !== this.next) break;
      const seq = this.next;
      this.slotSeq[slot] = EMPTY;
      this.held--;
      this.next = seqAdd(seq, 1);
      if (this.slotKind[slot] === TAKEN) {
        this.skipped++;
        continue;
      }
      this.delivered++;
      this.reordered++;
      const start = slot * this.maxFrameBytes;
      this.onFrame(this.storage.subarray(start, start + this.slotLen[slot]), this.slotPt[slot], seq);
    }
    if (this.held === 0) {
      this.waitingSince = -1;
      return;
    }
    // The next gap has waited since the earliest packet held behind it arrived.
    let since = Infinity;
    for (let i = 0; i < this.capacity; i++) if (this.slotSeq[i] !== EMPTY && this.slotArrival[i] < since) since = this.slotArrival[i];
    this.waitingSince = since;
  }
}

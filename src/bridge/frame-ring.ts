/** Slots allocated at first: a call's first frames wait here while its socket opens (usually a few). */
const INITIAL_SLOTS = 8;

/**
 * A bounded FIFO of caller frames waiting for the socket (before it opens, while it reconnects, or while the AI
 * reads too slowly). Storage starts small and doubles up to `capacity` slots of `frameSize` samples plus their
 * metadata, so a call that never waits long costs a few KB, not the full bound (5 s = 80 KB by default). When full,
 * the oldest frame is overwritten: for live speech the newest audio matters most.
 */
export class FrameRing {
  private samples: Int16Array;
  private seqs: Float64Array;
  private walls: Float64Array;
  private captured: Float64Array;
  /** Slots allocated now (<= capacity). */
  private slots: number;
  private head = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    readonly frameSize = 160,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError(`capacity must be a positive integer, got ${capacity}`);
    this.slots = Math.min(capacity, INITIAL_SLOTS);
    this.samples = new Int16Array(this.slots * frameSize);
    this.seqs = new Float64Array(this.slots);
    this.walls = new Float64Array(this.slots);
    this.captured = new Float64Array(this.slots);
  }

  get length(): number {
    return this.count;
  }

  /** Copy `frame` in (shorter frames are zero-padded). Returns true when the oldest frame had to be dropped. */
  push(frame: Int16Array, seq: number, wallMs: number, capturedAt: number): boolean {
    let dropped = false;
    if (this.count === this.capacity) {
      this.head = (this.head + 1) % this.slots;
      this.count--;
      dropped = true;
    } else if (this.count === this.slots) {
      this.grow(Math.min(this.capacity, this.slots * 2));
    }
    const slot = (this.head + this.count) % this.slots;
    const base = slot * this.frameSize;
    const n = Math.min(frame.length, this.frameSize);
    this.samples.set(n === frame.length ? frame : frame.subarray(0, n), base);
    if (n < this.frameSize) this.samples.fill(0, base + n, base + this.frameSize);
    this.seqs[slot] = seq;
    this.walls[slot] = wallMs;
    this.captured[slot] = capturedAt;
    this.count++;
    return dropped;
  }

  /** The oldest frame's samples (a view into the ring, valid until the next push). Call only when length > 0. */
  peekFrame(): Int16Array {
    const base = this.head * this.frameSize;
    return this.samples.subarray(base, base + this.frameSize);
  }
  peekSeq(): number {
    return this.seqs[this.head];
  }
  peekWall(): number {
    return this.walls[this.head];
  }
  peekCaptured(): number {
    return this.captured[this.head];
  }

  /** Drop the oldest frame. */
  shift(): void {
    if (this.count === 0) return;
    this.head = (this.head + 1) % this.slots;
    this.count--;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  /** Re-allocate `slots` slots holding the queued frames in order from slot 0. */
  private grow(slots: number): void {
    const fs = this.frameSize;
    const samples = new Int16Array(slots * fs);
    const seqs = new Float64Array(slots);
    const walls = new Float64Array(slots);
    const captured = new Float64Array(slots);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) % this.slots;
      samples.set(this.samples.subarray(from * fs, (from + 1) * fs), i * fs);
      seqs[i] = this.seqs[from];
      walls[i] = this.walls[from];
      captured[i] = this.captured[from];
    }
    this.samples = samples;
    this.seqs = seqs;
    this.walls = walls;
    this.captured = captured;
    this.slots = slots;
    this.head = 0;
  }
}

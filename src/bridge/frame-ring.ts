/**
 * A bounded FIFO of caller frames waiting for the socket (before it opens, while it reconnects, or while the AI
 * reads too slowly). Storage is allocated once: `capacity` slots of `frameSize` samples plus their metadata. When
 * full, the oldest frame is overwritten: for live speech the newest audio matters most.
 */
export class FrameRing {
  private readonly samples: Int16Array;
  private readonly seqs: Float64Array;
  private readonly walls: Float64Array;
  private readonly captured: Float64Array;
  private head = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    readonly frameSize = 160,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError(`capacity must be a positive integer, got ${capacity}`);
    this.samples = new Int16Array(capacity * frameSize);
    this.seqs = new Float64Array(capacity);
    this.walls = new Float64Array(capacity);
    this.captured = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** Copy `frame` in (shorter frames are zero-padded). Returns true when the oldest frame had to be dropped. */
  push(frame: Int16Array, seq: number, wallMs: number, capturedAt: number): boolean {
    let dropped = false;
    if (this.count === this.capacity) {
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      dropped = true;
    }
    const slot = (this.head + this.count) % this.capacity;
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
    this.head = (this.head + 1) % this.capacity;
    this.count--;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}

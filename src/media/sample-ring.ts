/**
 * A fixed-capacity FIFO of PCM16 samples with a "concealed" flag per sample, used to re-chunk received packets of
 * any packetisation time (10, 20, 30, 60 ms) into 20 ms frames. Allocation-free after construction except for the
 * typed-array views that let copies run as memcpy (two per call at most; far cheaper than a per-sample loop).
 */
export class SampleRing {
  readonly capacity: number;
  private readonly mask: number;
  private readonly samples: Int16Array;
  private readonly concealed: Uint8Array;
  private head = 0;
  private count = 0;
  /** Concealed samples buffered: while 0, reads skip the flags entirely (the common case). */
  private concealedCount = 0;

  /** `capacity` is rounded up to a power of two. */
  constructor(capacity: number) {
    let c = 1;
    while (c < capacity) c <<= 1;
    this.capacity = c;
    this.mask = c - 1;
    this.samples = new Int16Array(c);
    this.concealed = new Uint8Array(c);
  }

  /** Samples buffered. */
  get size(): number {
    return this.count;
  }

  /** Room left. */
  get free(): number {
    return this.capacity - this.count;
  }

  /** Append up to `n` samples of `src` (all of it by default); returns how many fit. */
  write(src: Int16Array, concealed: boolean, n = src.length): number {
    const take = Math.min(n, src.length, this.capacity - this.count);
    if (take <= 0) return 0;
    const at = (this.head + this.count) & this.mask;
    const first = Math.min(take, this.capacity - at);
    this.samples.set(first === src.length ? src : src.subarray(0, first), at);
    if (first < take) this.samples.set(src.subarray(first, take), 0);
    this.flag(at, first, take, concealed);
    return take;
  }

  /** Append `n` zero samples (padding); returns how many fit. */
  writeSilence(n: number, concealed: boolean): number {
    const take = Math.min(n, this.capacity - this.count);
    if (take <= 0) return 0;
    const at = (this.head + this.count) & this.mask;
    const first = Math.min(take, this.capacity - at);
    this.samples.fill(0, at, at + first);
    if (first < take) this.samples.fill(0, 0, take - first);
    this.flag(at, first, take, concealed);
    return take;
  }

  /**
   * Move `dst.length` samples (or fewer when less is buffered) into `dst`. Returns the number of samples read
   * and leaves in {@link lastConcealed} how many of them were concealment.
   */
  read(dst: Int16Array): number {
    const take = Math.min(dst.length, this.count);
    const at = this.head;
    const first = Math.min(take, this.capacity - at);
    if (first > 0) dst.set(this.samples.subarray(at, at + first), 0);
    if (first < take) dst.set(this.samples.subarray(0, take - first), first);
    this.lastConcealed = this.concealedCount > 0 ? this.release(at, first, take) : 0;
    this.head = (at + take) & this.mask;
    this.count -= take;
    return take;
  }

  /** Concealed samples among those returned by the last read(). */
  lastConcealed = 0;

  /** Drop up to `n` of the oldest samples; returns how many were dropped. */
  skip(n: number): number {
    const take = Math.min(n, this.count);
    const at = this.head;
    if (this.concealedCount > 0) this.release(at, Math.min(take, this.capacity - at), take);
    this.head = (at + take) & this.mask;
    this.count -= take;
    return take;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
    this.concealedCount = 0;
  }

  /** Set the flags of `take` samples appended at `at` (`first` of them before the wrap) and account them. */
  private flag(at: number, first: number, take: number, concealed: boolean): void {
    const v = concealed ? 1 : 0;
    this.concealed.fill(v, at, at + first);
    if (first < take) this.concealed.fill(v, 0, take - first);
    if (concealed) this.concealedCount += take;
    this.count += take;
  }

  /** Count the concealed samples among `take` leaving from `at` (`first` before the wrap) and forget them. */
  private release(at: number, first: number, take: number): number {
    const flags = this.concealed;
    let c = 0;
    for (let i = 0; i < first; i++) c += flags[at + i];
    for (let i = 0; i < take - first; i++) c += flags[i];
    this.concealedCount -= c;
    return c;
  }
}

/**
 * A FIFO of whole frames of `frameSamples` PCM16 samples, with the reading and writing interface of
 * {@link SampleRing} for whole frames (sizes in samples): the bridge between two legs moves one 20 ms frame per tick,
 * and fixed slots make each move a plain copy without any view or allocation. Frames only: write() takes and read()
 * fills exactly one frame (a shorter write is padded with silence), skip() drops whole frames.
 */
export class FrameRing {
  readonly frameSamples: number;
  private readonly slots: Int16Array[];
  private head = 0;
  private frames = 0;

  constructor(frameSamples: number, frames: number) {
    if (!(frameSamples > 0) || !(frames > 0)) throw new TypeError('FrameRing needs a positive frame size and count');
    this.frameSamples = frameSamples;
    this.slots = Array.from({ length: frames }, () => new Int16Array(frameSamples));
  }

  /** Samples buffered (a multiple of the frame size). */
  get size(): number {
    return this.frames * this.frameSamples;
  }

  /** Append one frame from `src` (its first frameSamples samples; padded with zeros if shorter); 0 when full. */
  write(src: Int16Array, _concealed = false): number {
    if (this.frames === this.slots.length) return 0;
    const slot = this.slots[(this.head + this.frames) % this.slots.length];
    if (src.length === this.frameSamples) {
      slot.set(src);
    } else {
      const n = Math.min(src.length, this.frameSamples);
      for (let i = 0; i < n; i++) slot[i] = src[i];
      slot.fill(0, n);
    }
    this.frames++;
    return this.frameSamples;
  }

  /** Move the oldest frame into `dst` (which must hold a frame); returns the samples read (0 when empty). */
  read(dst: Int16Array): number {
    if (this.frames === 0) return 0;
    const slot = this.slots[this.head];
    if (dst.length === this.frameSamples) dst.set(slot);
    else for (let i = 0; i < Math.min(dst.length, this.frameSamples); i++) dst[i] = slot[i];
    this.head = (this.head + 1) % this.slots.length;
    this.frames--;
    return Math.min(dst.length, this.frameSamples);
  }

  /** Drop the oldest frames covering up to `n` samples (whole frames); returns the samples dropped. */
  skip(n: number): number {
    const drop = Math.min(this.frames, Math.ceil(n / this.frameSamples));
    this.head = (this.head + drop) % this.slots.length;
    this.frames -= drop;
    return drop * this.frameSamples;
  }

  clear(): void {
    this.head = 0;
    this.frames = 0;
  }
}

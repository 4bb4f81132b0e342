/**
 * A fixed-capacity FIFO of PCM16 samples with a "concealed" flag per sample, used to re-chunk received packets of
 * any packetisation time (10, 20, 30, 60 ms) into 20 ms frames. Allocation-free after construction.
 */
export class SampleRing {
  readonly capacity: number;
  private readonly mask: number;
  private readonly samples: Int16Array;
  private readonly concealed: Uint8Array;
  private head = 0;
  private count = 0;

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
    const flag = concealed ? 1 : 0;
    let at = (this.head + this.count) & this.mask;
    for (let i = 0; i < take; i++) {
      this.samples[at] = src[i];
      this.concealed[at] = flag;
      at = (at + 1) & this.mask;
    }
    this.count += take;
    return take;
  }

  /** Append `n` zero samples (padding); returns how many fit. */
  writeSilence(n: number, concealed: boolean): number {
    const take = Math.min(n, this.capacity - this.count);
    const flag = concealed ? 1 : 0;
    let at = (this.head + this.count) & this.mask;
    for (let i = 0; i < take; i++) {
      this.samples[at] = 0;
      this.concealed[at] = flag;
      at = (at + 1) & this.mask;
    }
    this.count += take;
    return take;
  }

  /**
   * Move `dst.length` samples (or fewer when less is buffered) into `dst`. Returns the number of samples read
   * and leaves in {@link lastConcealed} how many of them were concealment.
   */
  read(dst: Int16Array): number {
    const take = Math.min(dst.length, this.count);
    let concealed = 0;
    let at = this.head;
    for (let i = 0; i < take; i++) {
      dst[i] = this.samples[at];
      concealed += this.concealed[at];
      at = (at + 1) & this.mask;
    }
    this.head = at;
    this.count -= take;
    this.lastConcealed = concealed;
    return take;
  }

  /** Concealed samples among those returned by the last read(). */
  lastConcealed = 0;

  /** Drop up to `n` of the oldest samples; returns how many were dropped. */
  skip(n: number): number {
    const take = Math.min(n, this.count);
    this.head = (this.head + take) & this.mask;
    this.count -= take;
    return take;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}

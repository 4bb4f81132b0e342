/** An entry of the queue: audio (consumed from `offset`) or a named mark. */
interface QueueEntry {
  pcm: Int16Array | null;
  offset: number;
  mark: string | null;
}

/**
 * The outgoing PCM stream of a leg (what the AI platform says): chunks of any size are appended, 20 ms frames are
 * taken out at the send clock. Named marks sit between chunks and are reported once every sample queued before
 * them has been taken (sent), or as cleared when the queue is flushed (barge-in).
 */
export class PcmQueue {
  private entries: QueueEntry[] = [];
  private first = 0;
  private queued = 0;
  private marks = 0;
  /** Samples dropped by clear() since creation. */
  clearedSamples = 0;
  /** Samples refused because the queue was full. */
  overflowSamples = 0;

  /** @param maxSamples upper bound of buffered audio (default 10 minutes at 8 kHz): a runaway producer cannot exhaust memory. */
  constructor(private readonly maxSamples = 8000 * 600) {}

  /** Samples of audio buffered. */
  get samples(): number {
    return this.queued;
  }

  /** Marks waiting. */
  get pendingMarks(): number {
    return this.marks;
  }

  /** True when neither audio nor marks are queued. */
  get isEmpty(): boolean {
    return this.first >= this.entries.length;
  }

  /** True when a mark follows the buffered audio (the producer finished an utterance: pad its last frame). */
  get hasMarkAfterAudio(): boolean {
    return this.marks > 0;
  }

  /** Append a copy of `pcm` (the caller may reuse its buffer). Returns false if the queue is full. */
  enqueue(pcm: Int16Array): boolean {
    if (pcm.length === 0) return true;
    if (this.queued + pcm.length > this.maxSamples) {
      this.overflowSamples += pcm.length;
      return false;
    }
    this.entries.push({ pcm: pcm.slice(), offset: 0, mark: null });
    this.queued += pcm.length;
    return true;
  }

  /** Append a mark after everything queued so far. */
  mark(name: string): void {
    this.entries.push({ pcm: null, offset: 0, mark: name });
    this.marks++;
  }

  /** Take up to `dst.length` samples into `dst`; returns how many. Marks reached are kept for {@link takeReachedMarks}. */
  read(dst: Int16Array): number {
    let n = 0;
    const want = dst.length;
    const entries = this.entries;
    let i = this.first;
    while (n < want && i < entries.length) {
      const e = entries[i];
      if (e.pcm === null) {
        // A mark: audio after it may be read in the same frame; the mark is reported by takeReachedMarks.
        i++;
        continue;
      }
      const take = Math.min(want - n, e.pcm.length - e.offset);
      dst.set(e.pcm.subarray(e.offset, e.offset + take), n);
      e.offset += take;
      n += take;
      if (e.offset >= e.pcm.length) {
        e.pcm = null;
        e.offset = 0;
        if (i === this.first) this.first++;
        i++;
      }
    }
    this.queued -= n;
    return n;
  }

  /**
   * Report (and remove) the marks whose preceding audio has all been read: the leading marks of the queue, and
   * marks left behind between chunks consumed by the last read().
   */
  takeReachedMarks(onMark: (name: string) => void): void {
    const entries = this.entries;
    while (this.first < entries.length) {
      const e = entries[this.first];
      if (e.pcm !== null) break;
      this.first++;
      if (e.mark !== null) {
        this.marks--;
        onMark(e.mark);
      }
    }
    this.compact();
  }

  /** Drop all queued audio at once; returns the names of the marks dropped, in order. */
  clear(): string[] {
    const names: string[] = [];
    for (let i = this.first; i < this.entries.length; i++) {
      const m = this.entries[i].mark;
      if (m !== null) names.push(m);
    }
    this.clearedSamples += this.queued;
    this.entries = [];
    this.first = 0;
    this.queued = 0;
    this.marks = 0;
    return names;
  }

  private compact(): void {
    // Drop consumed entries in batches so the array does not grow without bound during a long call.
    if (this.first >= this.entries.length) {
      this.entries.length = 0;
      this.first = 0;
    } else if (this.first > 64) {
      this.entries = this.entries.slice(this.first);
      this.first = 0;
    }
  }
}

/** Samples per 20 ms frame at 8 kHz. */
const FRAME = 160;
/** Ring size to start with (1 s); it doubles as needed, up to the queue's bound. */
const INITIAL_CAPACITY = 8192;
/** At most this many frames (1 s) of playout lost to stalls are taken back. */
const MAX_STALL_DEBT = 50;
/** Ticks after a stall during which its backlog may still arrive (the AI's frames read late, or an echo of them). */
const STALL_WINDOW_TICKS = 25;
/**
 * Audio queued beyond the stall's backlog above which the queue is a pre-buffered utterance, not a real-time stream
 * (200 ms): its delay ends with the utterance, so nothing of it is dropped.
 */
const MAX_REALTIME_LEAD_FRAMES = 10;
/** A small queue that never drained over this many ticks (500 ms) is standing delay of a real-time source. */
const STANDING_TICKS = 25;
/** Ticks to wait for a quiet frame to drop before dropping the next frame whatever it holds. */
const SHRINK_WAIT_TICKS = 25;
/** Mean square of a frame below which dropping it is inaudible (RMS 300, about -41 dBFS: a pause in speech). */
const QUIET_MEAN_SQUARE = 300 * 300;

/**
 * The outgoing PCM stream of a leg (what the AI platform says): chunks of any size are appended, 20 ms frames are
 * taken out at the send clock. Named marks sit between chunks and are reported once every sample queued before
 * them has been taken (sent), or as cleared when the queue is flushed (barge-in).
 *
 * Stalls. When the send clock skips ticks (event loop blocked), the playout falls behind by those periods. For a
 * source that streams at real time (an echo, an agent pacing its own output) the backlog would never drain: each
 * tick takes one frame and one arrives, so the stall would become delay for the rest of the call. {@link tick}
 * counts the periods lost while audio was playing (the skipped ticks, and late ticks that found the queue empty
 * because the backlog had not been read yet) and drops that many of the oldest queued frames as they show up.
 * Dropping rather than sending them in a burst: frames that late are played late or discarded by the far end's
 * jitter buffer anyway, so a burst only moves the delay there, and the caller already heard the stall as a gap,
 * like a network loss. A pre-buffered utterance (more than 200 ms queued beyond the backlog) is left whole: its
 * extra delay ends with it, and cutting it would lose words.
 *
 * Jitter. A real-time source whose frame once came later than its tick leaves the stream a frame behind (the tick
 * sent silence, the late frame took the next period), and nothing would ever take that frame back while the source
 * keeps streaming. A queue of 1-10 frames that stayed flat (never below `min` frames, not growing) over 500 ms is such
 * standing delay: half of it (at least one frame) is dropped, starting at a quiet frame (a pause) when one comes
 * soon, so a continuous stream's delay follows its recent jitter instead of its worst moment. A draining or growing
 * queue (an utterance sent ahead of time) is left alone.
 *
 * Storage is one ring of samples that grows (doubling) with the longest utterance queued, and marks are sample
 * positions in the stream: enqueue and read copy samples and allocate nothing in the steady state (50 frames a
 * second per call).
 */
export class PcmQueue {
  private ring = new Int16Array(INITIAL_CAPACITY);
  /** Stream positions (samples since creation) of the next sample to read and of the next to write. */
  private head = 0;
  private tail = 0;
  private queued = 0;
  /** Pending marks, in order: name and the stream position all audio before it has been read at. */
  private markNames: string[] = [];
  private markAt: number[] = [];
  private marksFirst = 0;
  private stallDebt = 0;
  /** Ticks since the clock last ran late, and how many of the window after it remain (0: no stall pending). */
  private stallAge = 0;
  private stallWindow = 0;
  /** After a stall, until audio is read again: ticks that find nothing to read are lost periods too. */
  private stallAwaitingAudio = false;
  private readSinceTick = false;
  private readLastTick = false;
  /** Standing-queue watch: ticks observed, the least and most whole frames queued at them, and a pending shrink. */
  private standingTicks = 0;
  private standingMin = 0;
  private standingMax = 0;
  private standingFirst = 0;
  private shrinkWait = -1;
  private shrinkFrames = 0;
  /** Samples dropped by clear() since creation. */
  clearedSamples = 0;
  /** Samples refused because the queue was full. */
  overflowSamples = 0;
  /** Samples dropped after stalls (playout kept in real time). */
  stallDroppedSamples = 0;
  /** Samples dropped from standing delay of a real-time source (see the class comment). */
  standingDroppedSamples = 0;

  /** @param maxSamples upper bound of buffered audio (default 10 minutes at 8 kHz): a runaway producer cannot exhaust memory. */
  constructor(private readonly maxSamples = 8000 * 600) {}

  /** Samples of audio buffered. */
  get samples(): number {
    return this.queued;
  }

  /** Marks waiting. */
  get pendingMarks(): number {
    return this.markNames.length - this.marksFirst;
  }

  /** True when neither audio nor marks are queued. */
  get isEmpty(): boolean {
    return this.queued === 0 && this.pendingMarks === 0;
  }

  /** True when a mark follows the buffered audio (the producer finished an utterance: pad its last frame). */
  get hasMarkAfterAudio(): boolean {
    return this.pendingMarks > 0;
  }

  /** Append a copy of `pcm` (the caller may reuse its buffer). Returns false if the queue is full. */
  enqueue(pcm: Int16Array): boolean {
    const n = pcm.length;
    if (n === 0) return true;
    if (this.queued + n > this.maxSamples) {
      this.overflowSamples += n;
      return false;
    }
    if (this.queued + n > this.ring.length) this.grow(this.queued + n);
    const ring = this.ring;
    const cap = ring.length;
    const at = this.tail % cap;
    const first = Math.min(n, cap - at);
    ring.set(first === n ? pcm : pcm.subarray(0, first), at);
    if (first < n) ring.set(pcm.subarray(first), 0);
    this.tail += n;
    this.queued += n;
    return true;
  }

  /** Append a mark after everything queued so far. */
  mark(name: string): void {
    this.markNames.push(name);
    this.markAt.push(this.tail);
  }

  /** Frames of playout still to be taken back after stalls. */
  get stallBacklogFrames(): number {
    return this.stallDebt;
  }

  /**
   * Once per send tick, before the tick reads: `missed` is the number of ticks the clock skipped before this one,
   * `overdue` how many periods late this one runs (see MediaTickTarget). A late clock counts as lost playout only if
   * audio was being read just before: the skipped ticks, and the catch-up tick that runs before the source's next
   * frame could be read. While such a loss is pending, queued frames are a stall's backlog: the oldest are dropped,
   * up to the loss (everything queued at a tick is backlog: a real-time stream's frames are sent as they arrive).
   */
  tick(missed: number, overdue = 0): void {
    const playing = this.readSinceTick || this.readLastTick;
    const readSince = this.readSinceTick;
    this.readLastTick = readSince;
    this.readSinceTick = false;
    if ((missed > 0 || overdue > 0) && (playing || this.stallWindow > 0)) {
      this.stallDebt = Math.min(MAX_STALL_DEBT, this.stallDebt + missed);
      this.stallAge = 0;
      this.stallWindow = STALL_WINDOW_TICKS;
      this.stallAwaitingAudio = true;
    } else if (this.stallWindow > 0) {
      this.stallAge++;
      if (--this.stallWindow === 0) {
        this.stallDebt = 0;
        this.stallAwaitingAudio = false;
        return;
      }
      // The pacer's catch-up tick (or the next one) that ran before the backlog was read sent no audio: one more
      // period lost. Later ticks without audio are a pause of the source, not the stall's doing.
      if (this.stallAwaitingAudio && !readSince && this.queued < FRAME && this.stallAge <= 2) this.stallDebt = Math.min(MAX_STALL_DEBT, this.stallDebt + 1);
    }
    if (this.stallDebt > 0) this.dropStallBacklog();
    this.watchStanding();
  }

  /** Take back one frame of a standing queue (see the class comment). */
  private watchStanding(): void {
    const frames = Math.floor(this.queued / FRAME);
    if (this.stallWindow > 0 || frames === 0 || frames > MAX_REALTIME_LEAD_FRAMES) {
      this.standingTicks = 0;
      this.shrinkWait = -1;
      return;
    }
    if (this.shrinkWait >= 0) {
      if (this.headMeanSquare() < QUIET_MEAN_SQUARE || ++this.shrinkWait > SHRINK_WAIT_TICKS) {
        this.standingDroppedSamples += this.take(null, Math.min(this.shrinkFrames, frames) * FRAME);
        this.shrinkWait = -1;
      }
      return;
    }
    if (this.standingTicks === 0) {
      this.standingMin = frames;
      this.standingMax = frames;
      this.standingFirst = frames;
    } else {
      this.standingMin = Math.min(this.standingMin, frames);
      this.standingMax = Math.max(this.standingMax, frames);
    }
    if (++this.standingTicks >= STANDING_TICKS) {
      // Flat (within a frame) and not growing: a stream arriving at real time, behind by `min` frames.
      if (this.standingMax - this.standingMin <= 1 && frames <= this.standingFirst) {
        this.shrinkWait = 0;
        this.shrinkFrames = Math.ceil(this.standingMin / 2);
      }
      this.standingTicks = 0;
    }
  }

  /** Mean square of the next frame's samples. */
  private headMeanSquare(): number {
    const ring = this.ring;
    const cap = ring.length;
    let sum = 0;
    for (let i = 0, p = this.head; i < FRAME; i++, p++) {
      const v = ring[p % cap];
      sum += v * v;
    }
    return sum / FRAME;
  }

  /** Take up to `dst.length` samples into `dst`; returns how many. Marks reached are kept for {@link takeReachedMarks}. */
  read(dst: Int16Array): number {
    const n = this.take(dst, dst.length);
    if (n > 0) {
      this.readSinceTick = true;
      this.stallAwaitingAudio = false;
    }
    return n;
  }

  private dropStallBacklog(): void {
    const frames = Math.floor(this.queued / FRAME);
    if (frames === 0) return; // the backlog has not arrived (yet)
    if (frames > this.stallDebt + MAX_REALTIME_LEAD_FRAMES) {
      // A pre-buffered utterance: keep it whole (decided once, not again as it drains).
      this.stallDebt = 0;
      this.stallAwaitingAudio = false;
      return;
    }
    const drop = Math.min(this.stallDebt, frames);
    this.stallDebt -= drop;
    this.stallDroppedSamples += this.take(null, drop * FRAME);
  }

  /** Move up to `want` samples from the head into `dst` (or discard them when null); returns how many. */
  private take(dst: Int16Array | null, want: number): number {
    const n = Math.min(want, this.queued);
    if (n === 0) return 0;
    if (dst !== null) {
      const ring = this.ring;
      const cap = ring.length;
      const at = this.head % cap;
      const first = Math.min(n, cap - at);
      dst.set(ring.subarray(at, at + first), 0);
      if (first < n) dst.set(ring.subarray(0, n - first), first);
    }
    this.head += n;
    this.queued -= n;
    return n;
  }

  /** A larger ring holding the queued samples from index 0; positions are re-based so the head is 0. */
  private grow(need: number): void {
    let cap = this.ring.length * 2;
    while (cap < need) cap *= 2;
    const next = new Int16Array(Math.max(need, Math.min(cap, this.maxSamples)));
    const base = this.head;
    const n = this.take(next, this.queued);
    for (let i = this.marksFirst; i < this.markAt.length; i++) this.markAt[i] = Math.max(0, this.markAt[i] - base);
    this.ring = next;
    this.head = 0;
    this.tail = n;
    this.queued = n;
  }

  /**
   * Report (and remove) the marks whose preceding audio has all been read: every mark at or before the read
   * position, in order.
   */
  takeReachedMarks(onMark: (name: string) => void): void {
    while (this.marksFirst < this.markNames.length && this.markAt[this.marksFirst] <= this.head) {
      const name = this.markNames[this.marksFirst++];
      onMark(name);
    }
    if (this.marksFirst === this.markNames.length) {
      this.markNames.length = 0;
      this.markAt.length = 0;
      this.marksFirst = 0;
    } else if (this.marksFirst > 64) {
      this.markNames = this.markNames.slice(this.marksFirst);
      this.markAt = this.markAt.slice(this.marksFirst);
      this.marksFirst = 0;
    }
  }

  /** Drop all queued audio at once; returns the names of the marks dropped, in order. */
  clear(): string[] {
    const names = this.markNames.slice(this.marksFirst);
    this.clearedSamples += this.queued;
    // Barge-in: what comes next is a new utterance, not the backlog of a stall.
    this.stallDebt = 0;
    this.stallWindow = 0;
    this.stallAwaitingAudio = false;
    this.standingTicks = 0;
    this.shrinkWait = -1;
    this.head = this.tail;
    this.queued = 0;
    this.markNames = [];
    this.markAt = [];
    this.marksFirst = 0;
    if (this.ring.length > INITIAL_CAPACITY * 8) this.ring = new Int16Array(INITIAL_CAPACITY);
    return names;
  }
}

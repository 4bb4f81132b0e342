import { seqAdd, seqDiff, tsDiff } from './seq';

export interface JitterBufferOptions {
  /** Slots in the ring; a power of two (default 32 = 640 ms of 20 ms frames). */
  capacity?: number;
  /** Largest payload stored per slot (bytes); larger frames are rejected. Default 480 (60 ms of G.711). */
  maxFrameBytes?: number;
  /** Bounds of the adaptive playout depth, in frames (default 1-5). */
  minDepth?: number;
  maxDepth?: number;
  /** Media clock rate, for the jitter estimate (default 8000). */
  clockRate?: number;
  /** Consecutive missing frames concealed before the buffer declares an underrun (default 5). */
  maxConcealed?: number;
}

/** Result of {@link JitterBuffer.put}. */
export type JitterPutResult = 'ok' | 'duplicate' | 'late' | 'too-large' | 'reset';

/** Result of {@link JitterBuffer.get}. */
export type JitterGetResult =
  /** `out` holds the next frame. */
  | 'frame'
  /** The next frame is missing: conceal it (repeat or attenuate the previous frame). */
  | 'lost'
  /** Nothing to play (prefetching, underrun, silence or hold): play silence / comfort noise. */
  | 'empty';

/** Slot kinds: audio, or a sequence number taken by a packet without audio (see {@link JitterBuffer.skip}). */
const AUDIO = 0;
const TAKEN = 1;

/** A frame handed out by {@link JitterBuffer.get}. `payload` is a view valid until the next put/get. */
export class JitterFrame {
  sequenceNumber = 0;
  timestamp = 0;
  marker = false;
  payloadType = 0;
  payload: Buffer = Buffer.alloc(0);
}

/**
 * Adaptive jitter buffer for constant-rate audio (pjmedia `jbuf.c` in spirit): a fixed ring of
 * `capacity` slots indexed by `seq & mask`, payloads copied into preallocated storage, all sequence math
 * through the 16-bit wrap helpers. The consumer calls {@link get} once per frame period.
 *
 * Depth adapts between minDepth and maxDepth frames from the RFC 3550 A.8 jitter estimate: it grows when
 * playout restarts after an underrun, and shrinks by discarding a frame when more is buffered than needed
 * for a sustained period.
 *
 * Sequence numbers are shared with packets that carry no audio: RFC 4733 §2.1 sends telephone-events in the same RTP
 * stream (same SSRC and sequence space) as the audio, and RFC 3389 comfort noise does the same. The receiver
 * classifies by payload type before the buffer and reports those numbers with {@link skip}; playout steps over them
 * instead of concealing a "lost" frame for each, and when the audio paused for them (a sender holds its audio during
 * an event, RFC 4733 §2.5.1) playout stops without concealment and restarts with the next talk spurt.
 */
export class JitterBuffer {
  readonly capacity: number;
  private readonly mask: number;
  private readonly maxFrameBytes: number;
  readonly minDepth: number;
  readonly maxDepth: number;
  private readonly clockRate: number;
  private readonly maxConcealed: number;
  private readonly storage: Buffer;
  private readonly slotSeq: Int32Array;
  private readonly slotTs: Uint32Array;
  private readonly slotLen: Uint16Array;
  private readonly slotPt: Uint8Array;
  private readonly slotMarker: Uint8Array;
  /** AUDIO or TAKEN, for occupied slots. */
  private readonly slotKind: Uint8Array;
  /** One reusable view per slot over `storage`, handed out by get() (no allocation per frame). */
  private readonly slotView: Buffer[];
  /** Audio frames buffered. */
  private count = 0;
  /** Slots holding sequence numbers taken by packets without audio. */
  private taken = 0;
  private playing = false;
  /** Next sequence number to play (valid while playing). */
  private nextSeq = 0;
  /** Lowest sequence number buffered while prefetching. */
  private headSeq = 0;
  private concealed = 0;
  private surplusFrames = 0;
  private jitterTs = 0;
  private lastTransit = 0;
  private haveTransit = false;
  private frameSamples = 160;
  private lastPutSeq = -1;
  private lastPutTs = 0;
  /** Current target playout depth in frames. */
  targetDepth: number;
  // Counters.
  framesPut = 0;
  framesPlayed = 0;
  framesLost = 0;
  duplicates = 0;
  late = 0;
  discarded = 0;
  resets = 0;
  /** Sequence numbers stepped over because packets without audio took them (see {@link skip}). */
  skipped = 0;

  constructor(opts: JitterBufferOptions = {}) {
    const capacity = opts.capacity ?? 32;
    if (capacity < 4 || capacity > 4096 || (capacity & (capacity - 1)) !== 0) throw new TypeError('jitter buffer capacity must be a power of two in 4..4096');
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.maxFrameBytes = opts.maxFrameBytes ?? 480;
    this.minDepth = Math.max(1, opts.minDepth ?? 1);
    this.maxDepth = Math.min(capacity / 2, Math.max(this.minDepth, opts.maxDepth ?? 5));
    this.clockRate = opts.clockRate ?? 8000;
    this.maxConcealed = opts.maxConcealed ?? 5;
    this.targetDepth = this.minDepth;
    this.storage = Buffer.alloc(capacity * this.maxFrameBytes);
    this.slotSeq = new Int32Array(capacity).fill(-1);
    this.slotTs = new Uint32Array(capacity);
    this.slotLen = new Uint16Array(capacity);
    this.slotPt = new Uint8Array(capacity);
    this.slotMarker = new Uint8Array(capacity);
    this.slotKind = new Uint8Array(capacity);
    this.slotView = [];
    for (let i = 0; i < capacity; i++) this.slotView.push(this.storage.subarray(i * this.maxFrameBytes, i * this.maxFrameBytes));
  }

  /** Frames currently buffered. */
  get size(): number {
    return this.count;
  }

  /** True while frames are being played out (after prefetch). */
  get isPlaying(): boolean {
    return this.playing;
  }

  /** Current jitter estimate in ms. */
  get jitterMs(): number {
    return (this.jitterTs * 1000) / this.clockRate;
  }

  /** Drop everything and start prefetching again. */
  reset(): void {
    this.slotSeq.fill(-1);
    this.count = 0;
    this.taken = 0;
    this.playing = false;
    this.concealed = 0;
    this.surplusFrames = 0;
    this.haveTransit = false;
    this.lastPutSeq = -1;
  }

  /**
   * Store a frame. `arrivalMs` is the local clock at arrival (for the jitter estimate). The payload is copied.
   */
  put(sequenceNumber: number, timestamp: number, payload: Uint8Array, arrivalMs: number, payloadType = 0, marker = false): JitterPutResult {
    if (payload.length > this.maxFrameBytes) return 'too-large';
    let result: JitterPutResult = 'ok';
    if (this.playing) {
      const ahead = seqDiff(sequenceNumber, this.nextSeq);
      if (ahead < 0) {
        this.late++;
        return 'late';
      }
      if (ahead >= this.capacity) {
        // The stream jumped (new source, long silence with a sequence restart): start over.
        this.reset();
        this.resets++;
        result = 'reset';
      }
    }
    if (!this.playing) {
      if (this.count === 0) {
        this.headSeq = sequenceNumber;
      } else {
        const d = seqDiff(sequenceNumber, this.headSeq);
        if (d < 0) {
          if (-d + this.span() >= this.capacity) {
            this.late++;
            return 'late';
          }
          this.headSeq = sequenceNumber;
        } else if (d >= this.capacity) {
          this.reset();
          this.resets++;
          this.headSeq = sequenceNumber;
          result = 'reset';
        }
      }
    }
    const slot = sequenceNumber & this.mask;
    if (this.slotSeq[slot] === sequenceNumber) {
      this.duplicates++;
      return 'duplicate';
    }
    if (this.slotSeq[slot] < 0) {
      this.count++;
    } else if (this.slotKind[slot] === TAKEN) {
      // A stale mark from an older sequence number.
      this.taken--;
      this.count++;
    }
    this.slotKind[slot] = AUDIO;
    this.slotSeq[slot] = sequenceNumber;
    this.slotTs[slot] = timestamp >>> 0;
    this.slotLen[slot] = payload.length;
    this.slotPt[slot] = payloadType;
    this.slotMarker[slot] = marker ? 1 : 0;
    this.storage.set(payload, slot * this.maxFrameBytes);
    this.framesPut++;
    this.observe(sequenceNumber, timestamp, arrivalMs);
    return result;
  }

  /**
   * Record that `sequenceNumber` was taken by a packet of the stream that carries no audio for this buffer (an
   * RFC 4733 telephone-event, comfort noise): playout steps over it instead of reporting a lost frame. Numbers
   * already played, or before the first buffered frame while prefetching, need no record and are ignored
   * ('late'); so are numbers too far ahead to place.
   */
  skip(sequenceNumber: number): JitterPutResult {
    let ahead: number;
    if (this.playing) {
      ahead = seqDiff(sequenceNumber, this.nextSeq);
    } else {
      // Prefetching: playout will start at the first audio frame, so only numbers after it matter.
      if (this.count === 0) return 'late';
      ahead = seqDiff(sequenceNumber, this.headSeq);
      if (ahead === 0) return 'duplicate';
    }
    if (ahead < 0 || ahead >= this.capacity) return 'late';
    const slot = sequenceNumber & this.mask;
    if (this.slotSeq[slot] === sequenceNumber) {
      this.duplicates++;
      return 'duplicate';
    }
    if (this.slotSeq[slot] >= 0) {
      // A stale entry from an older sequence number.
      if (this.slotKind[slot] === TAKEN) this.taken--;
      else this.count--;
    }
    this.slotSeq[slot] = sequenceNumber;
    this.slotKind[slot] = TAKEN;
    this.taken++;
    return 'ok';
  }

  /** Span of sequence numbers of audio buffered while prefetching (head to highest). */
  private span(): number {
    let max = 0;
    for (let i = 0; i < this.capacity; i++) {
      const s = this.slotSeq[i];
      if (s >= 0 && this.slotKind[i] === AUDIO) max = Math.max(max, seqDiff(s, this.headSeq));
    }
    return max + 1;
  }

  /** RFC 3550 A.8 interarrival jitter, and the frame size from consecutive packets. */
  private observe(seq: number, ts: number, arrivalMs: number): void {
    if (this.lastPutSeq >= 0 && seqDiff(seq, this.lastPutSeq) === 1) {
      const step = tsDiff(ts, this.lastPutTs);
      if (step > 0 && step <= this.clockRate) this.frameSamples = step;
    }
    this.lastPutSeq = seq;
    this.lastPutTs = ts;
    const transit = (Math.floor((arrivalMs * this.clockRate) / 1000) - ts) | 0;
    if (this.haveTransit) {
      let d = (transit - this.lastTransit) | 0;
      if (d < 0) d = -d;
      if (d < this.clockRate * 10) this.jitterTs += (d - this.jitterTs) / 16;
    }
    this.lastTransit = transit;
    this.haveTransit = true;
    // Cover about twice the mean deviation, plus the frame in flight.
    const depth = 1 + Math.ceil((2 * this.jitterTs) / this.frameSamples);
    this.targetDepth = Math.max(this.minDepth, Math.min(this.maxDepth, depth));
  }

  /** Take the frame due now into `out`. Call once per frame period. */
  get(out: JitterFrame): JitterGetResult {
    if (!this.playing) {
      if (this.count === 0 || this.count < this.targetDepth) return 'empty';
      this.playing = true;
      this.nextSeq = this.headSeq;
      this.concealed = 0;
      this.surplusFrames = 0;
    }
    if (this.taken > 0 && this.stepOverTaken() && this.count === 0) {
      // The peer's audio paused for what took those numbers (RFC 4733 §2.5.1: no audio beside an event): not a
      // loss. Playout restarts with the next talk spurt.
      this.underrun();
      return 'empty';
    }
    if (this.count === 0) {
      // Nothing buffered: conceal a few frames (a loss at the tail), then declare an underrun.
      if (this.concealed >= this.maxConcealed) {
        this.underrun();
        return 'empty';
      }
      this.concealed++;
      this.framesLost++;
      this.nextSeq = seqAdd(this.nextSeq, 1);
      return 'lost';
    }
    if (this.shrinkIfSurplus() && this.taken > 0) this.stepOverTaken();
    const slot = this.nextSeq & this.mask;
    if (this.slotSeq[slot] !== this.nextSeq) {
      this.concealed++;
      this.framesLost++;
      this.nextSeq = seqAdd(this.nextSeq, 1);
      return 'lost';
    }
    this.take(slot, out);
    this.nextSeq = seqAdd(this.nextSeq, 1);
    this.concealed = 0;
    this.framesPlayed++;
    return 'frame';
  }

  /** Advance playout over sequence numbers taken by packets without audio; true if any was passed. */
  private stepOverTaken(): boolean {
    let any = false;
    for (;;) {
      const slot = this.nextSeq & this.mask;
      if (this.slotSeq[slot] !== this.nextSeq || this.slotKind[slot] !== TAKEN) return any;
      this.slotSeq[slot] = -1;
      this.taken--;
      this.skipped++;
      this.nextSeq = seqAdd(this.nextSeq, 1);
      any = true;
    }
  }

  /** Stop playing and prefetch again; marks of taken numbers ahead are forgotten (playout restarts at audio). */
  private underrun(): void {
    this.playing = false;
    if (this.taken > 0) {
      for (let i = 0; i < this.capacity; i++) if (this.slotSeq[i] >= 0 && this.slotKind[i] === TAKEN) this.slotSeq[i] = -1;
      this.taken = 0;
    }
  }

  private take(slot: number, out: JitterFrame): void {
    out.sequenceNumber = this.slotSeq[slot];
    out.timestamp = this.slotTs[slot];
    out.marker = this.slotMarker[slot] === 1;
    out.payloadType = this.slotPt[slot];
    const len = this.slotLen[slot];
    let view = this.slotView[slot];
    if (view.length !== len) {
      // Packet sizes rarely change within a stream: a new view only when they do.
      const start = slot * this.maxFrameBytes;
      view = this.storage.subarray(start, start + len);
      this.slotView[slot] = view;
    }
    out.payload = view;
    this.slotSeq[slot] = -1;
    this.count--;
  }

  /** Latency control: after ~1 s with two frames more than needed, drop the oldest frame. True if it dropped one. */
  private shrinkIfSurplus(): boolean {
    if (this.count > this.targetDepth + 1) {
      if (++this.surplusFrames >= 50) {
        const slot = this.nextSeq & this.mask;
        if (this.slotSeq[slot] === this.nextSeq) {
          this.slotSeq[slot] = -1;
          this.count--;
          this.discarded++;
        }
        this.nextSeq = seqAdd(this.nextSeq, 1);
        this.surplusFrames = 0;
        return true;
      }
    } else {
      this.surplusFrames = 0;
    }
    return false;
  }
}

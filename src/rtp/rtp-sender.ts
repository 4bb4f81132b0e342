import { Clock, systemClock } from '../util';
import { encodeRtpInto, RTP_HEADER_SIZE, RtpHeaderFields } from './rtp-packet';
import { randomSeq, randomUint32, seqAdd, tsAdd, tsDiff } from './seq';

export interface RtpSenderOptions {
  /** Default payload type for audio frames. */
  payloadType: number;
  /** Media clock rate (8000 for G.711 and telephone-event, RFC 3551 §4.5.14). */
  clockRate?: number;
  ssrc?: number;
  initialSequence?: number;
  initialTimestamp?: number;
  clock?: Clock;
  /**
   * Idle time after which the next frame starts a new talk spurt (marker bit, timestamp re-synced to the
   * clock). Default: 2.5 frame durations of the previous frame.
   */
  gapMs?: number;
}

/** Options of one outgoing frame. */
export interface RtpFrameOptions {
  /** Override the payload type (e.g. a second negotiated codec). */
  payloadType?: number;
  /** Force the marker bit. */
  marker?: boolean;
}

/**
 * One outgoing RTP stream (one SSRC): sequence numbers and timestamps stay continuous whatever produces the
 * audio (prompt, AI speech, music on hold), so the receiver never sees a new stream.
 *
 * - RFC 3550 §5.1: sequence numbers increase by one per packet; the timestamp advances by the sampling
 *   instants the packet covers.
 * - RFC 3551 §4.1: the marker bit is set on the first packet of a talk spurt (after silence without packets).
 * - After a silence gap the timestamp jumps by the elapsed time (never backwards), so the receiver's
 *   playout stays consistent with the sender's clock.
 */
export class RtpSender {
  readonly ssrc: number;
  readonly clockRate: number;
  payloadType: number;
  /** Sequence number of the next packet. */
  sequenceNumber: number;
  /** RTP timestamp of the next audio frame. */
  timestamp: number;
  /** RTP timestamp of the last packet sent. */
  lastTimestamp = 0;
  packetsSent = 0;
  /** Payload octets sent (the SR octet count, RFC 3550 §6.4.1). */
  octetsSent = 0;
  private readonly clock: Clock;
  private readonly gapMs: number | undefined;
  private lastFrameAt = Number.NaN;
  private lastFrameMs = 20;
  private anchorAt = Number.NaN;
  private anchorTs = 0;
  private talkspurt = true;
  private readonly header: RtpHeaderFields = { marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0 };

  constructor(opts: RtpSenderOptions) {
    this.payloadType = opts.payloadType;
    this.clockRate = opts.clockRate ?? 8000;
    this.ssrc = (opts.ssrc ?? randomUint32()) >>> 0;
    this.sequenceNumber = (opts.initialSequence ?? randomSeq()) & 0xffff;
    this.timestamp = (opts.initialTimestamp ?? randomUint32()) >>> 0;
    this.clock = opts.clock ?? systemClock;
    this.gapMs = opts.gapMs;
    this.header.ssrc = this.ssrc;
  }

  /** Mark the next frame as the start of a talk spurt (e.g. after the caller was muted). */
  startTalkspurt(): void {
    this.talkspurt = true;
  }

  /**
   * Encode the next audio frame of `samples` sampling instants into a new Buffer (a fresh buffer per packet
   * because dgram sends asynchronously). Use {@link encodeFrameInto} to supply the buffer.
   */
  encodeFrame(payload: Uint8Array, samples: number, opts?: RtpFrameOptions, nowMs?: number): Buffer {
    const buf = Buffer.allocUnsafe(RTP_HEADER_SIZE + payload.length);
    this.encodeFrameInto(payload, samples, buf, opts, nowMs);
    return buf;
  }

  /** Encode the next audio frame into `buf`; returns the bytes written. `nowMs`: the clock's time, if already read. */
  encodeFrameInto(payload: Uint8Array, samples: number, buf: Buffer, opts?: RtpFrameOptions, nowMs?: number): number {
    const now = nowMs ?? this.clock.now();
    let marker = opts?.marker ?? false;
    if (Number.isNaN(this.lastFrameAt)) {
      this.anchor(now);
      marker = true;
    } else {
      const gap = this.gapMs ?? this.lastFrameMs * 2.5;
      if (now - this.lastFrameAt > gap) {
        // Silence without packets: jump the timestamp by the time that passed (RFC 3550 §5.1), never back.
        const clockTs = tsAdd(this.anchorTs, Math.round(((now - this.anchorAt) * this.clockRate) / 1000));
        if (tsDiff(clockTs, this.timestamp) > 0) this.timestamp = clockTs;
        this.talkspurt = true;
      }
    }
    if (this.talkspurt) {
      marker = true;
      this.talkspurt = false;
    }
    const h = this.header;
    h.marker = marker;
    h.payloadType = opts?.payloadType ?? this.payloadType;
    h.sequenceNumber = this.sequenceNumber;
    h.timestamp = this.timestamp;
    const n = encodeRtpInto(h, payload, buf);
    this.lastTimestamp = this.timestamp;
    this.sequenceNumber = seqAdd(this.sequenceNumber, 1);
    this.timestamp = tsAdd(this.timestamp, samples);
    this.packetsSent++;
    this.octetsSent += payload.length;
    this.lastFrameAt = now;
    this.lastFrameMs = (samples * 1000) / this.clockRate;
    return n;
  }

  /**
   * Encode a packet at an explicit timestamp without advancing the audio timestamp (RFC 4733 events keep the
   * event's start timestamp across all their packets, §2.5.1.2). Consumes a sequence number.
   */
  encodeAt(payload: Uint8Array, payloadType: number, timestamp: number, marker: boolean): Buffer {
    const h = this.header;
    h.marker = marker;
    h.payloadType = payloadType;
    h.sequenceNumber = this.sequenceNumber;
    h.timestamp = timestamp >>> 0;
    const buf = Buffer.allocUnsafe(RTP_HEADER_SIZE + payload.length);
    encodeRtpInto(h, payload, buf);
    this.lastTimestamp = h.timestamp;
    this.sequenceNumber = seqAdd(this.sequenceNumber, 1);
    this.packetsSent++;
    this.octetsSent += payload.length;
    return buf;
  }

  /**
   * Reserve the timestamp for an out-of-band event starting now (RFC 4733 §2.3.3: the event timestamp is the
   * instant it began), re-synced to the clock if the stream was idle.
   */
  beginEvent(): number {
    const now = this.clock.now();
    if (Number.isNaN(this.lastFrameAt)) {
      this.anchor(now);
    } else if (now - this.lastFrameAt > (this.gapMs ?? this.lastFrameMs * 2.5)) {
      const clockTs = tsAdd(this.anchorTs, Math.round(((now - this.anchorAt) * this.clockRate) / 1000));
      if (tsDiff(clockTs, this.timestamp) > 0) this.timestamp = clockTs;
    }
    this.lastFrameAt = now;
    return this.timestamp;
  }

  /** Advance the audio timestamp past an event of `durationSamples`; audio after it starts a talk spurt. */
  endEvent(eventTimestamp: number, durationSamples: number): void {
    const after = tsAdd(eventTimestamp, durationSamples);
    if (tsDiff(after, this.timestamp) > 0) this.timestamp = after;
    this.lastFrameAt = this.clock.now();
    this.talkspurt = true;
  }

  private anchor(now: number): void {
    this.anchorAt = now;
    this.anchorTs = this.timestamp;
  }
}

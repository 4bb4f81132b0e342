/**
 * RFC 4733 telephone-events (DTMF) payload and the receiver / sender state machines.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     event     |E|R| volume    |          duration             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

export const TELEPHONE_EVENT_SIZE = 4;
const END_MASK = 0x80;
const VOLUME_MASK = 0x3f;

/** DTMF digits by RFC 4733 §3.2 event code 0-15. */
export const DTMF_EVENTS = '0123456789*#ABCD';

export type DtmfDigit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';

/** The decoded event payload (caller-owned, refilled by {@link decodeTelephoneEvent}). */
export interface TelephoneEventPayload {
  event: number;
  end: boolean;
  /** Power level in -dBm0 (0-63). */
  volume: number;
  /** Duration so far, in timestamp units. */
  duration: number;
}

export type TelephoneEventDecodeErrorCode = 'DTMF_SHORT_PAYLOAD';

/** Decode the first event of an RFC 4733 payload. Never throws. */
export function decodeTelephoneEvent(buf: Uint8Array, out: TelephoneEventPayload): TelephoneEventDecodeErrorCode | null {
  if (buf.length < TELEPHONE_EVENT_SIZE) return 'DTMF_SHORT_PAYLOAD';
  out.event = buf[0];
  out.end = (buf[1] & END_MASK) !== 0;
  out.volume = buf[1] & VOLUME_MASK;
  out.duration = (buf[2] << 8) | buf[3];
  return null;
}

/** Encode an event payload into `buf` at `offset` (4 bytes). The R bit is always 0 (§2.3.2). */
export function encodeTelephoneEventInto(p: TelephoneEventPayload, buf: Uint8Array, offset = 0): number {
  buf[offset] = p.event & 0xff;
  buf[offset + 1] = (p.end ? END_MASK : 0) | (p.volume & VOLUME_MASK);
  const d = Math.max(0, Math.min(0xffff, Math.round(p.duration)));
  buf[offset + 2] = d >> 8;
  buf[offset + 3] = d & 0xff;
  return TELEPHONE_EVENT_SIZE;
}

/** Event code for a digit, or -1. */
export function dtmfEventCode(digit: string): number {
  return digit.length === 1 ? DTMF_EVENTS.indexOf(digit.toUpperCase()) : -1;
}

/** A completed digit. */
export interface DtmfEvent {
  digit: DtmfDigit;
  /** RTP timestamp of the event start (the event's identity, RFC 4733 §2.5.2.1). */
  timestamp: number;
  /** Duration in timestamp units. */
  duration: number;
  /** Duration in milliseconds. */
  durationMs: number;
  volume: number;
  /** False when the end packets were lost and the event was closed by a new event or a timeout. */
  endSeen: boolean;
}

/**
 * Receives RFC 4733 events and reports each digit exactly once. Events are identified by their RTP timestamp
 * (§2.5.2.1): retransmitted start/continuation packets and the three redundant end packets (§2.5.1.4) of the
 * same timestamp do not produce a second digit. A digit is reported on its first end packet, or, when all end
 * packets were lost, when the next event starts or {@link poll} finds it stale.
 */
export class TelephoneEventReceiver {
  private readonly clockRate: number;
  private readonly staleMs: number;
  private readonly scratch: TelephoneEventPayload = { event: 0, end: false, volume: 0, duration: 0 };
  private active = false;
  private curTs = 0;
  private curEvent = 0;
  private curDuration = 0;
  private curVolume = 0;
  private lastPacketAt = 0;
  /** The open event already ended but a previous event was reported first; poll() reports it. */
  private pendingEnd = false;
  /** Timestamps of recently finished events, so late redundant packets are ignored. */
  private readonly finished: number[] = [];
  /** Packets ignored (non-DTMF events, malformed, or belonging to a finished event). */
  ignored = 0;

  constructor(opts: { clockRate?: number; staleMs?: number } = {}) {
    this.clockRate = opts.clockRate ?? 8000;
    this.staleMs = opts.staleMs ?? 1000;
  }

  /**
   * Feed one telephone-event packet. Returns the completed digit, if this packet completes one, else null.
   * When a new event arrives while an unfinished one is open, the open one is returned first and the new one
   * starts; its own completion is reported by a later packet.
   */
  push(timestamp: number, payload: Uint8Array, arrivalMs: number): DtmfEvent | null {
    const p = this.scratch;
    if (decodeTelephoneEvent(payload, p) !== null || p.event >= DTMF_EVENTS.length) {
      this.ignored++;
      return null;
    }
    timestamp >>>= 0;
    if (this.active && timestamp === this.curTs) {
      this.lastPacketAt = arrivalMs;
      if (p.duration > this.curDuration) this.curDuration = p.duration;
      if (p.end) return this.finish(true);
      return null;
    }
    if (this.finished.includes(timestamp)) {
      // Redundant end packet or retransmission of an event already reported.
      this.ignored++;
      return null;
    }
    const previous = this.active ? this.finish(false) : null;
    this.active = true;
    this.curTs = timestamp;
    this.curEvent = p.event;
    this.curDuration = p.duration;
    this.curVolume = p.volume;
    this.lastPacketAt = arrivalMs;
    if (p.end && !previous) return this.finish(true);
    if (p.end) {
      // Report the earlier digit now; this one (already ended) is reported by the next poll().
      this.pendingEnd = true;
    }
    return previous;
  }

  /** Close an event whose end packets never arrived (or report one deferred by push). Call periodically. */
  poll(nowMs: number): DtmfEvent | null {
    if (!this.active) return null;
    if (this.pendingEnd) return this.finish(true);
    if (nowMs - this.lastPacketAt >= this.staleMs) return this.finish(false);
    return null;
  }

  private finish(endSeen: boolean): DtmfEvent {
    this.active = false;
    this.pendingEnd = false;
    this.finished.push(this.curTs);
    if (this.finished.length > 8) this.finished.shift();
    return {
      digit: DTMF_EVENTS[this.curEvent] as DtmfDigit,
      timestamp: this.curTs,
      duration: this.curDuration,
      durationMs: (this.curDuration * 1000) / this.clockRate,
      volume: this.curVolume,
      endSeen,
    };
  }
}

/** One packet of an outgoing event, in send order. */
export interface TelephoneEventPacketPlan {
  /** Milliseconds after the event start at which to send it. */
  atMs: number;
  marker: boolean;
  end: boolean;
  /** Duration field in timestamp units. */
  duration: number;
}

export interface TelephoneEventPlanOptions {
  clockRate?: number;
  /** Interval between updates (RFC 4733 §2.5.1.2; 50 ms is the customary rate). */
  intervalMs?: number;
  /** How many times the final packet is sent (§2.5.1.4 recommends three). */
  endRepeats?: number;
}

/**
 * The packet schedule of one event (RFC 4733 §2.5.1): a start packet with the marker bit, an update every
 * interval with the growing duration, then the end packet sent `endRepeats` times with the final duration.
 * All share the event's start timestamp.
 */
export function planTelephoneEvent(durationMs: number, opts: TelephoneEventPlanOptions = {}): TelephoneEventPacketPlan[] {
  const rate = opts.clockRate ?? 8000;
  const interval = opts.intervalMs ?? 50;
  const repeats = Math.max(1, opts.endRepeats ?? 3);
  if (!(durationMs > 0)) throw new TypeError('event duration must be positive');
  // The duration field is 16 bits; 8.19 s at 8 kHz is far longer than any DTMF digit.
  const total = Math.min(0xffff, Math.round((durationMs * rate) / 1000));
  const plan: TelephoneEventPacketPlan[] = [{ atMs: 0, marker: true, end: false, duration: 0 }];
  for (let t = interval; t < durationMs; t += interval) {
    plan.push({ atMs: t, marker: false, end: false, duration: Math.round((t * rate) / 1000) });
  }
  for (let i = 0; i < repeats; i++) plan.push({ atMs: durationMs, marker: false, end: true, duration: total });
  return plan;
}

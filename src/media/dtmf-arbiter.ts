import type { DtmfDigit } from '../dsp';

/** Where a digit was detected. */
export type DtmfSource = 'rfc4733' | 'inband';

/** A digit reported by a media session. */
export interface MediaDtmfEvent {
  digit: DtmfDigit;
  source: DtmfSource;
  durationMs: number;
}

export interface DtmfArbiterOptions {
  /**
   * How long an in-band digit is held back while telephone-event is negotiated, waiting for an RFC 4733 report
   * of the same press (default 300 ms). Without telephone-event in-band digits are reported at once.
   */
  holdMs?: number;
  /**
   * Slack around an RFC 4733 event window within which an in-band detection of the same digit counts as the same
   * press (default 400 ms: the in-band path lags by the jitter buffer depth and the detector's timing rules).
   */
  slackMs?: number;
}

interface Window {
  digit: DtmfDigit;
  start: number;
  end: number;
}

interface Pending {
  event: MediaDtmfEvent;
  start: number;
  end: number;
  releaseAt: number;
}

const WINDOWS = 8;

/**
 * One key press, one digit. A peer may send a press both as RFC 4733 events and as in-band tones (RFC 4733 §2.5.1
 * asks senders not to, but gateways do). RFC 4733 wins: it is exact and survives codecs that mangle tones.
 *
 * - RFC 4733 digits are reported at once and their time window [end - duration, end] is remembered.
 * - An in-band digit of the same key overlapping such a window (with slack) is suppressed.
 * - While telephone-event is negotiated, in-band digits wait `holdMs` before being reported, so an RFC 4733 report
 *   arriving a little later still suppresses them. Without telephone-event they are reported immediately.
 *
 * Times are the session clock's milliseconds.
 */
export class DtmfArbiter {
  private readonly holdMs: number;
  private readonly slackMs: number;
  private readonly windows: Window[] = [];
  private pending: Pending[] = [];
  /** In-band detections dropped as duplicates of RFC 4733 events. */
  suppressed = 0;

  constructor(
    private readonly emit: (event: MediaDtmfEvent) => void,
    opts: DtmfArbiterOptions = {},
  ) {
    this.holdMs = opts.holdMs ?? 300;
    this.slackMs = opts.slackMs ?? 400;
  }

  /** An RFC 4733 digit completed now. */
  rfc4733(digit: DtmfDigit, durationMs: number, nowMs: number): void {
    const start = nowMs - durationMs;
    this.windows.push({ digit, start, end: nowMs });
    if (this.windows.length > WINDOWS) this.windows.shift();
    if (this.pending.length > 0) {
      const before = this.pending.length;
      this.pending = this.pending.filter((p) => !(p.event.digit === digit && this.overlaps(p.start, p.end, start, nowMs)));
      this.suppressed += before - this.pending.length;
    }
    this.emit({ digit, source: 'rfc4733', durationMs });
  }

  /**
   * An in-band press ended now after `durationMs` of tone. `telephoneEvent` says whether RFC 4733 was negotiated
   * (then the digit is held back for a possible RFC 4733 twin).
   */
  inband(digit: DtmfDigit, durationMs: number, nowMs: number, telephoneEvent: boolean): void {
    const start = nowMs - durationMs;
    for (const w of this.windows) {
      if (w.digit === digit && this.overlaps(start, nowMs, w.start, w.end)) {
        this.suppressed++;
        return;
      }
    }
    const event: MediaDtmfEvent = { digit, source: 'inband', durationMs };
    if (!telephoneEvent) {
      this.emit(event);
      return;
    }
    this.pending.push({ event, start, end: nowMs, releaseAt: nowMs + this.holdMs });
  }

  /** True while a report is held back (poll() has something to release). */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Report held in-band digits whose hold expired. Call periodically (every media tick). */
  poll(nowMs: number): void {
    while (this.pending.length > 0 && this.pending[0].releaseAt <= nowMs) {
      const p = this.pending.shift() as Pending;
      this.emit(p.event);
    }
  }

  /** Report everything still held (the stream is ending). */
  flush(): void {
    const held = this.pending;
    this.pending = [];
    for (const p of held) this.emit(p.event);
  }

  private overlaps(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
    return aStart <= bEnd + this.slackMs && bStart <= aEnd + this.slackMs;
  }
}

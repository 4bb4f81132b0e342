import { RtcpReportBlock } from './rtcp-packet';
import { msToNtpShort } from './ntp';
import { RtpSequenceValidator, SeqUpdateResult } from './seq-validator';

/**
 * Reception statistics for one remote source (RFC 3550 §6.4.1, Appendix A.1, A.3, A.8):
 * sequence validation, loss, interarrival jitter and the LSR/DLSR bookkeeping for report blocks.
 */
export class RtpReceiveStats {
  readonly seq = new RtpSequenceValidator();
  /** SSRC of the source, once a packet has been seen. */
  ssrc: number | null = null;
  packets = 0;
  /** Payload octets received. */
  bytes = 0;
  /** Clock time (ms) of the last packet accepted, or null. */
  lastPacketAt: number | null = null;
  /** Interarrival jitter in timestamp units, unrounded (RFC 3550 A.8 `jitter` / 16). */
  jitter = 0;
  private transit = 0;
  private haveTransit = false;
  /** Middle 32 bits of the last SR's NTP time and the clock time it arrived (for LSR/DLSR). */
  private lastSrNtp = 0;
  private lastSrAt = 0;

  constructor(readonly clockRate = 8000) {}

  /** Forget the source (SSRC change or re-latching). */
  reset(): void {
    this.seq.reset();
    this.ssrc = null;
    this.packets = 0;
    this.bytes = 0;
    this.lastPacketAt = null;
    this.jitter = 0;
    this.haveTransit = false;
    this.lastSrNtp = 0;
    this.lastSrAt = 0;
  }

  /**
   * Account one received RTP packet. `arrivalMs` is the local clock at arrival.
   * Returns the sequence validation verdict; callers drop packets whose verdict is 'bad'.
   */
  update(ssrc: number, sequenceNumber: number, rtpTimestamp: number, payloadBytes: number, arrivalMs: number): SeqUpdateResult {
    if (this.ssrc !== ssrc) {
      if (this.ssrc !== null) this.reset();
      this.ssrc = ssrc;
    }
    const verdict = this.seq.update(sequenceNumber);
    if (verdict === 'bad') return verdict;
    this.packets++;
    this.bytes += payloadBytes;
    this.lastPacketAt = arrivalMs;
    if (verdict === 'restarted') this.haveTransit = false;
    // RFC 3550 A.8: transit = arrival (in timestamp units) - RTP timestamp; J += (|D| - J) / 16.
    // The arrival clock only needs a fixed offset, so 32-bit wrap is handled by the signed difference.
    const arrivalTs = Math.floor((arrivalMs * this.clockRate) / 1000);
    const transit = (arrivalTs - rtpTimestamp) | 0;
    if (this.haveTransit) {
      let d = (transit - this.transit) | 0;
      if (d < 0) d = -d;
      this.jitter += (d - this.jitter) / 16;
    }
    this.transit = transit;
    this.haveTransit = true;
    return verdict;
  }

  /** Jitter in milliseconds. */
  get jitterMs(): number {
    return (this.jitter * 1000) / this.clockRate;
  }

  /** Record an SR from this source (RFC 3550 §6.4.1 LSR/DLSR). */
  onSenderReport(ntpMiddle: number, arrivalMs: number): void {
    this.lastSrNtp = ntpMiddle;
    this.lastSrAt = arrivalMs;
  }

  /** Build the report block about this source at clock time `nowMs`; null before any valid packet. */
  makeReportBlock(nowMs: number): RtcpReportBlock | null {
    if (this.ssrc === null || !this.seq.initialised || this.seq.probation > 0) return null;
    return {
      ssrc: this.ssrc,
      fractionLost: this.seq.takeFractionLost(),
      cumulativeLost: this.seq.lost,
      highestSeq: this.seq.extendedMax >>> 0,
      jitter: Math.floor(this.jitter),
      lsr: this.lastSrNtp,
      dlsr: this.lastSrNtp === 0 ? 0 : msToNtpShort(nowMs - this.lastSrAt),
    };
  }
}

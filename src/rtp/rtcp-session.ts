import { Clock } from '../util';
import { ntpFromUnixMs, ntpMiddle32, ntpShortToMs, NtpTime } from './ntp';
import { RtcpPacket, RtcpReportBlock, SDES_CNAME } from './rtcp-packet';
import { RtpReceiveStats } from './rtp-stats';
import { tsAdd } from './seq';

/** What the peer told us about our stream in its last report block (RFC 3550 §6.4). */
export interface RemoteReceptionReport {
  fractionLost: number;
  cumulativeLost: number;
  highestSeq: number;
  /** Jitter the peer measured on our stream, in timestamp units. */
  jitter: number;
  /** Round-trip time from LSR/DLSR (RFC 3550 §6.4.1), or null when the peer has not echoed an SR. */
  roundTripMs: number | null;
  /** Local clock time the report arrived. */
  receivedAt: number;
}

export interface RtcpSessionOptions {
  ssrc: number;
  /** Canonical name for SDES (RFC 3550 §6.5.1), e.g. "user@host" or a random identifier. */
  cname: string;
  clock: Clock;
  clockRate?: number;
}

/**
 * The RTCP state of one two-party RTP session: sender counters, reception statistics of the remote source,
 * report building (SR or RR + SDES CNAME, RFC 3550 §6.1) and processing of the peer's reports.
 */
export class RtcpSession {
  readonly ssrc: number;
  readonly cname: string;
  readonly receive: RtpReceiveStats;
  /** RTP packets and payload octets we sent (the SR sender info, RFC 3550 §6.4.1). */
  packetsSent = 0;
  octetsSent = 0;
  /** Peer's view of our stream, from its last RR/SR block about our SSRC. */
  remote: RemoteReceptionReport | null = null;
  /** Set when the peer sent BYE for its source. */
  byeReceived = false;
  byeReason: string | undefined;
  private readonly clock: Clock;
  private readonly clockRate: number;
  private lastSentTs = 0;
  private lastSentAt = 0;
  private sentSinceReport = false;
  private readonly ntp: NtpTime = { seconds: 0, fraction: 0 };

  constructor(opts: RtcpSessionOptions) {
    this.ssrc = opts.ssrc >>> 0;
    this.cname = opts.cname;
    this.clock = opts.clock;
    this.clockRate = opts.clockRate ?? 8000;
    this.receive = new RtpReceiveStats(this.clockRate);
  }

  /** Account one RTP packet sent; `nowMs` is the clock's time of sending, if the caller already read it. */
  onRtpSent(rtpTimestamp: number, payloadBytes: number, nowMs?: number): void {
    this.packetsSent = (this.packetsSent + 1) >>> 0;
    this.octetsSent = (this.octetsSent + payloadBytes) >>> 0;
    this.lastSentTs = rtpTimestamp;
    this.lastSentAt = nowMs ?? this.clock.now();
    this.sentSinceReport = true;
  }

  /**
   * Build the next regular compound report: an SR if we sent RTP since the previous report, else an RR
   * (RFC 3550 §6.4), followed by SDES with our CNAME (§6.1: every compound packet carries a CNAME).
   */
  buildReport(): RtcpPacket[] {
    const now = this.clock.now();
    const reports: RtcpReportBlock[] = [];
    const block = this.receive.makeReportBlock(now);
    if (block) reports.push(block);
    const first: RtcpPacket = this.sentSinceReport ? this.senderReport(now, reports) : { type: 'rr', ssrc: this.ssrc, reports };
    this.sentSinceReport = false;
    return [first, { type: 'sdes', chunks: [{ ssrc: this.ssrc, items: [{ type: SDES_CNAME, text: this.cname }] }] }];
  }

  /** The final compound packet: report + SDES + BYE (RFC 3550 §6.6: BYE goes in a compound packet). */
  buildBye(reason?: string): RtcpPacket[] {
    const packets = this.buildReport();
    packets.push(reason === undefined ? { type: 'bye', ssrcs: [this.ssrc] } : { type: 'bye', ssrcs: [this.ssrc], reason });
    return packets;
  }

  private senderReport(now: number, reports: RtcpReportBlock[]): RtcpPacket {
    ntpFromUnixMs(this.clock.wallNow(), this.ntp);
    // RFC 3550 §6.4.1: the RTP timestamp corresponds to the same instant as the NTP timestamp,
    // extrapolated from the last packet sent at the media clock rate.
    const rtpTimestamp = tsAdd(this.lastSentTs, Math.round(((now - this.lastSentAt) * this.clockRate) / 1000));
    return {
      type: 'sr',
      ssrc: this.ssrc,
      ntpSeconds: this.ntp.seconds,
      ntpFraction: this.ntp.fraction,
      rtpTimestamp,
      packetCount: this.packetsSent,
      octetCount: this.octetsSent,
      reports,
    };
  }

  /** Process a decoded compound packet from the peer. */
  onRtcp(packets: readonly RtcpPacket[]): void {
    const now = this.clock.now();
    for (const p of packets) {
      if (p.type === 'sr') {
        if (this.receive.ssrc === null || this.receive.ssrc === p.ssrc) {
          this.receive.onSenderReport(ntpMiddle32(p.ntpSeconds, p.ntpFraction), now);
        }
        this.onReportBlocks(p.reports, now);
      } else if (p.type === 'rr') {
        this.onReportBlocks(p.reports, now);
      } else if (p.type === 'bye') {
        if (this.receive.ssrc === null || p.ssrcs.includes(this.receive.ssrc)) {
          this.byeReceived = true;
          this.byeReason = p.reason;
        }
      }
    }
  }

  private onReportBlocks(blocks: readonly RtcpReportBlock[], now: number): void {
    for (const b of blocks) {
      if (b.ssrc !== this.ssrc) continue;
      let roundTripMs: number | null = null;
      if (b.lsr !== 0) {
        // RFC 3550 §6.4.1: RTT = A - LSR - DLSR, all in the middle-32-bit NTP format.
        const a = ntpFromUnixMs(this.clock.wallNow(), this.ntp);
        const rtt = (ntpMiddle32(a.seconds, a.fraction) - b.lsr - b.dlsr) | 0;
        roundTripMs = rtt >= 0 ? ntpShortToMs(rtt) : 0;
      }
      this.remote = {
        fractionLost: b.fractionLost,
        cumulativeLost: b.cumulativeLost,
        highestSeq: b.highestSeq,
        jitter: b.jitter,
        roundTripMs,
        receivedAt: now,
      };
    }
  }
}

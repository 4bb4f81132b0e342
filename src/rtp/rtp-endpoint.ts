import { RemoteInfo, Socket } from 'node:dgram';
import { Clock, InvalidStateError, pooledRandomBytes, systemClock, TimerHandle, TypedEmitter } from '../util';
import { classifyPacket } from './classify';
import { RtpPortAllocation, RtpPortPool } from './port-pool';
import { decodeRtcp, encodeRtcp, RtcpPacket } from './rtcp-packet';
import { RtcpScheduler } from './rtcp-scheduler';
import { RtcpSession } from './rtcp-session';
import { decodeRtp, RtpPacket } from './rtp-packet';
import { RtpFrameOptions, RtpSender } from './rtp-sender';
import type { RtpSendBatch } from './send-batch';
import { DtmfEvent, dtmfEventCode, encodeTelephoneEventInto, planTelephoneEvent, TelephoneEventReceiver } from './telephone-event';

/** Media direction from the local point of view (RFC 3264 §6.1, after offer/answer). */
export type RtpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** Where to send media and what to accept, from the negotiated SDP. */
export interface RtpRemote {
  /** Address and port from the peer's SDP (c= / m=); symmetric latching may override them. */
  address: string;
  port: number;
  /** RFC 3605 a=rtcp, else port + 1 (RFC 3550 §11). */
  rtcpAddress?: string;
  rtcpPort?: number;
  /** Payload types accepted on receive (negotiated codecs and telephone-event). */
  payloadTypes: readonly number[];
  /** RFC 4733 payload type, if negotiated. */
  telephoneEventPt?: number | null;
  /** Expected SSRC (RFC 5576 a=ssrc) if the peer announced one. */
  ssrc?: number;
}

export interface RtpEndpointOptions {
  pool: RtpPortPool;
  /** RFC 5761: RTP and RTCP on one port (no RTCP socket is bound). */
  rtcpMux?: boolean;
  clock?: Clock;
  /** Payload type of outgoing audio (default 0, PCMU). */
  payloadType?: number;
  /** Payload types accepted before setRemote() (e.g. those we offered), for early media. */
  payloadTypes?: readonly number[];
  /** Telephone-event payload type accepted before setRemote(). */
  telephoneEventPt?: number | null;
  clockRate?: number;
  /** SDES CNAME (RFC 3550 §6.5.1); default a random identifier. */
  cname?: string;
  /** Emit `timeout` after this long without RTP while media is expected; 0 disables (default). */
  mediaTimeoutMs?: number;
  /** RTCP report interval Td in ms (default 5000). */
  rtcpIntervalMs?: number;
  /** Random source for the RTCP interval (tests). */
  random?: () => number;
  /** Send RTCP reports (default true). */
  rtcp?: boolean;
}

export type RtpEndpointEvents = {
  /** An accepted audio packet. The object is reused: read it during the callback, copy what you keep. */
  rtp: [packet: RtpPacket];
  /** A DTMF digit received as RFC 4733 events, reported once. */
  dtmf: [event: DtmfEvent];
  /**
   * An accepted RFC 4733 telephone-event packet (already fed to DTMF detection; the object is reused). It shares the
   * audio's SSRC and sequence space (RFC 4733 §2.1): an audio jitter buffer must step over its sequence number
   * rather than count it as lost audio (JitterBuffer.skip).
   */
  telephoneevent: [packet: RtpPacket];
  /** A decoded RTCP compound packet from the peer. */
  rtcp: [packets: RtcpPacket[]];
  /** Symmetric RTP locked onto this source. */
  latch: [address: string, port: number];
  /** No RTP for mediaTimeoutMs while media was expected. */
  timeout: [];
  /** The peer sent RTCP BYE. */
  bye: [reason: string | undefined];
  close: [];
};

/** Counters and statistics of one endpoint. */
export interface RtpEndpointStats {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  /** Cumulative lost (RFC 3550 A.3; may be negative with duplicates). */
  packetsLost: number;
  /** Interarrival jitter in ms (RFC 3550 A.8). */
  jitterMs: number;
  /** Clock time (ms) of the last RTP packet accepted, or null. */
  lastPacketAt: number | null;
  rtcpSent: number;
  rtcpReceived: number;
  /** Peer-reported view of our stream. */
  remoteFractionLost: number | null;
  remoteJitter: number | null;
  roundTripMs: number | null;
  /** Drops by reason. */
  decodeErrors: number;
  notRtp: number;
  unknownPayloadType: number;
  wrongSsrc: number;
  /** Packets from sources other than the latched one (counted, never allowed to hijack the stream). */
  foreignSource: number;
  badSequence: number;
  rtcpErrors: number;
  /** Frames not sent (no destination yet, direction, or during a DTMF event). */
  sendSuppressed: number;
  latchedAddress: string | null;
  latchedPort: number | null;
}

const HOUSEKEEPING_MS = 250;

/**
 * One RTP session endpoint: the socket(s) from the port pool, symmetric RTP latching (RFC 4961 spirit, for
 * NAT), an outgoing {@link RtpSender}, RTCP reports, RFC 4733 DTMF in both directions and a media timeout.
 *
 * Latching: the first packet that decodes as RTP with an accepted payload type (and the announced SSRC, if
 * any) fixes the peer's address:port; later packets from anywhere else are counted and dropped, so a third
 * party cannot hijack the stream. {@link setRemote} with a new address (re-INVITE) unlatches.
 */
export class RtpEndpoint extends TypedEmitter<RtpEndpointEvents> {
  readonly sender: RtpSender;
  readonly rtcp: RtcpSession;
  readonly rtcpMux: boolean;
  private readonly ports: RtpPortAllocation;
  private readonly rtpSocket: Socket;
  private readonly rtcpSocket: Socket | null;
  private readonly clock: Clock;
  private readonly scheduler: RtcpScheduler | null;
  private readonly mediaTimeoutMs: number;
  private readonly dtmfRx: TelephoneEventReceiver;
  private readonly pkt = new RtpPacket();
  private readonly acceptedPt = new Uint8Array(128);
  private telephoneEventPt = -1;
  private expectedSsrc: number | undefined;
  private remote: RtpRemote | null = null;
  private direction: RtpDirection = 'sendrecv';
  private latchedAddress: string | null = null;
  private latchedPort = 0;
  private rtcpLatchedAddress: string | null = null;
  private rtcpLatchedPort = 0;
  private lastRtpAt: number;
  private timedOut = false;
  private housekeeping: TimerHandle | undefined;
  /** The per-packet consumer of accepted audio (see setAudioSink), or null. */
  private audioSink: ((packet: RtpPacket, arrivalMs: number) => void) | null = null;
  /** Audio frames sent while this batch is active are queued to it (see setSendBatch). */
  private sendBatch: RtpSendBatch | null = null;
  private dtmfQueue: Promise<void> = Promise.resolve();
  private eventActive = false;
  private closed = false;
  private readonly counters = {
    packetsReceived: 0,
    bytesReceived: 0,
    rtcpSent: 0,
    rtcpReceived: 0,
    decodeErrors: 0,
    notRtp: 0,
    unknownPayloadType: 0,
    wrongSsrc: 0,
    foreignSource: 0,
    badSequence: 0,
    rtcpErrors: 0,
    sendSuppressed: 0,
  };

  /** Allocate ports from the pool and start receiving. */
  static async open(opts: RtpEndpointOptions): Promise<RtpEndpoint> {
    const ports = await opts.pool.allocate({ rtcpMux: opts.rtcpMux ?? false });
    return new RtpEndpoint(ports, opts);
  }

  private constructor(ports: RtpPortAllocation, opts: RtpEndpointOptions) {
    super();
    this.ports = ports;
    this.rtpSocket = ports.rtpSocket;
    this.rtcpSocket = ports.rtcpSocket;
    this.rtcpMux = opts.rtcpMux ?? false;
    this.clock = opts.clock ?? systemClock;
    const clockRate = opts.clockRate ?? 8000;
    this.sender = new RtpSender({ payloadType: opts.payloadType ?? 0, clockRate, clock: this.clock });
    this.rtcp = new RtcpSession({ ssrc: this.sender.ssrc, cname: opts.cname ?? pooledRandomBytes(12).toString('base64url'), clock: this.clock, clockRate });
    this.dtmfRx = new TelephoneEventReceiver({ clockRate });
    this.mediaTimeoutMs = opts.mediaTimeoutMs ?? 0;
    this.setPayloadTypes(opts.payloadTypes ?? [], opts.telephoneEventPt ?? null);
    this.lastRtpAt = this.clock.now();
    this.rtpSocket.on('message', this.onRtpMessage);
    this.rtpSocket.on('error', this.onSocketError);
    if (this.rtcpSocket) {
      this.rtcpSocket.on('message', this.onRtcpMessage);
      this.rtcpSocket.on('error', this.onSocketError);
    }
    this.scheduler =
      opts.rtcp === false
        ? null
        : new RtcpScheduler({ clock: this.clock, intervalMs: opts.rtcpIntervalMs, random: opts.random, onReport: this.sendReport });
    this.scheduler?.start();
    this.housekeeping = this.clock.setTimeout(this.onHousekeeping, HOUSEKEEPING_MS);
  }

  /** True when this endpoint reads time from `clock` (its arrival times are then that clock's). */
  usesClock(clock: Clock): boolean {
    return this.clock === clock;
  }

  /** Local RTP port (even). */
  get rtpPort(): number {
    return this.ports.rtpPort;
  }

  /** Local RTCP port: the RTP port with rtcp-mux, else RTP + 1. */
  get rtcpPort(): number {
    return this.rtcpMux ? this.ports.rtpPort : this.ports.rtcpPort;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Current destination of our RTP: the latched source, else the SDP address. */
  get destination(): { address: string; port: number } | null {
    if (this.latchedAddress !== null) return { address: this.latchedAddress, port: this.latchedPort };
    return this.remote ? { address: this.remote.address, port: this.remote.port } : null;
  }

  /**
   * Apply the negotiated remote description. A source latched before the first description (early media)
   * is kept; a later change of address or port (re-INVITE, RFC 3264 §8.3.1) unlatches.
   */
  setRemote(remote: RtpRemote): void {
    this.assertOpen();
    const moved = this.remote !== null && (this.remote.address !== remote.address || this.remote.port !== remote.port);
    this.remote = { ...remote, payloadTypes: [...remote.payloadTypes] };
    this.expectedSsrc = remote.ssrc;
    this.setPayloadTypes(remote.payloadTypes, remote.telephoneEventPt ?? null);
    if (moved) {
      this.latchedAddress = null;
      this.rtcpLatchedAddress = null;
      this.rtcp.receive.reset();
    }
  }

  /** Set the local direction (hold / resume). The media timeout only runs while receiving sendrecv media. */
  setDirection(direction: RtpDirection): void {
    this.assertOpen();
    if (direction === this.direction) return;
    this.direction = direction;
    this.lastRtpAt = this.clock.now();
    this.timedOut = false;
  }

  /** Count the media timeout from now; a timeout that already fired may fire again (e.g. at answer). */
  restartMediaTimeout(): void {
    if (this.closed) return;
    this.lastRtpAt = this.clock.now();
    this.timedOut = false;
  }

  /**
   * Hand every accepted audio packet to `sink` first, then to the `rtp` listeners, if any. For the one consumer that
   * runs on every packet (the media session's jitter buffer): a direct call skips the event machinery (argument
   * arrays, listener lookup) on the receive path. Same contract as `rtp`: the packet object is reused, and an
   * exception is reported like a listener's. `arrivalMs` is the endpoint clock's time of arrival. Null removes it.
   */
  setAudioSink(sink: ((packet: RtpPacket, arrivalMs: number) => void) | null): void {
    this.audioSink = sink;
  }

  /** Queue audio frames sent while `batch` is active to it (a media clock's send phase); null sends at once. */
  setSendBatch(batch: RtpSendBatch | null): void {
    this.sendBatch = batch;
  }

  /** Change the payload type of outgoing audio (e.g. after a re-INVITE chose another codec). */
  setSendPayloadType(payloadType: number): void {
    this.sender.payloadType = payloadType;
  }

  private setPayloadTypes(pts: readonly number[], tePt: number | null): void {
    this.acceptedPt.fill(0);
    for (const pt of pts) if (pt >= 0 && pt < 128) this.acceptedPt[pt] = 1;
    this.telephoneEventPt = tePt ?? -1;
    if (tePt !== null && tePt >= 0 && tePt < 128) this.acceptedPt[tePt] = 1;
  }

  private get sending(): boolean {
    return this.direction === 'sendrecv' || this.direction === 'sendonly';
  }

  /**
   * Send one audio frame of `samples` sampling instants. Returns false when nothing was sent: no destination
   * yet, the direction does not send, or a DTMF event is being sent (RFC 4733 §2.5.1: audio of the tone is
   * not sent alongside the event).
   */
  sendFrame(payload: Uint8Array, samples: number, opts?: RtpFrameOptions): boolean {
    if (this.closed) return false;
    const dest = this.latchedAddress !== null ? this.latchedAddress : this.remote?.address;
    const port = this.latchedAddress !== null ? this.latchedPort : this.remote?.port;
    if (dest === undefined || port === undefined || !this.sending || this.eventActive) {
      this.counters.sendSuppressed++;
      return false;
    }
    // One clock reading serves the sender's talk-spurt logic and the RTCP sender state.
    const now = this.clock.now();
    const buf = this.sender.encodeFrame(payload, samples, opts, now);
    const batch = this.sendBatch;
    if (batch !== null && batch.active) batch.push(this.rtpSocket, buf, port, dest);
    else this.rtpSocket.send(buf, port, dest);
    this.rtcp.onRtpSent(this.sender.lastTimestamp, payload.length, now);
    return true;
  }

  /**
   * Send a DTMF digit as RFC 4733 events (start with marker, updates every 50 ms, three end packets, one
   * timestamp). Digits queue behind each other. Resolves when the last end packet is sent.
   */
  sendDtmf(digit: string, durationMs = 100, volume = 10): Promise<void> {
    this.assertOpen();
    const event = dtmfEventCode(digit);
    if (event < 0) return Promise.reject(new TypeError(`not a DTMF digit: ${JSON.stringify(digit)}`));
    if (this.telephoneEventPt < 0) return Promise.reject(new InvalidStateError('telephone-event was not negotiated'));
    const run = (): Promise<void> => this.runDtmf(event, durationMs, Math.max(0, Math.min(63, volume)));
    const next = this.dtmfQueue.then(run, run);
    this.dtmfQueue = next.catch(() => undefined);
    return next;
  }

  private runDtmf(event: number, durationMs: number, volume: number): Promise<void> {
    const plan = planTelephoneEvent(durationMs, { clockRate: this.sender.clockRate });
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.eventActive = true;
      const ts = this.sender.beginEvent();
      const start = this.clock.now();
      const pt = this.telephoneEventPt;
      const payload = Buffer.alloc(4);
      let i = 0;
      const step = (): void => {
        // Send every packet due by now (the three end packets go back to back, §2.5.1.4).
        while (i < plan.length && !this.closed && start + plan[i].atMs <= this.clock.now()) {
          const p = plan[i++];
          encodeTelephoneEventInto({ event, end: p.end, volume, duration: p.duration }, payload);
          const dest = this.destination;
          if (dest && this.sending) {
            this.rtpSocket.send(this.sender.encodeAt(payload, pt, ts, p.marker), dest.port, dest.address);
            this.rtcp.onRtpSent(ts, payload.length);
          }
        }
        if (i >= plan.length || this.closed) {
          this.eventActive = false;
          this.sender.endEvent(ts, plan[plan.length - 1].duration);
          resolve();
          return;
        }
        this.clock.setTimeout(step, start + plan[i].atMs - this.clock.now());
      };
      step();
    });
  }

  /** Statistics snapshot. */
  stats(): RtpEndpointStats {
    const c = this.counters;
    const rx = this.rtcp.receive;
    const remote = this.rtcp.remote;
    return {
      packetsSent: this.sender.packetsSent,
      bytesSent: this.sender.octetsSent,
      packetsReceived: c.packetsReceived,
      bytesReceived: c.bytesReceived,
      packetsLost: rx.seq.initialised ? rx.seq.lost : 0,
      jitterMs: rx.jitterMs,
      lastPacketAt: rx.lastPacketAt,
      rtcpSent: c.rtcpSent,
      rtcpReceived: c.rtcpReceived,
      remoteFractionLost: remote ? remote.fractionLost / 256 : null,
      remoteJitter: remote ? remote.jitter : null,
      roundTripMs: remote ? remote.roundTripMs : null,
      decodeErrors: c.decodeErrors,
      notRtp: c.notRtp,
      unknownPayloadType: c.unknownPayloadType,
      wrongSsrc: c.wrongSsrc,
      foreignSource: c.foreignSource,
      badSequence: c.badSequence,
      rtcpErrors: c.rtcpErrors,
      sendSuppressed: c.sendSuppressed,
      latchedAddress: this.latchedAddress,
      latchedPort: this.latchedAddress === null ? null : this.latchedPort,
    };
  }

  /** Send RTCP BYE (RFC 3550 §6.6), close the sockets and return the ports to the pool. Idempotent. */
  close(reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.scheduler?.stop();
    this.clock.clearTimeout(this.housekeeping);
    this.housekeeping = undefined;
    const dest = this.rtcpDestination();
    if (dest && this.scheduler) {
      const bye = encodeRtcp(this.rtcp.buildBye(reason));
      this.counters.rtcpSent++;
      const socket = this.rtcpSocket ?? this.rtpSocket;
      // Release once the BYE left the socket (the callback runs on success and on error).
      socket.send(bye, dest.port, dest.address, () => this.ports.release());
    } else {
      this.ports.release();
    }
    this.audioSink = null;
    this.safeEmit('close');
    this.removeAllListeners();
  }

  private assertOpen(): void {
    if (this.closed) throw new InvalidStateError('RtpEndpoint is closed');
  }

  private readonly onSocketError = (): void => {
    // ICMP port unreachable and similar surface as socket errors on some platforms; they are not fatal.
  };

  private readonly onRtpMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (this.closed) return;
    const kind = classifyPacket(msg);
    if (kind === 'rtcp') {
      // RFC 5761 §4: demultiplex RTCP arriving on the RTP port (rtcp-mux, or a peer that muxes anyway).
      this.handleRtcp(msg, rinfo);
      return;
    }
    if (kind !== 'rtp') {
      this.counters.notRtp++;
      return;
    }
    const pkt = this.pkt;
    if (decodeRtp(msg, pkt) !== null) {
      this.counters.decodeErrors++;
      return;
    }
    if (this.acceptedPt[pkt.payloadType] !== 1) {
      this.counters.unknownPayloadType++;
      return;
    }
    if (this.latchedAddress === null) {
      if (this.expectedSsrc !== undefined && pkt.ssrc !== this.expectedSsrc) {
        this.counters.wrongSsrc++;
        return;
      }
      this.latchedAddress = rinfo.address;
      this.latchedPort = rinfo.port;
      this.safeEmit('latch', rinfo.address, rinfo.port);
    } else if (rinfo.port !== this.latchedPort || rinfo.address !== this.latchedAddress) {
      this.counters.foreignSource++;
      return;
    }
    const now = this.clock.now();
    const verdict = this.rtcp.receive.update(pkt.ssrc, pkt.sequenceNumber, pkt.timestamp, pkt.payload.length, now);
    if (verdict === 'bad') {
      this.counters.badSequence++;
      return;
    }
    this.counters.packetsReceived++;
    this.counters.bytesReceived += pkt.payload.length;
    this.lastRtpAt = now;
    this.timedOut = false;
    if (pkt.payloadType === this.telephoneEventPt) {
      let ev = this.dtmfRx.push(pkt.timestamp, pkt.payload, now);
      while (ev) {
        this.safeEmit('dtmf', ev);
        ev = this.dtmfRx.poll(now);
      }
      this.safeEmit('telephoneevent', pkt);
      return;
    }
    const sink = this.audioSink;
    if (sink !== null) {
      try {
        sink(pkt, now);
      } catch (err) {
        TypedEmitter.onListenerError('rtp', err);
      }
    }
    if (this.listenerCount('rtp') > 0) this.safeEmit('rtp', pkt);
  };

  private readonly onRtcpMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (this.closed) return;
    this.handleRtcp(msg, rinfo);
  };

  private handleRtcp(msg: Buffer, rinfo: RemoteInfo): void {
    if (classifyPacket(msg) !== 'rtcp') {
      this.counters.rtcpErrors++;
      return;
    }
    // RTCP follows the latched RTP peer: other hosts cannot inject reports or a BYE.
    if (this.latchedAddress !== null && rinfo.address !== this.latchedAddress) {
      this.counters.foreignSource++;
      return;
    }
    if (this.rtcpLatchedAddress !== null && (rinfo.address !== this.rtcpLatchedAddress || rinfo.port !== this.rtcpLatchedPort)) {
      this.counters.foreignSource++;
      return;
    }
    const res = decodeRtcp(msg);
    if (!res.ok) {
      this.counters.rtcpErrors++;
      return;
    }
    if (this.rtcpLatchedAddress === null) {
      this.rtcpLatchedAddress = rinfo.address;
      this.rtcpLatchedPort = rinfo.port;
    }
    this.counters.rtcpReceived++;
    const hadBye = this.rtcp.byeReceived;
    this.rtcp.onRtcp(res.packets);
    this.safeEmit('rtcp', res.packets);
    if (!hadBye && this.rtcp.byeReceived) this.safeEmit('bye', this.rtcp.byeReason);
  }

  private rtcpDestination(): { address: string; port: number } | null {
    if (this.rtcpLatchedAddress !== null) return { address: this.rtcpLatchedAddress, port: this.rtcpLatchedPort };
    const rtp = this.destination;
    if (!rtp) return null;
    if (this.rtcpMux) return rtp;
    const remote = this.remote;
    if (this.latchedAddress === null && remote && remote.rtcpPort !== undefined) {
      return { address: remote.rtcpAddress ?? remote.address, port: remote.rtcpPort };
    }
    return { address: rtp.address, port: rtp.port + 1 };
  }

  private readonly sendReport = (): void => {
    if (this.closed) return;
    const dest = this.rtcpDestination();
    if (!dest) return;
    const buf = encodeRtcp(this.rtcp.buildReport());
    (this.rtcpSocket ?? this.rtpSocket).send(buf, dest.port, dest.address);
    this.counters.rtcpSent++;
  };

  private readonly onHousekeeping = (): void => {
    this.housekeeping = undefined;
    if (this.closed) return;
    const now = this.clock.now();
    const ev = this.dtmfRx.poll(now);
    if (ev) this.safeEmit('dtmf', ev);
    // Media timeout only while we expect the peer to send (not on hold in either direction).
    if (this.mediaTimeoutMs > 0 && this.direction === 'sendrecv' && !this.timedOut && now - this.lastRtpAt >= this.mediaTimeoutMs) {
      this.timedOut = true;
      this.safeEmit('timeout');
    }
    if (!this.closed) this.housekeeping = this.clock.setTimeout(this.onHousekeeping, HOUSEKEEPING_MS);
  };
}

import { EventEmitter } from 'node:events';
import type { RemoteInfo, Socket } from 'node:dgram';
import { decodeRtp, encodeRtpInto, RTP_HEADER_SIZE, RtpPacket, type RtpPortAllocation, type RtpPortPool } from '../../../src/rtp';
import { MediaSession, MediaTicker, type MediaParameters, type MediaSessionOptions } from '../../../src/media';
import { VirtualClock, type Clock, type TimerHandle } from '../../../src/util';

/** A datagram socket that records what is sent and lets the test inject what is received. */
export class FakeSocket extends EventEmitter {
  readonly sent: { data: Buffer; port: number; address: string }[] = [];
  closed = false;

  send(data: Buffer, port: number, address: string, cb?: () => void): void {
    this.sent.push({ data: Buffer.from(data), port, address });
    cb?.();
  }

  close(): void {
    this.closed = true;
  }

  /** Deliver a datagram as if it came from `address:port`. */
  receive(data: Buffer, port = 40000, address = '127.0.0.1'): void {
    const rinfo: RemoteInfo = { address, port, family: 'IPv4', size: data.length };
    this.emit('message', data, rinfo);
  }
}

/** A port pool handing out fake sockets (no network: unit tests stay deterministic). */
export class FakePool {
  private next = 30000;
  allocated = 0;
  released = 0;
  readonly sockets: FakeSocket[] = [];

  async allocate(opts: { rtcpMux?: boolean } = {}): Promise<RtpPortAllocation> {
    const rtpPort = this.next;
    this.next += 2;
    const rtp = new FakeSocket();
    const rtcp = opts.rtcpMux ? null : new FakeSocket();
    this.sockets.push(rtp);
    this.allocated++;
    let done = false;
    return {
      rtpPort,
      rtcpPort: rtpPort + 1,
      rtpSocket: rtp as unknown as Socket,
      rtcpSocket: rtcp as unknown as Socket | null,
      release: () => {
        if (done) return;
        done = true;
        this.allocated--;
        this.released++;
      },
    };
  }

  asPool(): RtpPortPool {
    return this as unknown as RtpPortPool;
  }
}

/** One session over a fake socket, on a virtual clock. */
export interface Leg {
  session: MediaSession;
  socket: FakeSocket;
  clock: VirtualClock;
}

export const PEER_PORT = 40000;

export function params(codec: 'PCMU' | 'PCMA', telephoneEventPt: number | null = 101): MediaParameters {
  const pt = codec === 'PCMU' ? 0 : 8;
  return {
    remoteAddress: '127.0.0.1',
    remotePort: PEER_PORT,
    payloadType: pt,
    codecs: [{ payloadType: pt, codec }],
    telephoneEventPt,
    direction: 'sendrecv',
  };
}

export async function openLeg(
  clock: VirtualClock,
  opts: MediaSessionOptions & { codec?: 'PCMU' | 'PCMA'; telephoneEventPt?: number | null; pool?: FakePool } = {},
): Promise<Leg> {
  const pool = opts.pool ?? new FakePool();
  const session = await MediaSession.open({ pool: pool.asPool(), clock, rtcp: false }, { clock, ...opts });
  session.setRemote(params(opts.codec ?? 'PCMU', opts.telephoneEventPt === undefined ? 101 : opts.telephoneEventPt));
  return { session, socket: pool.sockets[pool.sockets.length - 1], clock };
}

export function sharedTicker(clock: VirtualClock): MediaTicker {
  return new MediaTicker({ clock });
}

/** An RTP datagram. */
export function rtp(pt: number, seq: number, ts: number, payload: Uint8Array, marker = false, ssrc = 0x11223344): Buffer {
  const buf = Buffer.alloc(RTP_HEADER_SIZE + payload.length);
  encodeRtpInto({ marker, payloadType: pt, sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, ssrc }, payload, buf);
  return buf;
}

/** Decoded RTP packets the session sent (fresh objects). */
export function sentPackets(socket: FakeSocket, from = 0): { pt: number; seq: number; ts: number; marker: boolean; ssrc: number; payload: Buffer }[] {
  const out = [];
  const p = new RtpPacket();
  for (const s of socket.sent.slice(from)) {
    if (decodeRtp(s.data, p) !== null) continue;
    out.push({ pt: p.payloadType, seq: p.sequenceNumber, ts: p.timestamp, marker: p.marker, ssrc: p.ssrc, payload: Buffer.from(p.payload) });
  }
  return out;
}

/** A sine of `freq` Hz at `amplitude`, `n` samples from sample `start`. */
export function sine(freq: number, n: number, amplitude = 8000, start = 0): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * (start + i)) / 8000));
  return out;
}

/** Concatenate PCM arrays. */
export function concat(parts: Int16Array[]): Int16Array {
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Int16Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Virtual time whose first timer armed at or after `at` fires `ms` late (a blocked event loop). */
export function stallingClock(inner: VirtualClock, at: number, ms: number): Clock {
  let done = false;
  return {
    now: () => inner.now(),
    wallNow: () => inner.wallNow(),
    setTimeout: (fn: () => void, delay: number): TimerHandle => {
      if (!done && inner.now() >= at) {
        done = true;
        return inner.setTimeout(fn, delay + ms);
      }
      return inner.setTimeout(fn, delay);
    },
    clearTimeout: (h) => inner.clearTimeout(h),
  };
}

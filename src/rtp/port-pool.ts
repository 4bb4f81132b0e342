import { createSocket, Socket, SocketType } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { ResourceExhaustedError } from '../util';
import { createLiteralLookup } from '../util';

export interface RtpPortPoolOptions {
  /** Lowest port of the range (RTP_PORT_MIN). Rounded up to even. */
  min: number;
  /** Highest port of the range (RTP_PORT_MAX), inclusive. */
  max: number;
  /** Address to bind (default 0.0.0.0, or :: for IPv6). */
  host?: string;
}

/** A bound RTP port (even) and, unless rtcp-mux, its RTCP port (the next odd one). */
export interface RtpPortAllocation {
  readonly rtpPort: number;
  /** Equal to rtpPort + 1; with rtcp-mux the port stays reserved but unbound. */
  readonly rtcpPort: number;
  readonly rtpSocket: Socket;
  /** Null when rtcp-mux was requested. */
  readonly rtcpSocket: Socket | null;
  /** Close the sockets and return the ports to the pool; idempotent. */
  release(): void;
}

/**
 * Ports for RTP/RTCP from a configured range. RFC 3550 §11: RTP on an even port, RTCP on the next odd port
 * (RFC 3605 a=rtcp may override remotely, RFC 5761 rtcp-mux puts both on one). Allocation walks the pairs
 * round-robin so a just-released pair is not reused at once (late packets of the previous call); a pair that
 * fails to bind (in use by another process) is skipped.
 */
export class RtpPortPool {
  readonly min: number;
  readonly max: number;
  readonly host: string;
  private readonly type: SocketType;
  private readonly inUse = new Set<number>();
  private cursor: number;
  private readonly pairs: number;

  constructor(opts: RtpPortPoolOptions) {
    const min = opts.min + (opts.min % 2);
    if (!Number.isInteger(opts.min) || !Number.isInteger(opts.max) || min < 1024 || opts.max > 65535 || opts.max < min + 1) {
      throw new TypeError(`invalid RTP port range ${opts.min}-${opts.max}`);
    }
    this.min = min;
    this.max = opts.max;
    this.host = opts.host ?? '0.0.0.0';
    this.type = isIPv6(this.host) ? 'udp6' : 'udp4';
    this.pairs = Math.floor((this.max - this.min + 1) / 2);
    this.cursor = 0;
  }

  /** Number of RTP/RTCP pairs in the range. */
  get capacity(): number {
    return this.pairs;
  }

  /** Pairs currently allocated. */
  get allocated(): number {
    return this.inUse.size;
  }

  /**
   * Bind the next free pair. Rejects with ResourceExhaustedError('RTP_PORTS_EXHAUSTED') when every pair is
   * allocated or fails to bind.
   */
  async allocate(opts: { rtcpMux?: boolean } = {}): Promise<RtpPortAllocation> {
    for (let tried = 0; tried < this.pairs; tried++) {
      const index = this.cursor;
      this.cursor = (this.cursor + 1) % this.pairs;
      const rtpPort = this.min + index * 2;
      if (this.inUse.has(rtpPort)) continue;
      // Reserve before awaiting so concurrent allocations never race for the same pair.
      this.inUse.add(rtpPort);
      const rtpSocket = await this.bind(rtpPort);
      if (!rtpSocket) {
        this.inUse.delete(rtpPort);
        continue;
      }
      let rtcpSocket: Socket | null = null;
      if (!opts.rtcpMux) {
        rtcpSocket = await this.bind(rtpPort + 1);
        if (!rtcpSocket) {
          rtpSocket.close();
          this.inUse.delete(rtpPort);
          continue;
        }
      }
      return this.allocation(rtpPort, rtpSocket, rtcpSocket);
    }
    throw new ResourceExhaustedError('RTP_PORTS_EXHAUSTED', `no free RTP port pair in ${this.min}-${this.max}`);
  }

  private allocation(rtpPort: number, rtpSocket: Socket, rtcpSocket: Socket | null): RtpPortAllocation {
    let released = false;
    return {
      rtpPort,
      rtcpPort: rtpPort + 1,
      rtpSocket,
      rtcpSocket,
      release: () => {
        if (released) return;
        released = true;
        closeQuietly(rtpSocket);
        if (rtcpSocket) closeQuietly(rtcpSocket);
        this.inUse.delete(rtpPort);
      },
    };
  }

  private bind(port: number): Promise<Socket | null> {
    return new Promise((resolve) => {
      // Unconnected on purpose: packets from other sources must still reach the endpoint's latching and counters.
      const socket = createSocket({ type: this.type, reuseAddr: false, lookup: createLiteralLookup() });
      const onError = (): void => {
        closeQuietly(socket);
        resolve(null);
      };
      socket.once('error', onError);
      socket.bind({ port, address: this.host, exclusive: true }, () => {
        socket.off('error', onError);
        resolve(socket);
      });
    });
  }
}

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

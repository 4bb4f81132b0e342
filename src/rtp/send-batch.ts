import type { Socket } from 'node:dgram';

/**
 * RTP packets of one media tick, handed to their sockets together at the end of the tick's send phase. The packets
 * leave in the order they were queued, within the same tick, so timing on the wire is unchanged to within the send
 * phase. Sending them back to back keeps the kernel's send path warm in the CPU caches and lets a receiver on the
 * same host drain a burst per wake-up, instead of one wake-up per packet interleaved with the encoding work.
 * Outside begin()..flush() nothing is queued: callers send at once.
 */
export class RtpSendBatch {
  private readonly sockets: (Socket | null)[] = [];
  private readonly buffers: (Buffer | null)[] = [];
  private readonly ports: number[] = [];
  private readonly addresses: string[] = [];
  private count = 0;
  private open = false;

  /** True between begin() and flush(): sends are queued. */
  get active(): boolean {
    return this.open;
  }

  /** Packets queued. */
  get size(): number {
    return this.count;
  }

  begin(): void {
    this.open = true;
  }

  /** Queue one datagram (only while active). */
  push(socket: Socket, buf: Buffer, port: number, address: string): void {
    const i = this.count++;
    this.sockets[i] = socket;
    this.buffers[i] = buf;
    this.ports[i] = port;
    this.addresses[i] = address;
  }

  /** Send everything queued, in order, and stop queueing. */
  flush(): void {
    this.open = false;
    const n = this.count;
    this.count = 0;
    for (let i = 0; i < n; i++) {
      const socket = this.sockets[i] as Socket;
      const buf = this.buffers[i] as Buffer;
      this.sockets[i] = null;
      this.buffers[i] = null;
      try {
        socket.send(buf, this.ports[i], this.addresses[i]);
      } catch {
        // The socket was closed after the packet was queued (its session ended in this tick): nothing to send.
      }
    }
  }
}

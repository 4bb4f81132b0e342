import { connect, type Socket } from 'node:net';
import {
  cloneSource,
  SipTransportLayer,
  type ConnectionCloseReason,
  type ConnectionInfo,
  type DropReason,
  type MessageSource,
  type SipTransportOptions,
} from '../../../src/sip/transport';

export interface Received {
  readonly text: string;
  readonly source: MessageSource;
}

export interface Dropped {
  readonly reason: DropReason;
  readonly source: MessageSource;
  readonly data?: Buffer;
}

/** A transport layer on 127.0.0.1 with ephemeral ports, recording what it sees. */
export class TestNode {
  readonly messages: Received[] = [];
  readonly drops: Dropped[] = [];
  readonly closes: Array<{ info: ConnectionInfo; reason: ConnectionCloseReason }> = [];
  readonly errors: Error[] = [];
  readonly layer: SipTransportLayer;
  private waiters: Array<() => void> = [];

  constructor(options: Partial<SipTransportOptions> = {}) {
    this.layer = new SipTransportLayer({
      host: '127.0.0.1',
      udp: { port: 0 },
      tcp: { port: 0 },
      closeGraceMs: 500,
      ...options,
      onMessage: (data, source) => {
        this.messages.push({ text: data.toString('latin1'), source: cloneSource(source) });
        options.onMessage?.(data, source);
        this.wake();
      },
      onDrop: (reason, source, data) => {
        this.drops.push(data === undefined ? { reason, source: cloneSource(source) } : { reason, source: cloneSource(source), data });
        options.onDrop?.(reason, source, data);
        this.wake();
      },
      onConnectionClose: (info, reason) => {
        this.closes.push({ info, reason });
        this.wake();
      },
      onError: (err) => {
        this.errors.push(err);
      },
    });
  }

  /** Resolve once `predicate` holds, re-checking after every event of this node. */
  until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const check = (): void => {
        if (predicate()) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** A SIP request with a correct Content-Length. */
export function sipRequest(method: string, body = '', callId = Math.random().toString(36).slice(2)): string {
  return (
    `${method} sip:service@127.0.0.1 SIP/2.0\r\n` +
    'Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-test\r\n' +
    'From: <sip:test@127.0.0.1>;tag=1\r\n' +
    'To: <sip:service@127.0.0.1>\r\n' +
    `Call-ID: ${callId}\r\n` +
    `CSeq: 1 ${method}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
    body
  );
}

/** A raw TCP client that collects everything it reads. */
export class RawStreamClient {
  data = '';
  closed = false;
  private waiters: Array<() => void> = [];
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.data += d.toString('latin1');
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(port: number): Promise<RawStreamClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.off('error', reject);
        resolve(new RawStreamClient(s));
      });
      s.once('error', reject);
    });
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const check = (): void => {
        if (predicate()) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

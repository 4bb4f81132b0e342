import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { createLiteralLookup } from '../../util';
import { encodeStunBindingResponse, isStunBindingRequest, isStunMessage } from './stun-binding';
import type { TransportMetrics } from './transport-metrics';
import { ERR_DATAGRAM_TOO_LARGE, TransportError, toTransportError } from './transport-error';
import { MAX_UDP_PAYLOAD, normalizeAddress } from './transport-protocol';
import type { DropHandler, Endpoint, MessageHandler, SendResult } from './types';

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;

export interface UdpListenerSettings {
  readonly type: 'udp4' | 'udp6';
  /** IPV6_V6ONLY for a udp6 socket; false makes it dual-stack (IPv4 peers appear as ::ffff:a.b.c.d). */
  readonly ipv6Only: boolean;
  readonly host: string;
  readonly port: number;
  readonly recvBufferSize: number;
  readonly sendBufferSize: number;
  readonly maxMessageSize: number;
}

export interface UdpListenerHandlers {
  readonly onMessage: MessageHandler;
  readonly onDrop: DropHandler | undefined;
  readonly onError: (error: Error, context: string) => void;
}

/** The reused per-listener source record (mutable inside this file, read-only to everyone else). */
interface MutableSource {
  readonly transport: 'UDP';
  address: string;
  port: number;
  readonly local: Endpoint;
}

/**
 * One UDP socket. Every datagram is one message (RFC 3261 §18.3); the receive path allocates nothing beyond
 * what Node hands over: the handler is bound once and the source record is reused per datagram.
 */
export class UdpListener {
  private socket: Socket | undefined;
  private local_: Endpoint = { address: '', port: 0 };
  private source: MutableSource = { transport: 'UDP', address: '', port: 0, local: this.local_ };
  private sendResult_: SendResult = { transport: 'UDP', local: this.local_ };
  private recvBufferSize_ = 0;
  private readonly dualStack: boolean;
  private sendBufferSize_ = 0;

  constructor(
    private readonly settings: UdpListenerSettings,
    private readonly handlers: UdpListenerHandlers,
    private readonly metrics: TransportMetrics,
  ) {
    this.dualStack = settings.type === 'udp6' && !settings.ipv6Only;
  }

  get local(): Endpoint {
    return this.local_;
  }

  get family(): 'udp4' | 'udp6' {
    return this.settings.type;
  }

  /** SO_RCVBUF / SO_SNDBUF as granted by the kernel (Linux reports twice the value it books). */
  get bufferSizes(): { recv: number; send: number } {
    return { recv: this.recvBufferSize_, send: this.sendBufferSize_ };
  }

  async bind(): Promise<void> {
    // Destinations are nearly always IP literals (Via received/rport, RFC 3581 §4): answered without the DNS hop.
    const socket = createSocket({ type: this.settings.type, ipv6Only: this.settings.type === 'udp6' && this.settings.ipv6Only, lookup: createLiteralLookup() });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: this.settings.port, address: this.settings.host, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.socket = socket;
    // A burst of requests (registration storms, a trunk failing over) must not overflow the kernel queue.
    this.recvBufferSize_ = this.trySetBuffer(socket, 'recv', this.settings.recvBufferSize);
    this.sendBufferSize_ = this.trySetBuffer(socket, 'send', this.settings.sendBufferSize);
    const a = socket.address();
    this.local_ = { address: a.address, port: a.port };
    this.source = { transport: 'UDP', address: '', port: 0, local: this.local_ };
    this.sendResult_ = { transport: 'UDP', local: this.local_ };
    socket.on('message', this.onDatagram);
    socket.on('error', this.onSocketError);
  }

  /** Send one datagram; resolves when the OS took it, rejects with the OS error (EHOSTUNREACH, ENETUNREACH...). */
  send(data: Buffer, address: string, port: number): Promise<SendResult> {
    const socket = this.socket;
    if (socket === undefined) return Promise.reject(new TransportError('ERR_SIP_TRANSPORT_NOT_RUNNING', 'UDP socket is not bound', 'UDP', address, port));
    if (data.length > MAX_UDP_PAYLOAD) {
      return Promise.reject(new TransportError(ERR_DATAGRAM_TOO_LARGE, `datagram of ${data.length} bytes exceeds ${MAX_UDP_PAYLOAD}`, 'UDP', address, port));
    }
    const result = this.sendResult_;
    // A dual-stack socket reaches IPv4 peers through their IPv4-mapped address.
    const to = this.dualStack && isIPv4(address) ? `::ffff:${address}` : address;
    return new Promise<SendResult>((resolve, reject) => {
      socket.send(data, port, to, (err) => {
        if (err) reject(toTransportError(err, 'UDP', address, port));
        else resolve(result);
      });
    });
  }

  close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined) return Promise.resolve();
    socket.off('message', this.onDatagram);
    return new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }

  // Hot path: no closures, no allocation beyond the Buffer and RemoteInfo Node gives us.
  private readonly onDatagram = (msg: Buffer, rinfo: RemoteInfo): void => {
    const m = this.metrics;
    m.bytesIn += msg.length;
    const source = this.source;
    source.address = this.dualStack ? normalizeAddress(rinfo.address) : rinfo.address;
    source.port = rinfo.port;
    const first = msg.length > 0 ? msg[0] : CR;
    if (first < 0x20) {
      if (this.handleControl(msg, first)) return;
      msg = stripLeadingCrlf(msg);
    }
    if (msg.length > this.settings.maxMessageSize) {
      this.drop('oversize', msg);
      return;
    }
    m.messagesIn++;
    try {
      this.handlers.onMessage(msg, source);
    } catch (err) {
      m.handlerErrors++;
      this.handlers.onError(err instanceof Error ? err : new Error(String(err)), 'onMessage');
    }
  };

  /** Keep-alives and STUN. Returns true when the datagram was consumed. */
  private handleControl(msg: Buffer, first: number): boolean {
    if (first === CR || first === LF || first === SP || first === HTAB) {
      if (!isBlank(msg)) return false;
      // A CRLF keep-alive datagram (what many UAs send instead of STUN): nothing to answer.
      this.metrics.keepAlivePongs++;
      return true;
    }
    if (isStunMessage(msg)) {
      if (isStunBindingRequest(msg)) {
        // RFC 5626 §4.4.2: a SIP server on UDP flows acts as a STUN server for keep-alives.
        const response = encodeStunBindingResponse(msg, this.source.address, this.source.port);
        if (response !== null && this.socket !== undefined) {
          this.metrics.stunBindings++;
          this.metrics.bytesOut += response.length;
          const to = this.dualStack && isIPv4(this.source.address) ? `::ffff:${this.source.address}` : this.source.address;
          this.socket.send(response, this.source.port, to);
          return true;
        }
      }
      this.drop('stun', msg);
      return true;
    }
    return false;
  }

  private drop(reason: 'oversize' | 'stun', msg: Buffer): void {
    this.metrics.drops[reason]++;
    const onDrop = this.handlers.onDrop;
    if (onDrop === undefined) return;
    try {
      onDrop(reason, this.source, reason === 'oversize' ? undefined : msg);
    } catch (err) {
      this.metrics.handlerErrors++;
      this.handlers.onError(err instanceof Error ? err : new Error(String(err)), 'onDrop');
    }
  }

  private readonly onSocketError = (err: Error): void => {
    this.handlers.onError(err, `udp ${this.local_.address}:${this.local_.port}`);
  };

  private trySetBuffer(socket: Socket, which: 'recv' | 'send', size: number): number {
    try {
      if (size > 0) {
        if (which === 'recv') socket.setRecvBufferSize(size);
        else socket.setSendBufferSize(size);
      }
    } catch (err) {
      this.handlers.onError(err instanceof Error ? err : new Error(String(err)), `udp ${which} buffer size`);
    }
    try {
      return which === 'recv' ? socket.getRecvBufferSize() : socket.getSendBufferSize();
    } catch {
      return 0;
    }
  }
}

function isBlank(msg: Buffer): boolean {
  for (let i = 0; i < msg.length; i++) {
    const b = msg[i];
    if (b !== CR && b !== LF && b !== SP && b !== HTAB) return false;
  }
  return true;
}

/** RFC 3261 §7.5: CRLFs before the start-line are ignored. */
function stripLeadingCrlf(msg: Buffer): Buffer {
  let i = 0;
  while (i < msg.length && (msg[i] === CR || msg[i] === LF)) i++;
  return i === 0 ? msg : msg.subarray(i);
}

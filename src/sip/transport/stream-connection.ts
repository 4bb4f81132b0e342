import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Clock, TimerHandle } from '../../util';
import { StreamFramer, type StreamFramerSink } from './stream-framer';
import { ERR_BACKPRESSURE, ERR_CONNECTION_CLOSED, TransportError, toTransportError } from './transport-error';
import { normalizeAddress } from './transport-protocol';
import type { ConnectionCloseReason, ConnectionInfo, Endpoint, MessageSource, SendResult, StreamProtocol } from './types';

/** RFC 5626 §4.4.1: the answer to a double-CRLF ping. */
const PONG = Buffer.from('\r\n', 'latin1');

/** What a connection reports to the layer that owns it (an interface, not closures: one object serves all). */
export interface StreamConnectionOwner {
  connectionOpen(conn: StreamConnection): void;
  connectionMessage(conn: StreamConnection, data: Buffer): void;
  connectionKeepAlive(conn: StreamConnection, kind: 'ping' | 'pong'): void;
  connectionFramingError(conn: StreamConnection, reason: 'oversize' | 'invalid-framing', head: Buffer | undefined): void;
  connectionBytesIn(conn: StreamConnection, n: number): void;
  connectionClosed(conn: StreamConnection, reason: ConnectionCloseReason, error: Error | undefined): void;
}

export interface StreamConnectionSettings {
  readonly maxMessageSize: number;
  readonly maxBufferedBytes: number;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly closeGraceMs: number;
  readonly tcpKeepAliveMs: number;
  readonly clock: Clock;
}

export type StreamConnectionState = 'connecting' | 'open' | 'draining' | 'closed';

interface QueuedWrite {
  data: Buffer;
  resolve: (r: SendResult) => void;
  reject: (e: TransportError) => void;
}

/**
 * One TCP or TLS connection: frames what it reads (StreamFramer), answers keep-alive pings, closes itself
 * when idle, bounds its write queue, and queues sends while an outbound connect is in progress.
 */
export class StreamConnection implements StreamFramerSink, ConnectionInfo {
  private state_: StreamConnectionState;
  private readonly framer: StreamFramer;
  private queue: QueuedWrite[] = [];
  private queuedBytes = 0;
  private connectTimer: TimerHandle | undefined;
  private graceTimer: TimerHandle | undefined;
  private closeReason: ConnectionCloseReason | undefined;
  private lastError: Error | undefined;
  private local_: Endpoint = { address: '', port: 0 };
  private source_: MessageSource | undefined;
  private sendResult_: SendResult | undefined;
  /** Reuse keys this connection is indexed under (maintained by ConnectionTable). */
  readonly keys: string[] = [];

  constructor(
    readonly connectionId: number,
    readonly transport: StreamProtocol,
    readonly direction: 'inbound' | 'outbound',
    readonly address: string,
    readonly port: number,
    private readonly socket: Socket | TLSSocket,
    private readonly owner: StreamConnectionOwner,
    private readonly settings: StreamConnectionSettings,
  ) {
    this.framer = new StreamFramer(this, settings.maxMessageSize);
    this.state_ = direction === 'inbound' ? 'open' : 'connecting';
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('timeout', this.onTimeout);
    if (direction === 'inbound') {
      this.configureOpenSocket();
    } else {
      socket.once(transport === 'TLS' ? 'secureConnect' : 'connect', this.onConnect);
      this.connectTimer = settings.clock.setTimeout(this.onConnectTimeout, settings.connectTimeoutMs);
    }
  }

  get state(): StreamConnectionState {
    return this.state_;
  }

  /** The local end (known once connected). */
  get local(): Endpoint {
    return this.local_;
  }

  /** The source object handed up with every message of this connection (created once). */
  get source(): MessageSource {
    this.source_ ??= { transport: this.transport, address: this.address, port: this.port, local: this.local_, connectionId: this.connectionId };
    return this.source_;
  }

  /** The peer's address as the socket reports it (differs from `address` when the target was a host name). */
  get remoteAddress(): string {
    return normalizeAddress(this.socket.remoteAddress ?? this.address);
  }

  /** Bytes waiting to be written (queued before connect plus the socket's buffer). */
  get pendingBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /** Send one message; resolves once the bytes are handed to the kernel. */
  write(data: Buffer): Promise<SendResult> {
    if (this.state_ === 'closed' || this.socket.writableEnded) return Promise.reject(this.closedError());
    if (this.pendingBytes + data.length > this.settings.maxBufferedBytes) {
      return Promise.reject(
        new TransportError(ERR_BACKPRESSURE, `${this.transport} connection ${this.connectionId}: write queue over ${this.settings.maxBufferedBytes} bytes`, this.transport, this.address, this.port),
      );
    }
    return new Promise<SendResult>((resolve, reject) => {
      if (this.state_ === 'connecting') {
        this.queue.push({ data, resolve, reject });
        this.queuedBytes += data.length;
      } else {
        this.socketWrite(data, resolve, reject);
      }
    });
  }

  /**
   * Stop reading and end the connection once pending writes are flushed. The end is deferred by one turn of
   * the event loop so the layer above can still answer on it (e.g. 413 after an oversize message).
   */
  drain(reason: ConnectionCloseReason): void {
    if (this.state_ === 'closed' || this.state_ === 'draining') return;
    this.closeReason ??= reason;
    this.framer.halt();
    const wasConnecting = this.state_ === 'connecting';
    this.state_ = 'draining';
    if (wasConnecting) {
      this.destroy(reason, undefined);
      return;
    }
    setImmediate(this.endGracefully);
  }

  /** End the connection now (after flushing what is already written); destroy it if the peer lingers. */
  close(reason: ConnectionCloseReason): void {
    if (this.state_ === 'closed') return;
    this.closeReason ??= reason;
    this.framer.halt();
    if (this.state_ === 'connecting') {
      this.destroy(reason, undefined);
      return;
    }
    this.state_ = 'draining';
    this.endGracefully();
  }

  /** Tear the socket down immediately. */
  destroy(reason: ConnectionCloseReason, error: Error | undefined): void {
    if (this.state_ === 'closed') return;
    this.closeReason ??= reason;
    if (error !== undefined) this.lastError ??= error;
    this.socket.destroy();
  }

  // --- framer sink ---------------------------------------------------------------------------------

  onFrame(message: Buffer): void {
    this.owner.connectionMessage(this, message);
  }

  onKeepAlive(kind: 'ping' | 'pong'): void {
    // RFC 5626 §4.4.1: "the server MUST respond to a ping with a pong" (a single CRLF).
    if (kind === 'ping' && this.state_ === 'open') this.socket.write(PONG);
    this.owner.connectionKeepAlive(this, kind);
  }

  // --- socket events (bound once per connection) ----------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    this.owner.connectionBytesIn(this, chunk.length);
    if (this.state_ !== 'open') return;
    const status = this.framer.push(chunk);
    if (status !== 'ok' && this.state_ === 'open') {
      this.owner.connectionFramingError(this, status, this.framer.failure?.head);
      this.drain('framing');
    }
  };

  private readonly onConnect = (): void => {
    this.settings.clock.clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    if (this.state_ !== 'connecting') return;
    this.state_ = 'open';
    this.configureOpenSocket();
    this.owner.connectionOpen(this);
    const queue = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const w of queue) this.socketWrite(w.data, w.resolve, w.reject);
  };

  private readonly onConnectTimeout = (): void => {
    this.connectTimer = undefined;
    if (this.state_ !== 'connecting') return;
    this.destroy(
      'connect-failed',
      new TransportError('ETIMEDOUT', `${this.transport} connect to ${this.address}:${this.port} timed out after ${this.settings.connectTimeoutMs} ms`, this.transport, this.address, this.port),
    );
  };

  private readonly onError = (err: Error): void => {
    this.lastError ??= err;
    if (this.state_ === 'connecting') this.closeReason ??= 'connect-failed';
    else this.closeReason ??= 'error';
  };

  private readonly onEnd = (): void => {
    // The peer half-closed; with allowHalfOpen off Node ends our side too (RFC 3261 §18: nothing more to read).
    this.closeReason ??= 'remote';
  };

  private readonly onTimeout = (): void => {
    // net.Socket#setTimeout: no bytes read or written for idleTimeoutMs.
    this.close('idle');
  };

  private readonly onClose = (): void => {
    if (this.state_ === 'closed') return;
    const wasConnecting = this.state_ === 'connecting';
    this.state_ = 'closed';
    this.settings.clock.clearTimeout(this.connectTimer);
    this.settings.clock.clearTimeout(this.graceTimer);
    this.connectTimer = undefined;
    this.graceTimer = undefined;
    this.framer.halt();
    const reason = this.closeReason ?? (wasConnecting ? 'connect-failed' : 'remote');
    if (this.queue.length > 0) {
      const err = this.lastError
        ? toTransportError(this.lastError, this.transport, this.address, this.port)
        : this.closedError();
      const queue = this.queue;
      this.queue = [];
      this.queuedBytes = 0;
      for (const w of queue) w.reject(err);
    }
    this.owner.connectionClosed(this, reason, this.lastError);
  };

  private readonly endGracefully = (): void => {
    if (this.state_ === 'closed') return;
    this.socket.end();
    this.graceTimer ??= this.settings.clock.setTimeout(this.onGraceExpired, this.settings.closeGraceMs);
  };

  private readonly onGraceExpired = (): void => {
    this.graceTimer = undefined;
    this.socket.destroy();
  };

  // --- helpers ---------------------------------------------------------------------------------------

  private configureOpenSocket(): void {
    const s = this.socket;
    this.local_ = { address: normalizeAddress(s.localAddress ?? ''), port: s.localPort ?? 0 };
    this.source_ = undefined;
    this.sendResult_ = undefined;
    // SIP messages are small and latency matters more than segment count.
    s.setNoDelay(true);
    if (this.settings.tcpKeepAliveMs > 0) s.setKeepAlive(true, this.settings.tcpKeepAliveMs);
    if (this.settings.idleTimeoutMs > 0) s.setTimeout(this.settings.idleTimeoutMs);
  }

  private get sendResult(): SendResult {
    this.sendResult_ ??= { transport: this.transport, local: this.local_, connectionId: this.connectionId };
    return this.sendResult_;
  }

  private socketWrite(data: Buffer, resolve: (r: SendResult) => void, reject: (e: TransportError) => void): void {
    const result = this.sendResult;
    this.socket.write(data, (err) => {
      if (err) reject(toTransportError(this.lastError ?? err, this.transport, this.address, this.port));
      else resolve(result);
    });
  }

  private closedError(): TransportError {
    return new TransportError(ERR_CONNECTION_CLOSED, `${this.transport} connection ${this.connectionId} to ${this.address}:${this.port} is closed`, this.transport, this.address, this.port);
  }
}

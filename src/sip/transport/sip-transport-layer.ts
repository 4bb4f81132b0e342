import { createServer as createTcpServer, isIPv4, isIPv6, connect as tcpConnect, type Server as NetServer, type Socket } from 'node:net';
import {
  checkServerIdentity,
  createSecureContext,
  createServer as createTlsServer,
  connect as tlsConnect,
  type PeerCertificate,
  type SecureContext,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import { InvalidStateError, systemClock, type Clock } from '../../util';
import { ConnectionTable } from './connection-table';
import { StreamConnection, type StreamConnectionOwner, type StreamConnectionSettings } from './stream-connection';
import { ERR_BAD_TARGET, ERR_NO_CONNECTION, ERR_NO_LISTENER, ERR_NOT_RUNNING, TransportError, toTransportError } from './transport-error';
import { TransportMetrics } from './transport-metrics';
import { DEFAULTS, loadPem, validateOptions, type SipTransportOptions } from './transport-options';
import { normalizeAddress } from './transport-protocol';
import { UdpListener } from './udp-listener';
import type {
  ConnectionCloseReason,
  ConnectionInfo,
  DropReason,
  Endpoint,
  MessageSource,
  SendResult,
  SendTarget,
  StreamProtocol,
  TransportProtocol,
} from './types';

/** Bound ports of the running listeners (0 / absent when a listener is disabled). */
export interface TransportPorts {
  readonly udp?: number;
  readonly udp6?: number;
  readonly tcp?: number;
  readonly tls?: number;
}

const ERR_CONNECTION_LIMIT = 'ERR_SIP_TRANSPORT_CONNECTION_LIMIT';

type LayerState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

/**
 * The SIP transport layer (RFC 3261 §18): UDP, TCP and TLS listeners, stream framing, connection reuse
 * (RFC 5923 spirit, §18.2.2 responses on the request's connection), keep-alives (RFC 5626 §4.4), limits
 * and counters. It moves bytes: complete messages go up through `onMessage`, Buffers come down through `send`.
 *
 *   const layer = new SipTransportLayer({ onMessage, udp: { port: 5060 }, tcp: { port: 5060 } });
 *   await layer.start();
 *   await layer.send({ transport: 'UDP', address: '192.0.2.1', port: 5060 }, bytes);
 *   await layer.close();
 */
export class SipTransportLayer implements StreamConnectionOwner {
  /** Counters, read by observability/. */
  readonly metrics = new TransportMetrics();
  private state: LayerState = 'idle';
  private readonly clock: Clock;
  private readonly connections = new ConnectionTable();
  private readonly connSettings: StreamConnectionSettings;
  private readonly maxConnections: number;
  private readonly maxMessageSize: number;
  private udp4: UdpListener | undefined;
  private udp6: UdpListener | undefined;
  private tcpServer: NetServer | undefined;
  private tlsServer: TlsServer | undefined;
  private tcpLocal: Endpoint | undefined;
  private tlsLocal: Endpoint | undefined;
  /** Outbound TLS trust anchors and client certificate, parsed once at start. */
  private tlsClientContext: SecureContext | undefined;
  private outboundCount = 0;
  private nextConnectionId = 1;
  private allClosed: (() => void) | undefined;

  constructor(private readonly options: SipTransportOptions) {
    validateOptions(options);
    this.clock = options.clock ?? systemClock;
    this.maxConnections = options.maxConnections ?? DEFAULTS.maxConnections;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULTS.maxMessageSize;
    this.connSettings = {
      maxMessageSize: this.maxMessageSize,
      maxBufferedBytes: options.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      closeGraceMs: options.closeGraceMs ?? DEFAULTS.closeGraceMs,
      tcpKeepAliveMs: options.tcpKeepAliveMs ?? DEFAULTS.tcpKeepAliveMs,
      clock: this.clock,
    };
  }

  /** Bind every configured listener. Rejects (and releases what was bound) if any bind fails. */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new InvalidStateError(`SipTransportLayer.start() in state ${this.state}`);
    this.state = 'starting';
    const o = this.options;
    const host = o.host ?? DEFAULTS.host;
    try {
      const udpCommon = {
        recvBufferSize: o.udpRecvBufferSize ?? DEFAULTS.udpRecvBufferSize,
        sendBufferSize: o.udpSendBufferSize ?? DEFAULTS.udpSendBufferSize,
        maxMessageSize: this.maxMessageSize,
      };
      const c = o.tlsClient ?? {};
      this.tlsClientContext = createSecureContext({
        ca: c.ca === undefined ? undefined : loadPem(c.ca),
        cert: c.cert === undefined ? undefined : loadPem(c.cert),
        key: c.key === undefined ? undefined : loadPem(c.key),
        passphrase: c.passphrase,
      });
      const handlers = { onMessage: o.onMessage, onDrop: o.onDrop, onError: this.reportError };
      const udp = o.udp ?? {};
      if (udp !== false) {
        const h = udp.host ?? host;
        // An IPv6 host here ('::') makes a dual-stack socket; `udp6` adds a separate IPv6-only one.
        this.udp4 = new UdpListener({ type: isIPv6(h) ? 'udp6' : 'udp4', ipv6Only: false, host: h, port: udp.port ?? 5060, ...udpCommon }, handlers, this.metrics);
        await this.udp4.bind();
      }
      if (o.udp6) {
        this.udp6 = new UdpListener({ type: 'udp6', ipv6Only: true, host: o.udp6.host ?? '::', port: o.udp6.port ?? 5060, ...udpCommon }, handlers, this.metrics);
        await this.udp6.bind();
      }
      const tcp = o.tcp ?? {};
      if (tcp !== false) {
        const server = createTcpServer({ noDelay: true });
        this.tcpServer = server;
        server.on('connection', this.onTcpConnection);
        this.tcpLocal = await this.listen(server, tcp.host ?? host, tcp.port ?? 5060);
      }
      if (o.tls) {
        const t = o.tls;
        const server = createTlsServer({
          cert: loadPem(t.cert),
          key: loadPem(t.key),
          passphrase: t.passphrase,
          ca: t.ca === undefined ? undefined : loadPem(t.ca),
          requestCert: t.requestCert ?? false,
          rejectUnauthorized: t.requestCert ?? false,
          handshakeTimeout: this.connSettings.connectTimeoutMs,
          noDelay: true,
        });
        this.tlsServer = server;
        server.on('connection', this.onTlsRawConnection);
        server.on('secureConnection', this.onTlsConnection);
        server.on('tlsClientError', this.onTlsClientError);
        this.tlsLocal = await this.listen(server, t.host ?? host, t.port ?? 5061);
      }
    } catch (err) {
      await this.releaseListeners();
      this.state = 'closed';
      throw err;
    }
    this.state = 'running';
  }

  /** Ports actually bound (useful with port 0). */
  get ports(): TransportPorts {
    return {
      udp: this.udp4?.local.port,
      udp6: this.udp6?.local.port,
      tcp: this.tcpLocal?.port,
      tls: this.tlsLocal?.port,
    };
  }

  /** The bound address of a listener (IPv4 UDP socket for 'UDP'), or null when it is disabled. */
  localEndpoint(transport: TransportProtocol): Endpoint | null {
    if (transport === 'UDP') return this.udp4?.local ?? this.udp6?.local ?? null;
    return (transport === 'TCP' ? this.tcpLocal : this.tlsLocal) ?? null;
  }

  /** SO_RCVBUF/SO_SNDBUF granted to the IPv4 UDP socket (the kernel may cap the 4 MiB asked for). */
  get udpBufferSizes(): { recv: number; send: number } | null {
    return this.udp4?.bufferSizes ?? null;
  }

  /** Open TCP/TLS connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Describe an open connection, or undefined when it is gone. */
  getConnection(connectionId: number): ConnectionInfo | undefined {
    const c = this.connections.get(connectionId);
    return c === undefined || c.state === 'closed' ? undefined : c;
  }

  /**
   * RFC 5923 §5: after a peer's request with `alias` in its Via, requests to its sent-by (address:port)
   * may reuse the connection. Returns false when the connection is gone.
   */
  addAlias(connectionId: number, address: string, port: number): boolean {
    const c = this.connections.get(connectionId);
    if (c === undefined || c.state !== 'open') return false;
    this.connections.index(c, normalizeAddress(address), port);
    return true;
  }

  /** Close one connection gracefully (pending writes are flushed first). */
  closeConnection(connectionId: number): boolean {
    const c = this.connections.get(connectionId);
    if (c === undefined || c.state === 'closed') return false;
    this.connections.unindex(c);
    c.close('local');
    return true;
  }

  /**
   * Send one message. UDP: one datagram from the listener of the target's address family. TCP/TLS: on
   * `target.connectionId` when it is still open (RFC 3261 §18.2.2: responses go back on the request's
   * connection), else on an open connection to (transport, address, port) — including one the peer opened
   * (RFC 5923) — else on a new connection (unless `target.connect === false`).
   * Resolves when the bytes are handed to the OS; rejects with a TransportError (ECONNREFUSED, ECONNRESET,
   * ETIMEDOUT, EHOSTUNREACH, a TLS verification code, ERR_SIP_TRANSPORT_*), which the transaction layer
   * turns into a transport error (RFC 3261 §17.1.4, §17.2.4). The caller must handle the rejection.
   */
  send(target: SendTarget, data: Buffer): Promise<SendResult> {
    if (this.state !== 'running') {
      return this.sendFailed(new TransportError(ERR_NOT_RUNNING, `transport layer is ${this.state}`, target.transport, target.address, target.port));
    }
    if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535 || target.address.length === 0) {
      // Targets come from Via/Contact/Route values of network input: refuse them as a send failure, never a throw.
      return this.sendFailed(new TransportError(ERR_BAD_TARGET, `bad target ${target.address}:${target.port}`, target.transport, target.address, target.port));
    }
    const m = this.metrics;
    if (target.transport === 'UDP') {
      const listener = this.udpFor(target.address);
      if (listener === undefined) {
        return this.sendFailed(new TransportError(ERR_NO_LISTENER, `no UDP socket for ${target.address}`, 'UDP', target.address, target.port));
      }
      m.messagesOut++;
      m.bytesOut += data.length;
      return listener.send(data, target.address, target.port).catch(this.countSendError);
    }
    let conn = target.connectionId === undefined ? undefined : this.connections.get(target.connectionId);
    if (conn !== undefined && (conn.state === 'closed' || conn.transport !== target.transport)) conn = undefined;
    const address = normalizeAddress(target.address);
    conn ??= this.connections.find(target.transport, address, target.port);
    if (conn === undefined) {
      if (target.connect === false) {
        return this.sendFailed(new TransportError(ERR_NO_CONNECTION, `no open ${target.transport} connection to ${address}:${target.port}`, target.transport, address, target.port));
      }
      if (this.outboundCount >= this.maxConnections) {
        return this.sendFailed(new TransportError(ERR_CONNECTION_LIMIT, `outbound connection limit ${this.maxConnections} reached`, target.transport, address, target.port));
      }
      try {
        conn = this.connect(target.transport, address, target.port, target.serverName);
      } catch (err) {
        return this.sendFailed(toTransportError(err, target.transport, address, target.port));
      }
    }
    m.messagesOut++;
    m.bytesOut += data.length;
    return conn.write(data).catch(this.countSendError);
  }

  /** Stop listening, end every connection (destroying those that linger past closeGraceMs) and release sockets. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    const pending = this.connections.size > 0 ? new Promise<void>((resolve) => (this.allClosed = resolve)) : Promise.resolve();
    for (const c of this.connections.values()) {
      this.connections.unindex(c);
      c.close('shutdown');
    }
    await Promise.all([this.releaseListeners(), pending]);
    this.state = 'closed';
  }

  // --- StreamConnectionOwner ---------------------------------------------------------------------

  connectionOpen(conn: StreamConnection): void {
    // An outbound connection opened to a host name is also reachable by the IP it reached.
    const remote = conn.remoteAddress;
    if (conn.state === 'open' && remote !== conn.address) this.connections.index(conn, remote, conn.port);
  }

  connectionMessage(conn: StreamConnection, data: Buffer): void {
    this.metrics.messagesIn++;
    try {
      this.options.onMessage(data, conn.source);
    } catch (err) {
      this.metrics.handlerErrors++;
      this.reportError(err instanceof Error ? err : new Error(String(err)), 'onMessage');
    }
  }

  connectionKeepAlive(_conn: StreamConnection, kind: 'ping' | 'pong'): void {
    if (kind === 'ping') {
      this.metrics.keepAlivePings++;
      this.metrics.bytesOut += 2;
    } else {
      this.metrics.keepAlivePongs++;
    }
  }

  connectionFramingError(conn: StreamConnection, reason: 'oversize' | 'invalid-framing', head: Buffer | undefined): void {
    // Stop offering the connection for new sends; it stays reachable by id until it ends, so the layer
    // above can answer (413 for oversize, RFC 3261 §21.4.11) on it first.
    this.connections.unindex(conn);
    this.reportDrop(reason, conn.source, head);
  }

  connectionBytesIn(_conn: StreamConnection, n: number): void {
    this.metrics.bytesIn += n;
  }

  connectionClosed(conn: StreamConnection, reason: ConnectionCloseReason, error: Error | undefined): void {
    this.connections.remove(conn);
    this.metrics.connectionsClosed++;
    if (conn.direction === 'outbound') this.outboundCount--;
    const onClose = this.options.onConnectionClose;
    if (onClose !== undefined && reason !== 'connect-failed') {
      try {
        onClose(conn, reason, error);
      } catch (err) {
        this.metrics.handlerErrors++;
        this.reportError(err instanceof Error ? err : new Error(String(err)), 'onConnectionClose');
      }
    }
    if (this.connections.size === 0 && this.allClosed !== undefined) {
      const done = this.allClosed;
      this.allClosed = undefined;
      done();
    }
  }

  // --- internals ---------------------------------------------------------------------------------

  /** The UDP socket able to reach `address`: the IPv6-only one for IPv6 when present, else the main one if its family fits. */
  private udpFor(address: string): UdpListener | undefined {
    const main = this.udp4;
    if (isIPv6(address)) return this.udp6 ?? (main !== undefined && main.family === 'udp6' ? main : undefined);
    return main;
  }

  private connect(transport: StreamProtocol, address: string, port: number, serverName: string | undefined): StreamConnection {
    const host = this.options.host ?? DEFAULTS.host;
    // Bind outbound connections to the configured interface when it is a specific one.
    const localAddress = host === '0.0.0.0' || host === '::' || isIPv6(host) !== isIPv6(address) ? undefined : host;
    let socket: Socket | TLSSocket;
    if (transport === 'TLS') {
      const c = this.options.tlsClient ?? {};
      const isIp = isIPv6(address) || isIPv4(address);
      // tls.connect hands these to net.connect (localAddress is honoured there, though ConnectionOptions omits it).
      const tcpPart = { host: address, port, localAddress };
      socket = tlsConnect({
        ...tcpPart,
        // RFC 6066 §3: SNI carries a host name, never an IP literal.
        servername: serverName ?? (isIp ? undefined : address),
        rejectUnauthorized: c.verifyPeer ?? true,
        secureContext: this.tlsClientContext,
        // Verify against the name the target was looked up by (RFC 5922 §7.3), not the IP connected to.
        // (Node rejects an explicit undefined here: pass its own checker when there is no name.)
        checkServerIdentity: serverName === undefined ? checkServerIdentity : (_host, cert) => checkIdentity(serverName, cert),
      });
    } else {
      socket = tcpConnect({ host: address, port, localAddress, noDelay: true });
    }
    const conn = new StreamConnection(this.nextConnectionId++, transport, 'outbound', address, port, socket, this, this.connSettings);
    this.outboundCount++;
    this.metrics.connectionsOpened++;
    this.connections.add(conn);
    return conn;
  }

  private readonly onTcpConnection = (socket: Socket): void => {
    this.accept('TCP', socket);
  };

  /** TCP sockets of the TLS listener still in their handshake, by remote address|port (closed on shutdown). */
  private readonly handshaking = new Map<string, Socket>();

  private readonly onTlsRawConnection = (raw: Socket): void => {
    const key = `${raw.remoteAddress}|${raw.remotePort}`;
    this.handshaking.set(key, raw);
    raw.once('close', () => {
      if (this.handshaking.get(key) === raw) this.handshaking.delete(key);
    });
  };

  private readonly onTlsConnection = (socket: TLSSocket): void => {
    this.handshaking.delete(`${socket.remoteAddress}|${socket.remotePort}`);
    this.accept('TLS', socket);
  };

  private accept(transport: StreamProtocol, socket: Socket): void {
    const address = normalizeAddress(socket.remoteAddress ?? '');
    const port = socket.remotePort ?? 0;
    if (this.state !== 'running' || this.connections.size - this.outboundCount >= this.maxConnections) {
      socket.on('error', ignoreError);
      socket.destroy();
      if (this.state === 'running') this.reportDrop('connection-limit', this.looseSource(transport, socket));
      return;
    }
    const conn = new StreamConnection(this.nextConnectionId++, transport, 'inbound', address, port, socket, this, this.connSettings);
    this.metrics.connectionsOpened++;
    this.connections.add(conn);
  }

  private readonly onTlsClientError = (err: Error, socket: TLSSocket): void => {
    socket.destroy();
    this.reportDrop('tls-handshake', this.looseSource('TLS', socket));
    this.reportError(err, 'tls handshake');
  };

  private looseSource(transport: StreamProtocol, socket: Socket): MessageSource {
    return {
      transport,
      address: normalizeAddress(socket.remoteAddress ?? ''),
      port: socket.remotePort ?? 0,
      local: { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 },
    };
  }

  private reportDrop(reason: DropReason, source: MessageSource, data?: Buffer): void {
    this.metrics.drops[reason]++;
    const onDrop = this.options.onDrop;
    if (onDrop === undefined) return;
    try {
      onDrop(reason, source, data);
    } catch (err) {
      this.metrics.handlerErrors++;
      this.reportError(err instanceof Error ? err : new Error(String(err)), 'onDrop');
    }
  }

  private readonly reportError = (err: Error, context: string): void => {
    const onError = this.options.onError;
    if (onError === undefined) return;
    try {
      onError(err, context);
    } catch {
      // An error reporter that throws has nowhere left to report to.
    }
  };

  private readonly countSendError = (err: unknown): never => {
    this.metrics.sendErrors++;
    throw err;
  };

  private sendFailed(err: TransportError): Promise<never> {
    this.metrics.sendErrors++;
    return Promise.reject(err);
  }

  private listen(server: NetServer, host: string, port: number): Promise<Endpoint> {
    return new Promise<Endpoint>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err: Error) => this.reportError(err, `listener ${host}:${port}`));
        const a = server.address();
        resolve(typeof a === 'object' && a !== null ? { address: a.address, port: a.port } : { address: host, port });
      });
    });
  }

  private async releaseListeners(): Promise<void> {
    const closeServer = (s: NetServer | undefined): Promise<void> =>
      s === undefined || !s.listening ? Promise.resolve() : new Promise<void>((resolve) => s.close(() => resolve()));
    const tcp = this.tcpServer;
    const tls = this.tlsServer;
    this.tcpServer = undefined;
    this.tlsServer = undefined;
    for (const raw of this.handshaking.values()) raw.destroy();
    this.handshaking.clear();
    await Promise.all([this.udp4?.close(), this.udp6?.close(), closeServer(tcp), closeServer(tls)]);
  }
}

function ignoreError(): void {
  // A socket refused at accept: its errors mean nothing to anyone.
}

/** Verify the certificate against the name the target was resolved from rather than the IP connected to. */
function checkIdentity(serverName: string, cert: PeerCertificate): Error | undefined {
  return checkServerIdentity(serverName, cert);
}

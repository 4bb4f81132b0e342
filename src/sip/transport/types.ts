/**
 * Shared vocabulary of the SIP transport layer (RFC 3261 §18). The layer moves bytes: it never parses a
 * SIP message beyond the framing needed on streams, so these types carry addresses, not headers.
 */

/** The transports this layer carries. WS/WSS/SCTP are not served here. */
export type TransportProtocol = 'UDP' | 'TCP' | 'TLS';

/** Connection-oriented transports: framing by Content-Length, connection reuse (RFC 3261 §18.3). */
export type StreamProtocol = 'TCP' | 'TLS';

/** An IP address and port. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are reported in dotted-quad form. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * Where a message came from. On streams the object is created once per connection and may be retained.
 * On UDP it is reused for every datagram of a listener (no per-packet allocation): it is only valid during
 * the `onMessage` call; keep a copy (`cloneSource`) if it must outlive the call.
 */
export interface MessageSource {
  readonly transport: TransportProtocol;
  readonly address: string;
  readonly port: number;
  /** The listener (UDP) or the connection's local end (TCP/TLS). */
  readonly local: Endpoint;
  /** Set for TCP/TLS: the connection the message arrived on (responses go back on it, RFC 3261 §18.2.2). */
  readonly connectionId?: number;
}

/** Where to send. `address` should be an IP literal (RFC 3263 resolution happens above this layer). */
export interface SendTarget {
  readonly transport: TransportProtocol;
  readonly address: string;
  readonly port: number;
  /** Prefer this connection when it is still open (RFC 3261 §18.2.2, RFC 5923). */
  readonly connectionId?: number;
  /** TLS: the server name for SNI and certificate checks (a host name, not an IP). */
  readonly serverName?: string;
  /**
   * false: only reuse an existing connection, never open one (RFC 5626 §5.3: a broken flow is not
   * silently replaced). Default true.
   */
  readonly connect?: boolean;
}

/** What a successful send used. The same object is returned for every send on a socket or connection. */
export interface SendResult {
  readonly transport: TransportProtocol;
  readonly local: Endpoint;
  readonly connectionId?: number;
}

/**
 * Why inbound bytes were discarded. Counted in TransportMetrics.drops; reported through `onDrop`.
 * - oversize: a message larger than maxMessageSize (the stream is then closed, RFC 3261 §18.3 / §21.4.11 413).
 * - invalid-framing: a stream message without a usable Content-Length (RFC 3261 §18.3); the stream is closed.
 * - connection-limit: an inbound connection refused because maxConnections was reached.
 * - tls-handshake: an inbound TLS handshake failed.
 * - stun: a STUN packet that is not a binding request this layer answers.
 */
export type DropReason = 'oversize' | 'invalid-framing' | 'connection-limit' | 'tls-handshake' | 'stun';

export const DROP_REASONS: readonly DropReason[] = ['oversize', 'invalid-framing', 'connection-limit', 'tls-handshake', 'stun'];

/** Why a stream connection ended. */
export type ConnectionCloseReason = 'remote' | 'idle' | 'error' | 'framing' | 'connect-failed' | 'shutdown' | 'local';

/** Reported when a TCP/TLS connection ends (e.g. so a registrar can drop an RFC 5626 flow). */
export interface ConnectionInfo {
  readonly connectionId: number;
  readonly transport: StreamProtocol;
  readonly address: string;
  readonly port: number;
  readonly local: Endpoint;
  readonly direction: 'inbound' | 'outbound';
}

/** Receives every complete raw message. `data` is owned by the callee (never reused by this layer). */
export type MessageHandler = (data: Buffer, source: MessageSource) => void;

/**
 * Receives discarded input. `data` is what could be salvaged (for `oversize`, the message head when the
 * header section was complete, so the layer above can answer 413 on the connection before it closes).
 */
export type DropHandler = (reason: DropReason, source: MessageSource, data?: Buffer) => void;

/** Copy a MessageSource so it can be retained beyond the `onMessage` call. */
export function cloneSource(source: MessageSource): MessageSource {
  const local = { address: source.local.address, port: source.local.port };
  return source.connectionId === undefined
    ? { transport: source.transport, address: source.address, port: source.port, local }
    : { transport: source.transport, address: source.address, port: source.port, local, connectionId: source.connectionId };
}

import { readFileSync } from 'node:fs';
import type { Clock } from '../../util';
import type { ConnectionCloseReason, ConnectionInfo, DropHandler, MessageHandler } from './types';

/** A listening socket. Port 0 asks the OS for an ephemeral port (read it back from `SipTransportLayer.ports`). */
export interface ListenerOptions {
  /** Default 5060 (5061 for TLS). */
  readonly port?: number;
  /** Bind address; defaults to the layer's `host`. */
  readonly host?: string;
}

/** PEM material: the PEM text itself (Buffer, or a string starting with "-----BEGIN"), or a file path. */
export type PemSource = Buffer | string;

export interface TlsListenerOptions extends ListenerOptions {
  readonly cert: PemSource;
  readonly key: PemSource;
  readonly passphrase?: string;
  /** CA bundle to verify client certificates with (mutual TLS). */
  readonly ca?: PemSource;
  /** Ask clients for a certificate and reject those that do not present a valid one. Default false. */
  readonly requestCert?: boolean;
}

export interface TlsClientOptions {
  /**
   * Verify the server certificate of outbound TLS connections (chain and name). Default true; turn it off
   * only for trunks known to present self-signed certificates.
   */
  readonly verifyPeer?: boolean;
  /** Extra trust anchors for outbound connections (e.g. a trunk's self-signed certificate). */
  readonly ca?: PemSource;
  /** Client certificate for trunks that require mutual TLS. */
  readonly cert?: PemSource;
  readonly key?: PemSource;
  readonly passphrase?: string;
}

export interface SipTransportOptions {
  /** Every complete inbound message. */
  readonly onMessage: MessageHandler;
  /** Inbound input discarded (counted in metrics whether or not this is set). */
  readonly onDrop?: DropHandler;
  /**
   * A TCP/TLS connection that was open ended (RFC 5626: the flow it carried is gone). Outbound connections
   * that never connected are not reported here: their sends are rejected instead.
   */
  readonly onConnectionClose?: (info: ConnectionInfo, reason: ConnectionCloseReason, error?: Error) => void;
  /** Errors of listening sockets and of handlers, which the layer survives. */
  readonly onError?: (error: Error, context: string) => void;

  /** Default bind address of the listeners. Default '0.0.0.0'. */
  readonly host?: string;
  /** UDP over IPv4 (or whatever `host` is). Default { port: 5060 }; false disables. */
  readonly udp?: ListenerOptions | false;
  /** A second UDP socket for IPv6 (IPV6_V6ONLY). Default disabled; host defaults to '::'. */
  readonly udp6?: ListenerOptions | false;
  /** TCP. Default { port: 5060 }; false disables the listener (outbound TCP still works). */
  readonly tcp?: ListenerOptions | false;
  /** TLS listener. Default disabled (outbound TLS still works). */
  readonly tls?: TlsListenerOptions | false;
  /** Outbound TLS settings. */
  readonly tlsClient?: TlsClientOptions;

  /** SO_RCVBUF requested for UDP sockets (the kernel may cap it: net.core.rmem_max). Default 4 MiB. */
  readonly udpRecvBufferSize?: number;
  /** SO_SNDBUF requested for UDP sockets. Default 4 MiB. */
  readonly udpSendBufferSize?: number;
  /** Close TCP/TLS connections without traffic for this long. Default 120 s; 0 disables. */
  readonly idleTimeoutMs?: number;
  /** Outbound connect (and inbound TLS handshake) timeout. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Largest message accepted, on any transport (STYLE: 64 KiB). Default 65535. */
  readonly maxMessageSize?: number;
  /** Largest write queue per connection before sends fail with backpressure. Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /** Most TCP/TLS connections open at once, inbound and outbound each. Default 10000. */
  readonly maxConnections?: number;
  /** TCP keep-alive probe delay (SO_KEEPALIVE) to find dead peers. Default 30 s; 0 disables. */
  readonly tcpKeepAliveMs?: number;
  /** How long close() waits for connections to end gracefully before destroying them. Default 2 s. */
  readonly closeGraceMs?: number;
  /** Time source for connect timeouts and close grace. Default the system clock. */
  readonly clock?: Clock;
}

export const DEFAULTS = {
  host: '0.0.0.0',
  udpRecvBufferSize: 4 * 1024 * 1024,
  udpSendBufferSize: 4 * 1024 * 1024,
  idleTimeoutMs: 120_000,
  connectTimeoutMs: 10_000,
  maxMessageSize: 65_535,
  maxBufferedBytes: 1024 * 1024,
  maxConnections: 10_000,
  tcpKeepAliveMs: 30_000,
  closeGraceMs: 2_000,
} as const;

/** PEM text from a Buffer, an inline PEM string or a file path. Throws (at start) if the file is unreadable. */
export function loadPem(source: PemSource): Buffer {
  if (Buffer.isBuffer(source)) return source;
  return source.trimStart().startsWith('-----BEGIN') ? Buffer.from(source, 'utf8') : readFileSync(source);
}

/** Reject nonsense configuration early (TypeError at the API edge, STYLE §4). */
export function validateOptions(o: SipTransportOptions): void {
  if (typeof o.onMessage !== 'function') throw new TypeError('SipTransportOptions.onMessage must be a function');
  const positive: Array<[string, number | undefined]> = [
    ['maxMessageSize', o.maxMessageSize],
    ['maxBufferedBytes', o.maxBufferedBytes],
    ['maxConnections', o.maxConnections],
    ['connectTimeoutMs', o.connectTimeoutMs],
  ];
  for (const [name, v] of positive) {
    if (v !== undefined && (!Number.isFinite(v) || v <= 0)) throw new TypeError(`SipTransportOptions.${name} must be a positive number`);
  }
  const nonNegative: Array<[string, number | undefined]> = [
    ['idleTimeoutMs', o.idleTimeoutMs],
    ['tcpKeepAliveMs', o.tcpKeepAliveMs],
    ['closeGraceMs', o.closeGraceMs],
    ['udpRecvBufferSize', o.udpRecvBufferSize],
    ['udpSendBufferSize', o.udpSendBufferSize],
  ];
  for (const [name, v] of nonNegative) {
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw new TypeError(`SipTransportOptions.${name} must be >= 0`);
  }
  for (const [name, l] of [['udp', o.udp], ['udp6', o.udp6], ['tcp', o.tcp], ['tls', o.tls]] as const) {
    if (l && l.port !== undefined && (!Number.isInteger(l.port) || l.port < 0 || l.port > 65535)) {
      throw new TypeError(`SipTransportOptions.${name}.port must be an integer in 0..65535`);
    }
  }
}

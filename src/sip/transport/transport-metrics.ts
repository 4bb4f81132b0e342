import { DROP_REASONS, type DropReason } from './types';

/**
 * Counters of the transport layer, as plain numbers: observability/ reads them (e.g. from a prom-client
 * collect callback); nothing here knows about Prometheus. Counters only grow, except the gauges noted.
 */
export class TransportMetrics {
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Sends that failed (connect refused, reset, ICMP unreachable reported by the OS, backpressure...). */
  sendErrors = 0;
  connectionsOpened = 0;
  connectionsClosed = 0;
  /** RFC 5626 §4.4.1 double-CRLF pings received on streams (each answered with a pong). */
  keepAlivePings = 0;
  /** Single-CRLF pongs received on streams, and CRLF datagrams received on UDP. */
  keepAlivePongs = 0;
  /** STUN binding requests answered on UDP (RFC 5626 §4.4.2). */
  stunBindings = 0;
  /** Exceptions thrown by the onMessage/onDrop handlers (caught: network input never throws out of the layer). */
  handlerErrors = 0;
  /** Inbound bytes discarded, by reason. */
  readonly drops: Record<DropReason, number> = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;

  /** Gauge: TCP/TLS connections currently open (or connecting). */
  get connectionsOpen(): number {
    return this.connectionsOpened - this.connectionsClosed;
  }

  /** Sum of all drops. */
  get dropsTotal(): number {
    let n = 0;
    for (const r of DROP_REASONS) n += this.drops[r];
    return n;
  }
}

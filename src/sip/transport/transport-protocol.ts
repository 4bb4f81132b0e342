import type { StreamProtocol, TransportProtocol } from './types';

/** RFC 3261 §18.1.1: the size above which a request must not go over UDP when the path MTU is unknown. */
export const UDP_STREAM_THRESHOLD = 1300;

/** RFC 3261 §18.1.1: a request within this many bytes of a known path MTU goes over a congestion-controlled transport. */
export const MTU_MARGIN = 200;

/** Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP). */
export const MAX_UDP_PAYLOAD = 65507;

/**
 * Default port of a transport: 5061 for TLS (RFC 3261 §19.1.2 sips), 5060 otherwise; 80/443 for
 * WS/WSS (RFC 7118 §5.2 leaves them to the URI scheme). Accepts any case.
 */
export function defaultPort(transport: string): number {
  switch (transport.toUpperCase()) {
    case 'TLS':
    case 'TLS-SCTP':
      return 5061;
    case 'WS':
      return 80;
    case 'WSS':
      return 443;
    default:
      return 5060;
  }
}

/** Normalize a Via/URI transport token to one this layer carries, or null (SCTP, WS, unknown). */
export function toTransportProtocol(transport: string): TransportProtocol | null {
  const t = transport.length === 3 ? transport.toUpperCase() : '';
  return t === 'UDP' || t === 'TCP' || t === 'TLS' ? t : null;
}

/** True for connection-oriented, reliable transports (RFC 3261 §18: TCP, TLS, SCTP; RFC 7118 WS/WSS). */
export function isReliableTransport(transport: string): boolean {
  const t = transport.toUpperCase();
  return t === 'TCP' || t === 'TLS' || t === 'SCTP' || t === 'TLS-SCTP' || t === 'WS' || t === 'WSS';
}

/** Type guard for the stream transports this layer carries. */
export function isStreamProtocol(transport: TransportProtocol): transport is StreamProtocol {
  return transport !== 'UDP';
}

/**
 * RFC 3261 §18.1.1: a request of `size` bytes must go over a congestion-controlled transport (TCP) when it
 * is within 200 bytes of the path MTU, or larger than 1300 bytes when the MTU is unknown (`pathMtu` omitted).
 * Responses are exempt: they go where §18.2.2 says.
 */
export function shouldUseStream(size: number, pathMtu?: number): boolean {
  return pathMtu === undefined ? size > UDP_STREAM_THRESHOLD : size > pathMtu - MTU_MARGIN;
}

/** '::ffff:192.0.2.1' -> '192.0.2.1' (dual-stack sockets report IPv4 peers this way); other addresses unchanged. */
export function normalizeAddress(address: string): string {
  return address.length > 7 && address.charCodeAt(0) === 58 /* : */ && address.startsWith('::ffff:') && address.indexOf('.') > 0
    ? address.slice(7)
    : address;
}

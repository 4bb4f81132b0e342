/**
 * Where a message goes to or came from, as far as the transaction layer cares. The transport layer's own types
 * (`SendTarget`, `MessageSource`, which also carry a connection id and the local end) satisfy it structurally and flow
 * through the transaction layer untouched: `TransactionLayer<SendTarget>`.
 */
export interface TransportTarget {
  /** Transport name as in Via: 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS' | 'SCTP'. */
  readonly transport: string;
  /** IP address (or host name) of the peer. */
  readonly address: string;
  readonly port: number;
}

/**
 * RFC 3261 §17.1.1.2 / §17.1.2.2 / §17.2.1: retransmission timers (A, E, G) and the wait timers (D, I, J, K) depend on
 * whether the transport is reliable. Only UDP is unreliable among the transports this server speaks.
 */
export function isReliableTransport(target: TransportTarget): boolean {
  const t = target.transport;
  return t !== 'UDP' && t.toUpperCase() !== 'UDP';
}

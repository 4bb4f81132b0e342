import { defaultPort, isReliableTransport, toTransportProtocol } from './transport-protocol';
import type { MessageSource, SendTarget, TransportProtocol } from './types';

/** The parts of the topmost Via a response is routed by (RFC 3261 §20.42, RFC 3581 §3). */
export interface ViaRouting {
  /** sent-protocol transport token: UDP, TCP, TLS, SCTP, WS... (any case). */
  readonly transport: string;
  /** sent-by host. */
  readonly host: string;
  /** sent-by port, when present. */
  readonly port?: number;
  /** `received` parameter (RFC 3261 §18.2.1). */
  readonly received?: string;
  /** `rport` parameter (RFC 3581): a number once filled in, null when present without a value, undefined when absent. */
  readonly rport?: number | null;
  /** `maddr` parameter. */
  readonly maddr?: string;
}

/** Where the request came from; only the fields routing needs. */
export type RequestOrigin = Pick<MessageSource, 'transport' | 'address' | 'port' | 'connectionId'>;

/**
 * Where to send a response, from the topmost Via of the request and where the request came from.
 * Returns null when the response cannot be sent by this layer (a transport it does not carry and no
 * connection to answer on).
 *
 * RFC 3261 §18.2.2, in order:
 *  1. Reliable transport: back over the connection the request arrived on; if it has closed, open one to
 *     the `received` address (the source IP) and the sent-by port (default 5060/5061).
 *  2. `maddr` present: to maddr, sent-by port or 5060 (and, per RFC 3581 §4, rport is then ignored).
 *  3. Unreliable unicast: to `received` (source IP) and — RFC 3581 §4 — the `rport` port when the client asked
 *     for it (the source port when the parameter has no value yet), else the sent-by port or 5060.
 *  4. Otherwise to sent-by (host may be a name: RFC 3263 §5 resolution is the caller's job).
 * The source is used as the `received` value when the Via has none: §18.2.1 makes them equal whenever
 * they differ from sent-by.
 */
export function responseTarget(via: ViaRouting, source?: RequestOrigin): SendTarget | null {
  const arrivedOnStream = source !== undefined && source.connectionId !== undefined;
  if (arrivedOnStream || isReliableTransport(via.transport)) {
    // A request that came over a connection is answered on it whatever its Via says (§18.2.2 ¶1).
    const transport: TransportProtocol | null = arrivedOnStream ? source.transport : toTransportProtocol(via.transport);
    if (transport === null) return null;
    const address = via.received ?? source?.address ?? via.host;
    const port = via.port ?? defaultPort(transport);
    return source?.connectionId === undefined
      ? { transport, address, port }
      : { transport, address, port, connectionId: source.connectionId };
  }
  const transport = toTransportProtocol(via.transport);
  if (transport === null) return null;
  if (via.maddr !== undefined && via.maddr.length > 0) {
    return { transport, address: via.maddr, port: via.port ?? defaultPort(transport) };
  }
  const received = via.received ?? source?.address;
  if (received !== undefined) {
    let port: number;
    if (typeof via.rport === 'number') port = via.rport;
    else if (via.rport === null && source !== undefined) port = source.port;
    else port = via.port ?? defaultPort(transport);
    return { transport, address: received, port };
  }
  return { transport, address: via.host, port: via.port ?? defaultPort(transport) };
}

import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import type { SipRequest, SipUri, Via } from '../message';
import { responseTarget, type MessageSource, type TransportProtocol } from '../transport';
import type { SipTarget } from './types';

/** The UA's view of where a message came from (copied: UDP sources are reused by the transport). */
export function targetOfSource(source: MessageSource): SipTarget {
  return source.connectionId === undefined
    ? { transport: source.transport, address: source.address, port: source.port }
    : { transport: source.transport, address: source.address, port: source.port, connectionId: source.connectionId };
}

/** RFC 3261 §18.2.2 + RFC 3581 §4: where the responses to `req` go. */
export function responseTargetOf(via: Via, source: SipTarget): SipTarget | undefined {
  return responseTarget(via, source) ?? undefined;
}

/**
 * RFC 3261 §18.2.1 and RFC 3581 §4: when the sent-by host differs from the packet's source address, add
 * `received`; when the client asked for `rport`, fill it in with the source port (and add `received` too).
 * Returns the Via header value to put back, or undefined when nothing changes (the common case: no rewrite).
 */
export function receivedViaRewrite(req: SipRequest, source: SipTarget, formatVia: (v: Via) => string): string | undefined {
  const via = req.via;
  const wantsRport = via.rport === null;
  if (!wantsRport && via.host === source.address) return undefined;
  const params = new Map(via.params);
  params.set('received', source.address);
  if (wantsRport) params.set('rport', String(source.port));
  return formatVia({ ...via, params, received: source.address, rport: wantsRport ? source.port : via.rport });
}

function transportOfUri(uri: SipUri): TransportProtocol {
  if (uri.scheme === 'sips') return 'TLS';
  const t = uri.params.get('transport');
  if (typeof t === 'string') {
    const u = t.toUpperCase();
    if (u === 'TCP') return 'TCP';
    if (u === 'TLS') return 'TLS';
  }
  return 'UDP';
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Where a request for `uri` goes (RFC 3263 simplified: transport from the URI's scheme and `transport` param,
 * port or the default, host name resolved with the system resolver; NAPTR/SRV are not consulted).
 */
export async function resolveUriTarget(uri: SipUri, preferred?: TransportProtocol): Promise<SipTarget> {
  const transport = preferred ?? transportOfUri(uri);
  const port = uri.port ?? (transport === 'TLS' ? 5061 : 5060);
  const host = stripBrackets(uri.host);
  if (isIP(host)) return { transport, address: host, port };
  const { address } = await lookup(host);
  return { transport, address, port, serverName: host };
}

/** Synchronous variant for IP-literal URIs (the hot path: in-dialog requests to a Contact with an address). */
export function uriTargetIfLiteral(uri: SipUri, preferred?: TransportProtocol): SipTarget | undefined {
  const host = stripBrackets(uri.host);
  if (!isIP(host)) return undefined;
  const transport = preferred ?? transportOfUri(uri);
  return { transport, address: host, port: uri.port ?? (transport === 'TLS' ? 5061 : 5060) };
}

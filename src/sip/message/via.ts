/**
 * Via (RFC 3261 §20.42, §25.1):
 *   via-parm = sent-protocol LWS sent-by *( SEMI via-params )
 *   sent-protocol = protocol-name SLASH protocol-version SLASH transport   (SLASH = SWS "/" SWS)
 */
import { DIGIT, allInClass } from './char-class';
import { parseGenericParams, scanToken, skipWs, splitTopLevel } from './lexer';
import { parseHostPort } from './uri';

export type SipTransportName = 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS' | 'SCTP';

export interface Via {
  /** Upper-cased 'UDP', 'TCP'...; unknown transports are kept (RFC 4475 §3.1.1.10). */
  transport: string;
  /** sent-by host, lower-cased; IPv6 with brackets. */
  host: string;
  port?: number;
  branch?: string;
  received?: string;
  /** RFC 3581: null = present without value. */
  rport?: number | null;
  maddr?: string;
  ttl?: number;
  /** Every parameter in order of appearance (keys lower-cased), including those above. */
  params: Map<string, string | null>;
}

function parseOneVia(s: string): Via | undefined {
  const len = s.length;
  let i = skipWs(s, 0);
  // protocol-name "/" protocol-version "/" transport, each a token, SWS around the slashes.
  let e = scanToken(s, i);
  if (e === i) return undefined;
  i = skipWs(s, e);
  if (s.charCodeAt(i) !== 47) return undefined;
  i = skipWs(s, i + 1);
  e = scanToken(s, i);
  if (e === i) return undefined;
  i = skipWs(s, e);
  if (s.charCodeAt(i) !== 47) return undefined;
  i = skipWs(s, i + 1);
  e = scanToken(s, i);
  if (e === i) return undefined;
  const transport = s.slice(i, e).toUpperCase();
  i = skipWs(s, e);
  if (i === e) return undefined; // LWS is mandatory between sent-protocol and sent-by
  // sent-by = host [ COLON port ]; COLON allows SWS.
  let hostEnd = i;
  if (s.charCodeAt(i) === 91) {
    hostEnd = s.indexOf(']', i);
    if (hostEnd < 0) return undefined;
    hostEnd++;
  } else {
    while (hostEnd < len) {
      const c = s.charCodeAt(hostEnd);
      if (c === 58 || c === 59 || c === 32 || c === 9) break;
      hostEnd++;
    }
  }
  let j = skipWs(s, hostEnd);
  let sentByEnd = hostEnd;
  if (j < len && s.charCodeAt(j) === 58) {
    j = skipWs(s, j + 1);
    let pe = j;
    while (pe < len && s.charCodeAt(pe) >= 48 && s.charCodeAt(pe) <= 57) pe++;
    if (pe === j) return undefined;
    sentByEnd = pe;
  }
  const hp: { host: string; port?: number } = { host: '' };
  if (sentByEnd === hostEnd || s.charCodeAt(hostEnd) === 58) {
    // Common case: no whitespace around the colon, parse in place.
    if (!parseHostPort(s, i, sentByEnd, hp)) return undefined;
  } else {
    const sentBy = s.slice(i, hostEnd) + ':' + s.slice(j, sentByEnd);
    if (!parseHostPort(sentBy, 0, sentBy.length, hp)) return undefined;
  }
  const params = new Map<string, string | null>();
  const end = parseGenericParams(s, sentByEnd, params);
  if (end < 0 || skipWs(s, end) !== len) return undefined;
  const via: Via = { transport, host: hp.host, params };
  if (hp.port !== undefined) via.port = hp.port;
  const branch = params.get('branch');
  if (branch !== undefined) {
    if (branch === null) return undefined;
    via.branch = branch;
  }
  const received = params.get('received');
  if (received !== undefined) {
    if (received === null) return undefined;
    via.received = received;
  }
  const rport = params.get('rport');
  if (rport !== undefined) {
    if (rport === null) via.rport = null;
    else {
      if (!allInClass(DIGIT, rport) || rport.length > 5 || Number(rport) > 65535) return undefined;
      via.rport = Number(rport);
    }
  }
  const maddr = params.get('maddr');
  if (maddr !== undefined) {
    if (maddr === null) return undefined;
    via.maddr = maddr;
  }
  const ttl = params.get('ttl');
  if (ttl !== undefined) {
    // ttl = 1*3DIGIT ; 0 to 255
    if (ttl === null || !allInClass(DIGIT, ttl) || ttl.length > 3 || Number(ttl) > 255) return undefined;
    via.ttl = Number(ttl);
  }
  return via;
}

/** Parses a Via header value (one or more comma-separated via-parms); undefined when any is malformed. */
export function parseVia(text: string): Via[] | undefined {
  const parts = splitTopLevel(text);
  const out: Via[] = [];
  for (const p of parts) {
    const v = parseOneVia(p);
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

/**
 * Writes one via-parm. Typed fields (branch, received, rport, maddr, ttl), when defined, win over `params` so a
 * caller may set `via.received = ...` on a copy; params are written in their order, new typed ones last.
 */
export function formatVia(v: Via): string {
  let out = `SIP/2.0/${v.transport} ${v.host}`;
  if (v.port !== undefined) out += ':' + v.port;
  const typed: Array<[string, string | number | null | undefined]> = [
    ['branch', v.branch],
    ['received', v.received],
    ['rport', v.rport],
    ['maddr', v.maddr],
    ['ttl', v.ttl],
  ];
  const written = new Set<string>();
  for (const [k, pv] of v.params) {
    const t = typed.find((x) => x[0] === k);
    if (t !== undefined && t[1] !== undefined) {
      written.add(k);
      out += t[1] === null ? `;${k}` : `;${k}=${t[1]}`;
    } else out += pv === null ? `;${k}` : `;${k}=${pv}`;
  }
  for (const [k, tv] of typed) {
    if (tv === undefined || written.has(k)) continue;
    out += tv === null ? `;${k}` : `;${k}=${tv}`;
  }
  return out;
}

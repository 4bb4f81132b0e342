/**
 * Via (RFC 3261 §20.42, §25.1):
 *   via-parm = sent-protocol LWS sent-by *( SEMI via-params )
 *   sent-protocol = protocol-name SLASH protocol-version SLASH transport   (SLASH = SWS "/" SWS)
 */
import { DIGIT, allInClass } from './char-class';
import { PARAM_FLAG, ParamWatch, isJsSpace, parseGenericParams, scanParams, scanToken, scanTokenTo, skipWs, skipWsTo, splitTopLevel } from './lexer';
import { checkHostPort, parseHostPort } from './uri';

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

// Slots of VIA_WATCH: the via-params whose values parseOneVia checks.
const W_BRANCH = 0;
const W_RECEIVED = 1;
const W_RPORT = 2;
const W_MADDR = 3;
const W_TTL = 4;
const VIA_WATCH = new ParamWatch(['branch', 'received', 'rport', 'maddr', 'ttl']);

/** Value of the decimal digits s[start,end), or -1 unless the range is 1..maxDigits DIGITs. */
function digitsValue(s: string, start: number, end: number, maxDigits: number): number {
  if (!allInClass(DIGIT, s, start, end) || end - start > maxDigits) return -1;
  let v = 0;
  for (let i = start; i < end; i++) v = v * 10 + (s.charCodeAt(i) - 48);
  return v;
}

/**
 * parseOneVia's grammar over s[start,end) without building the Via (same verdicts); on success, when `out` is
 * given, stores the branch value there.
 */
function checkOneVia(s: string, start: number, end: number, out: ViaCheck | undefined): boolean {
  let i = skipWsTo(s, start, end);
  let e = scanTokenTo(s, i, end);
  if (e === i) return false;
  i = skipWsTo(s, e, end);
  if (i >= end || s.charCodeAt(i) !== 47) return false;
  i = skipWsTo(s, i + 1, end);
  e = scanTokenTo(s, i, end);
  if (e === i) return false;
  i = skipWsTo(s, e, end);
  if (i >= end || s.charCodeAt(i) !== 47) return false;
  i = skipWsTo(s, i + 1, end);
  e = scanTokenTo(s, i, end);
  if (e === i) return false;
  i = skipWsTo(s, e, end);
  if (i === e) return false; // LWS is mandatory between sent-protocol and sent-by
  let hostEnd = i;
  if (i < end && s.charCodeAt(i) === 91) {
    hostEnd = s.indexOf(']', i);
    if (hostEnd < 0 || hostEnd >= end) return false;
    hostEnd++;
  } else {
    while (hostEnd < end) {
      const c = s.charCodeAt(hostEnd);
      if (c === 58 || c === 59 || c === 32 || c === 9) break;
      hostEnd++;
    }
  }
  let j = skipWsTo(s, hostEnd, end);
  let sentByEnd = hostEnd;
  if (j < end && s.charCodeAt(j) === 58) {
    j = skipWsTo(s, j + 1, end);
    let pe = j;
    while (pe < end && s.charCodeAt(pe) >= 48 && s.charCodeAt(pe) <= 57) pe++;
    if (pe === j) return false;
    sentByEnd = pe;
  }
  if (sentByEnd === hostEnd || s.charCodeAt(hostEnd) === 58) {
    if (!checkHostPort(s, i, sentByEnd)) return false;
  } else {
    const sentBy = s.slice(i, hostEnd) + ':' + s.slice(j, sentByEnd);
    if (!checkHostPort(sentBy, 0, sentBy.length)) return false;
  }
  const w = VIA_WATCH;
  const pend = scanParams(s, sentByEnd, end, w);
  if (pend < 0 || skipWsTo(s, pend, end) !== end) return false;
  const ws = w.start;
  const we = w.end;
  // RFC 3261 §20.42 / §25.1: branch, received, maddr and ttl need a value; rport (RFC 3581) may be a flag.
  if (ws[W_BRANCH] === PARAM_FLAG || ws[W_RECEIVED] === PARAM_FLAG || ws[W_MADDR] === PARAM_FLAG || ws[W_TTL] === PARAM_FLAG) {
    return false;
  }
  if (ws[W_RPORT] >= 0) {
    const v = digitsValue(s, ws[W_RPORT], we[W_RPORT], 5);
    if (v < 0 || v > 65535) return false;
  }
  if (ws[W_TTL] >= 0) {
    const v = digitsValue(s, ws[W_TTL], we[W_TTL], 3);
    if (v < 0 || v > 255) return false;
  }
  if (out !== undefined) out.branch = ws[W_BRANCH] >= 0 ? s.slice(ws[W_BRANCH], we[W_BRANCH]) : undefined;
  return true;
}

/** What checkVia reports about the first via-parm of the value. */
export interface ViaCheck {
  branch: string | undefined;
}

/** checkOneVia on the part s[start,end) trimmed the way String.prototype.trim trims (as splitTopLevel does). */
function checkPart(s: string, start: number, end: number, out: ViaCheck | undefined): boolean {
  while (start < end && isJsSpace(s.charCodeAt(start))) start++;
  while (end > start && isJsSpace(s.charCodeAt(end - 1))) end--;
  return checkOneVia(s, start, end, out);
}

/**
 * Validates the Via header value s[start,end) exactly as parseVia does (same verdicts: the same top-level comma
 * split, the same grammar) without building Via objects or parameter maps; when `top` is given, stores the branch
 * of the first via-parm there. The parser's hot path: it runs on the received text, no slice per header.
 */
export function checkVia(s: string, start: number, end: number, top: ViaCheck | undefined): boolean {
  const comma = s.indexOf(',', start);
  if (comma < 0 || comma >= end) return checkPart(s, start, end, top);
  // splitTopLevel's state machine: commas inside quoted strings or <...> do not split.
  let ps = start;
  let inQuote = false;
  let inAngle = false;
  let first = true;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (inQuote) {
      if (c === 92) i++;
      else if (c === 34) inQuote = false;
    } else if (c === 34) inQuote = true;
    else if (c === 60) inAngle = true;
    else if (c === 62) inAngle = false;
    else if (c === 44 && !inAngle) {
      if (!checkPart(s, ps, i, first ? top : undefined)) return false;
      first = false;
      ps = i + 1;
    }
  }
  return checkPart(s, ps, end, first ? top : undefined);
}

/** Parses only the first via-parm of a Via header value (the top Via); undefined when it is malformed. */
export function parseTopVia(text: string): Via | undefined {
  return parseOneVia(splitTopLevel(text)[0]);
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

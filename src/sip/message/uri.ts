/**
 * SIP/SIPS URIs (RFC 3261 §19.1, §25.1), tel URIs (RFC 3966) and IPv6 references (RFC 5118); other schemes
 * are kept opaque as absoluteURI text.
 */
import {
  DIGIT,
  HEX,
  HNVCHAR,
  HOSTCHAR,
  PARAMCHAR,
  PASSWORD,
  SCHEME,
  TELCHAR,
  URIC,
  USER,
  allInClass,
  inClass,
} from './char-class';

/** RFC 3261 §19.1; tel: RFC 3966. */
export interface SipUri {
  /** Lower-cased: 'sip' | 'sips' | 'tel' | other (kept as absoluteURI in `raw`). */
  scheme: string;
  /** Unescaped user part (tel: the telephone-subscriber number). */
  user?: string;
  /** Unescaped password. */
  password?: string;
  /** Lower-cased hostname, IPv4, or IPv6 reference WITH brackets ('[::1]'); '' for tel and opaque URIs. */
  host: string;
  port?: number;
  /** URI parameters, keys lower-cased and unescaped, values unescaped; a flag ('lr') maps to null. */
  params: Map<string, string | null>;
  /** URI headers (after '?'), unescaped. */
  headers: Map<string, string>;
  /** For non-sip schemes: the full text. */
  raw?: string;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return c - 55;
}

/**
 * Validates that s[start,end) consists of `table` chars and %HH escapes, and returns its unescaped form
 * (escapes decoded as UTF-8 octets; RFC 3986 §2.1: never decoded twice), or undefined when invalid.
 */
function unescapeChecked(s: string, start: number, end: number, table: Uint8Array): string | undefined {
  let hasEscape = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 37) {
      if (i + 2 >= end) return undefined;
      if (!inClass(HEX, s.charCodeAt(i + 1)) || !inClass(HEX, s.charCodeAt(i + 2))) return undefined;
      hasEscape = true;
      i += 2;
    } else if (c >= 256 || table[c] !== 1) {
      return undefined;
    }
  }
  if (!hasEscape) return s.slice(start, end);
  const bytes: number[] = [];
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 37) {
      bytes.push(hexVal(s.charCodeAt(i + 1)) * 16 + hexVal(s.charCodeAt(i + 2)));
      i += 2;
    } else bytes.push(c);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** unescapeChecked's validity test alone: s[start,end) is `table` chars and %HH escapes (empty is valid). */
function checkEscaped(s: string, start: number, end: number, table: Uint8Array): boolean {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 37) {
      if (i + 2 >= end) return false;
      if (!inClass(HEX, s.charCodeAt(i + 1)) || !inClass(HEX, s.charCodeAt(i + 2))) return false;
      i += 2;
    } else if (c >= 256 || table[c] !== 1) {
      return false;
    }
  }
  return true;
}

const HEXCHARS = '0123456789ABCDEF';

/** %-escapes every octet of `s` (as UTF-8) that is not in `table`. */
export function escapeUriPart(s: string, table: Uint8Array): string {
  let ok = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || table[c] !== 1) {
      ok = false;
      break;
    }
  }
  if (ok) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b < 128 && table[b] === 1) out += String.fromCharCode(b);
    else out += '%' + HEXCHARS[b >> 4] + HEXCHARS[b & 15];
  }
  return out;
}

/** RFC 3261 §25.1 IPv4address: four 1-3 digit groups (each <= 255). */
export function isIpv4(s: string, start = 0, end = s.length): boolean {
  let groups = 0;
  let i = start;
  while (i <= end) {
    const gs = i;
    let v = 0;
    while (i < end && inClass(DIGIT, s.charCodeAt(i))) {
      v = v * 10 + (s.charCodeAt(i) - 48);
      i++;
    }
    const n = i - gs;
    if (n === 0 || n > 3 || v > 255) return false;
    groups++;
    if (i === end) break;
    if (s.charCodeAt(i) !== 46 || groups === 4) return false;
    i++;
  }
  return groups === 4;
}

/**
 * RFC 4291 §2.2 text form of an IPv6 address (as RFC 5118 §4.10 asks, not the flawed RFC 3261 ABNF that
 * admitted ':::'): 1-4 hex digit groups, at most one '::', optional trailing dotted IPv4.
 */
export function isIpv6(s: string, start = 0, end = s.length): boolean {
  if (end - start < 2) return false;
  let groups = 0;
  let doubleColon = false;
  let i = start;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    doubleColon = true;
    i += 2;
    if (i === end) return true;
  }
  for (;;) {
    const gs = i;
    while (i < end && inClass(HEX, s.charCodeAt(i))) i++;
    if (i < end && s.charCodeAt(i) === 46) {
      // Embedded IPv4 tail counts as two groups.
      if (!isIpv4(s, gs, end)) return false;
      groups += 2;
      break;
    }
    const n = i - gs;
    if (n === 0 || n > 4) return false;
    groups++;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (doubleColon) return false;
      doubleColon = true;
      i++;
      if (i === end) break;
      if (s.charCodeAt(i) === 58) return false;
    } else if (i === end) return false;
  }
  return doubleColon ? groups < 8 : groups === 8;
}

/** RFC 3261 §25.1 hostname (labels of alphanum and '-', separated by '.'; '_' tolerated). */
function isHostname(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  // No empty labels except an optional trailing dot ("example.com." is a valid FQDN).
  let prev = 46;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 256 || HOSTCHAR[c] !== 1 || (c === 46 && prev === 46)) return false;
    prev = c;
  }
  return true;
}

/**
 * Validates a host (hostname / IPv4address / IPv6reference) in s[start,end) and returns it lower-cased,
 * or undefined.
 */
export function parseHost(s: string, start: number, end: number): string | undefined {
  if (end <= start) return undefined;
  if (s.charCodeAt(start) === 91) {
    if (s.charCodeAt(end - 1) !== 93 || !isIpv6(s, start + 1, end - 1)) return undefined;
    return s.slice(start, end).toLowerCase();
  }
  if (!isHostname(s, start, end)) return undefined;
  return s.slice(start, end).toLowerCase();
}

/** True when parseHost would accept s[start,end). */
function isHost(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  if (s.charCodeAt(start) === 91) return s.charCodeAt(end - 1) === 93 && isIpv6(s, start + 1, end - 1);
  return isHostname(s, start, end);
}

/** True when parseHostPort would accept s[start,end); allocates nothing. */
export function checkHostPort(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  let hostEnd: number;
  if (s.charCodeAt(start) === 91) {
    const close = s.indexOf(']', start);
    if (close < 0 || close >= end) return false;
    hostEnd = close + 1;
    if (!isHost(s, start, hostEnd)) return false;
  } else {
    // One pass: find the ':' and check the hostname before it (isHostname's rules: HOSTCHAR, no empty label).
    hostEnd = start;
    let prev = 46;
    while (hostEnd < end) {
      const c = s.charCodeAt(hostEnd);
      if (c === 58) break;
      if (c >= 256 || HOSTCHAR[c] !== 1 || (c === 46 && prev === 46)) return false;
      prev = c;
      hostEnd++;
    }
    if (hostEnd === start) return false;
  }
  if (hostEnd === end) return true;
  if (s.charCodeAt(hostEnd) !== 58) return false;
  return parsePort(s, hostEnd + 1, end) >= 0;
}

/** Parses `host [":" port]` in s[start,end); stores into uri. Returns false when invalid. */
export function parseHostPort(s: string, start: number, end: number, out: { host: string; port?: number }): boolean {
  let hostEnd: number;
  if (s.charCodeAt(start) === 91) {
    const close = s.indexOf(']', start);
    if (close < 0 || close >= end) return false;
    hostEnd = close + 1;
  } else {
    hostEnd = start;
    while (hostEnd < end && s.charCodeAt(hostEnd) !== 58) hostEnd++;
  }
  const host = parseHost(s, start, hostEnd);
  if (host === undefined) return false;
  out.host = host;
  if (hostEnd === end) return true;
  if (s.charCodeAt(hostEnd) !== 58) return false;
  const port = parsePort(s, hostEnd + 1, end);
  if (port < 0) return false;
  out.port = port;
  return true;
}

/** port = 1*DIGIT, bounded to 0..65535. Returns -1 when invalid. */
export function parsePort(s: string, start: number, end: number): number {
  if (end <= start || end - start > 5) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v <= 65535 ? v : -1;
}

function parseSipUri(text: string, scheme: string, rest: number): SipUri | undefined {
  const len = text.length;
  const uri: SipUri = { scheme, host: '', params: new Map(), headers: new Map() };
  let i = rest;
  // userinfo: '@' cannot occur unescaped in params, headers, host or port, so the first '@' ends it.
  const at = text.indexOf('@', i);
  if (at >= 0) {
    let colon = -1;
    for (let j = i; j < at; j++) {
      if (text.charCodeAt(j) === 58) {
        colon = j;
        break;
      }
    }
    const userEnd = colon >= 0 ? colon : at;
    if (userEnd === i) return undefined;
    const user = unescapeChecked(text, i, userEnd, USER);
    if (user === undefined) return undefined;
    uri.user = user;
    if (colon >= 0) {
      const password = colon + 1 === at ? '' : unescapeChecked(text, colon + 1, at, PASSWORD);
      if (password === undefined) return undefined;
      uri.password = password;
    }
    i = at + 1;
  }
  let hpEnd = i;
  if (text.charCodeAt(i) === 91) {
    const close = text.indexOf(']', i);
    if (close < 0) return undefined;
    hpEnd = close + 1;
  }
  while (hpEnd < len) {
    const c = text.charCodeAt(hpEnd);
    if (c === 59 || c === 63) break;
    hpEnd++;
  }
  if (!parseHostPort(text, i, hpEnd, uri)) return undefined;
  i = hpEnd;
  // uri-parameters = *( ";" uri-parameter )
  while (i < len && text.charCodeAt(i) === 59) {
    const ps = i + 1;
    let pe = ps;
    let eq = -1;
    while (pe < len) {
      const c = text.charCodeAt(pe);
      if (c === 59 || c === 63) break;
      if (c === 61 && eq < 0) eq = pe;
      pe++;
    }
    const name = unescapeChecked(text, ps, eq >= 0 ? eq : pe, PARAMCHAR);
    if (name === undefined) return undefined;
    let value: string | null = null;
    if (eq >= 0) {
      value = eq + 1 === pe ? '' : (unescapeChecked(text, eq + 1, pe, PARAMCHAR) ?? null);
      if (value === null) return undefined;
    }
    uri.params.set(name.toLowerCase(), value);
    i = pe;
  }
  // headers = "?" header *( "&" header ), header = hname "=" hvalue
  if (i < len && text.charCodeAt(i) === 63) {
    i++;
    while (i <= len) {
      let he = i;
      let eq = -1;
      while (he < len && text.charCodeAt(he) !== 38) {
        if (text.charCodeAt(he) === 61 && eq < 0) eq = he;
        he++;
      }
      if (eq < 0) return undefined;
      const name = unescapeChecked(text, i, eq, HNVCHAR);
      const value = eq + 1 === he ? '' : unescapeChecked(text, eq + 1, he, HNVCHAR);
      if (name === undefined || value === undefined) return undefined;
      uri.headers.set(name, value);
      i = he + 1;
      if (he >= len) break;
    }
  } else if (i < len) {
    return undefined;
  }
  return uri;
}

function parseTelUri(text: string, rest: number): SipUri | undefined {
  // RFC 3966 §3: telephone-subscriber = number *par; parameters as ;name[=value].
  if (!allInClass(TELCHAR, text, rest, text.length)) return undefined;
  const semi = text.indexOf(';', rest);
  const numEnd = semi < 0 ? text.length : semi;
  if (numEnd === rest) return undefined;
  const user = unescapeChecked(text, rest, numEnd, TELCHAR);
  if (user === undefined) return undefined;
  const uri: SipUri = { scheme: 'tel', user, host: '', params: new Map(), headers: new Map(), raw: text };
  let i = numEnd;
  while (i < text.length) {
    const ps = i + 1;
    let pe = text.indexOf(';', ps);
    if (pe < 0) pe = text.length;
    const eq = text.indexOf('=', ps);
    const nameEnd = eq >= 0 && eq < pe ? eq : pe;
    if (nameEnd === ps) return undefined;
    const name = unescapeChecked(text, ps, nameEnd, TELCHAR);
    const value = nameEnd === pe ? null : (unescapeChecked(text, nameEnd + 1, pe, TELCHAR) ?? undefined);
    if (name === undefined || value === undefined) return undefined;
    uri.params.set(name.toLowerCase(), value);
    i = pe;
  }
  return uri;
}

/**
 * Parses a URI. sip/sips are decomposed (RFC 3261 §19.1.1); tel per RFC 3966; any other well-formed
 * absoluteURI (RFC 3261 §25.1, e.g. 'soap.beep://h:3002', 'isbn:2983792873') is returned opaque with `raw`.
 * Returns undefined for anything else (whitespace, no scheme, bad host or port...).
 */
export function parseUri(text: string): SipUri | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const c0 = text.charCodeAt(0);
  if (!((c0 >= 65 && c0 <= 90) || (c0 >= 97 && c0 <= 122))) return undefined;
  for (let i = 1; i < colon; i++) if (!inClass(SCHEME, text.charCodeAt(i))) return undefined;
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(text, scheme, colon + 1);
  if (scheme === 'tel') return parseTelUri(text, colon + 1);
  if (colon + 1 >= text.length || !allInClass(URIC, text, colon + 1)) return undefined;
  return { scheme, host: '', params: new Map(), headers: new Map(), raw: text };
}

/** checkUri: the URI is malformed. */
export const URI_INVALID = -1;
/** checkUri: a well-formed URI. */
export const URI_VALID = 0;
/** checkUri: a well-formed sip/sips URI that carries headers ('?...', not allowed in a Request-URI). */
export const URI_VALID_WITH_HEADERS = 1;

/**
 * Validates the URI s[start,end) exactly as parseUri would (same grammar, same verdicts) without building it: the
 * parser checks the Request-URI, From and To this way and builds the SipUri only on first access. Returns
 * URI_INVALID, URI_VALID or URI_VALID_WITH_HEADERS.
 */
export function checkUri(s: string, start: number, end: number): number {
  const colon = s.indexOf(':', start);
  if (colon <= start || colon >= end) return URI_INVALID;
  const c0 = s.charCodeAt(start);
  if (!((c0 >= 65 && c0 <= 90) || (c0 >= 97 && c0 <= 122))) return URI_INVALID;
  for (let i = start + 1; i < colon; i++) if (!inClass(SCHEME, s.charCodeAt(i))) return URI_INVALID;
  const n = colon - start;
  const c1 = s.charCodeAt(start + 1) | 0x20;
  const c2 = s.charCodeAt(start + 2) | 0x20;
  if (n >= 3 && n <= 4 && (c0 | 0x20) === 0x73 && c1 === 0x69 && c2 === 0x70 && (n === 3 || (s.charCodeAt(start + 3) | 0x20) === 0x73)) {
    return checkSipUri(s, colon + 1, end); // sip / sips
  }
  if (n === 3 && (c0 | 0x20) === 0x74 && c1 === 0x65 && c2 === 0x6c) return checkTelUri(s, colon + 1, end);
  if (colon + 1 >= end || !allInClass(URIC, s, colon + 1, end)) return URI_INVALID;
  return URI_VALID;
}

/** parseSipUri's grammar over s[i,end), without building the URI. */
function checkSipUri(s: string, i: number, end: number): number {
  // The first '@' ends the userinfo (parseSipUri); the first ':' before it starts the password.
  let at = -1;
  let colon = -1;
  for (let j = i; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c === 64) {
      at = j;
      break;
    }
    if (c === 58 && colon < 0) colon = j;
  }
  if (at >= 0) {
    const userEnd = colon >= 0 ? colon : at;
    if (userEnd === i || !checkEscaped(s, i, userEnd, USER)) return URI_INVALID;
    if (colon >= 0 && colon + 1 !== at && !checkEscaped(s, colon + 1, at, PASSWORD)) return URI_INVALID;
    i = at + 1;
  }
  let hpEnd = i;
  if (i < end && s.charCodeAt(i) === 91) {
    const close = s.indexOf(']', i);
    if (close < 0 || close >= end) return URI_INVALID;
    hpEnd = close + 1;
  }
  while (hpEnd < end) {
    const c = s.charCodeAt(hpEnd);
    if (c === 59 || c === 63) break;
    hpEnd++;
  }
  if (!checkHostPort(s, i, hpEnd)) return URI_INVALID;
  i = hpEnd;
  while (i < end && s.charCodeAt(i) === 59) {
    const ps = i + 1;
    let pe = ps;
    let eq = -1;
    while (pe < end) {
      const c = s.charCodeAt(pe);
      if (c === 59 || c === 63) break;
      if (c === 61 && eq < 0) eq = pe;
      pe++;
    }
    if (!checkEscaped(s, ps, eq >= 0 ? eq : pe, PARAMCHAR)) return URI_INVALID;
    if (eq >= 0 && eq + 1 !== pe && !checkEscaped(s, eq + 1, pe, PARAMCHAR)) return URI_INVALID;
    i = pe;
  }
  if (i < end && s.charCodeAt(i) === 63) {
    i++;
    while (i <= end) {
      let he = i;
      let eq = -1;
      while (he < end && s.charCodeAt(he) !== 38) {
        if (s.charCodeAt(he) === 61 && eq < 0) eq = he;
        he++;
      }
      if (eq < 0 || !checkEscaped(s, i, eq, HNVCHAR)) return URI_INVALID;
      if (eq + 1 !== he && !checkEscaped(s, eq + 1, he, HNVCHAR)) return URI_INVALID;
      i = he + 1;
      if (he >= end) break;
    }
    return URI_VALID_WITH_HEADERS;
  }
  return i < end ? URI_INVALID : URI_VALID;
}

/** parseTelUri's grammar over s[rest,end), without building the URI. */
function checkTelUri(s: string, rest: number, end: number): number {
  if (!allInClass(TELCHAR, s, rest, end)) return URI_INVALID;
  let numEnd = s.indexOf(';', rest);
  if (numEnd < 0 || numEnd > end) numEnd = end;
  if (numEnd === rest || !checkEscaped(s, rest, numEnd, TELCHAR)) return URI_INVALID;
  let i = numEnd;
  while (i < end) {
    const ps = i + 1;
    let pe = s.indexOf(';', ps);
    if (pe < 0 || pe > end) pe = end;
    const eq = s.indexOf('=', ps);
    const nameEnd = eq >= 0 && eq < pe ? eq : pe;
    if (nameEnd === ps || !checkEscaped(s, ps, nameEnd, TELCHAR)) return URI_INVALID;
    if (nameEnd !== pe && !checkEscaped(s, nameEnd + 1, pe, TELCHAR)) return URI_INVALID;
    i = pe;
  }
  return URI_VALID;
}

/** Writes a URI in canonical form, %-escaping where RFC 3261 §25.1 requires. */
export function formatUri(uri: SipUri): string {
  if (uri.scheme !== 'sip' && uri.scheme !== 'sips') {
    if (uri.scheme === 'tel' && uri.user !== undefined) {
      let out = 'tel:' + escapeUriPart(uri.user, TELCHAR);
      for (const [k, v] of uri.params) out += v === null ? `;${k}` : `;${k}=${escapeUriPart(v, PARAMCHAR)}`;
      return out;
    }
    return uri.raw ?? `${uri.scheme}:${uri.host}`;
  }
  let out = uri.scheme + ':';
  if (uri.user !== undefined) {
    out += escapeUriPart(uri.user, USER);
    if (uri.password !== undefined) out += ':' + escapeUriPart(uri.password, PASSWORD);
    out += '@';
  }
  out += uri.host;
  if (uri.port !== undefined) out += ':' + uri.port;
  for (const [k, v] of uri.params) {
    out += ';' + escapeUriPart(k, PARAMCHAR);
    if (v !== null) out += '=' + escapeUriPart(v, PARAMCHAR);
  }
  let first = true;
  for (const [k, v] of uri.headers) {
    out += (first ? '?' : '&') + escapeUriPart(k, HNVCHAR) + '=' + escapeUriPart(v, HNVCHAR);
    first = false;
  }
  return out;
}

/** Schemes this stack can route (RFC 3261 §8.2.2.1: others get 416 Unsupported URI Scheme). */
export function isSupportedUriScheme(uri: SipUri | string): boolean {
  const scheme = typeof uri === 'string' ? uri.slice(0, Math.max(0, uri.indexOf(':'))).toLowerCase() : uri.scheme;
  return scheme === 'sip' || scheme === 'sips' || scheme === 'tel';
}

/** Copy of a URI (maps cloned) so callers can modify it without touching a cached value. */
export function cloneUri(uri: SipUri): SipUri {
  const c: SipUri = { scheme: uri.scheme, host: uri.host, params: new Map(uri.params), headers: new Map(uri.headers) };
  if (uri.user !== undefined) c.user = uri.user;
  if (uri.password !== undefined) c.password = uri.password;
  if (uri.port !== undefined) c.port = uri.port;
  if (uri.raw !== undefined) c.raw = uri.raw;
  return c;
}


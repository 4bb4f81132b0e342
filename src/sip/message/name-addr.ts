/**
 * name-addr / addr-spec values of From, To, Contact, Route, Record-Route, Refer-To... (RFC 3261 §20.10, §25.1):
 *   ( name-addr / addr-spec ) *( SEMI generic-param ),  name-addr = [ display-name ] LAQUOT addr-spec RAQUOT
 */
import { CH_HT, CH_SP, TOKEN, inClass } from './char-class';
import { ParamWatch, formatParams, parseGenericParams, quote, readQuoted, scanParams, skipQuoted, skipWs, skipWsTo, splitTopLevel, trimEnd } from './lexer';
import type { QuotedOut } from './lexer';
import { URI_INVALID, checkUri, formatUri, parseUri } from './uri';
import type { SipUri } from './uri';

export interface NameAddr {
  /** Display name, unescaped (quoted-string) or the token sequence as written. */
  displayName?: string;
  uri: SipUri;
  /** Header parameters (tag, expires, q...): keys lower-cased, quoted values kept with their quotes. */
  params: Map<string, string | null>;
}

const quoted: QuotedOut = { value: '' };

/** Parses one name-addr or addr-spec with its header parameters; undefined when malformed. */
export function parseNameAddr(text: string): NameAddr | undefined {
  const s = text;
  const len = s.length;
  let i = skipWs(s, 0);
  if (i >= len) return undefined;
  let displayName: string | undefined;
  let uri: SipUri | undefined;
  let c = s.charCodeAt(i);
  if (c === 34) {
    const end = readQuoted(s, i, quoted);
    if (end < 0) return undefined;
    displayName = quoted.value;
    i = skipWs(s, end);
    if (i >= len || s.charCodeAt(i) !== 60) return undefined;
  } else if (c !== 60) {
    // display-name = *(token LWS): scan tokens and whitespace; a '<' after them means name-addr.
    let j = i;
    while (j < len) {
      c = s.charCodeAt(j);
      if (!inClass(TOKEN, c) && c !== CH_SP && c !== CH_HT) break;
      j++;
    }
    if (j < len && s.charCodeAt(j) === 60) {
      displayName = s.slice(i, trimEnd(s, i, j));
      i = j;
    }
  }
  if (i < len && s.charCodeAt(i) === 60) {
    const close = s.indexOf('>', i + 1);
    if (close < 0) return undefined;
    // RFC 3261 §25.1: no LWS inside LAQUOT/RAQUOT (RFC 4475 §3.1.2.14); parseUri rejects whitespace.
    uri = parseUri(s.slice(i + 1, close));
    i = close + 1;
  } else {
    // addr-spec: RFC 3261 §20.10 — a URI with ',', '?' or ';' must be in <>, so ';' starts header params.
    let j = i;
    while (j < len && s.charCodeAt(j) !== 59) j++;
    const end = trimEnd(s, i, j);
    const spec = s.slice(i, end);
    if (spec.indexOf('?') >= 0 || spec.indexOf(',') >= 0) return undefined;
    uri = parseUri(spec);
    i = j;
  }
  if (uri === undefined) return undefined;
  const params = new Map<string, string | null>();
  i = parseGenericParams(s, i, params);
  if (i < 0 || skipWs(s, i) !== len) return undefined;
  const na: NameAddr = { uri, params };
  if (displayName !== undefined) na.displayName = displayName;
  return na;
}

const TAG_WATCH = new ParamWatch(['tag']);

/** What checkNameAddr reports: the tag parameter as `params.get('tag') ?? undefined` would give it. */
export interface NameAddrCheck {
  tag: string | undefined;
}

/**
 * Validates the name-addr / addr-spec with header parameters in s[start,end) exactly as parseNameAddr does (same
 * verdicts) without building the URI or the parameter map, and reports the tag. The parser's hot path for From and
 * To: it runs on the received text, no slice per header.
 */
export function checkNameAddr(s: string, start: number, end: number, out: NameAddrCheck): boolean {
  let i = skipWsTo(s, start, end);
  if (i >= end) return false;
  let c = s.charCodeAt(i);
  if (c === 34) {
    const qe = skipQuoted(s, i, end);
    if (qe < 0) return false;
    i = skipWsTo(s, qe, end);
    if (i >= end || s.charCodeAt(i) !== 60) return false;
  } else if (c !== 60) {
    let j = i;
    while (j < end) {
      c = s.charCodeAt(j);
      if (!inClass(TOKEN, c) && c !== CH_SP && c !== CH_HT) break;
      j++;
    }
    if (j < end && s.charCodeAt(j) === 60) i = j;
  }
  if (i < end && s.charCodeAt(i) === 60) {
    const close = s.indexOf('>', i + 1);
    if (close < 0 || close >= end || checkUri(s, i + 1, close) === URI_INVALID) return false;
    i = close + 1;
  } else {
    let j = i;
    while (j < end && s.charCodeAt(j) !== 59) j++;
    const specEnd = trimEnd(s, i, j);
    for (let k = i; k < specEnd; k++) {
      const ck = s.charCodeAt(k);
      if (ck === 63 || ck === 44) return false; // RFC 3261 §20.10: such an addr-spec must be in <>
    }
    if (checkUri(s, i, specEnd) === URI_INVALID) return false;
    i = j;
  }
  const w = TAG_WATCH;
  i = scanParams(s, i, end, w);
  if (i < 0 || skipWsTo(s, i, end) !== end) return false;
  out.tag = w.start[0] >= 0 ? s.slice(w.start[0], w.end[0]) : undefined;
  return true;
}

/** Parses a comma-separated list of name-addr values (Contact, Route, Record-Route); undefined if any is bad. */
export function parseNameAddrList(text: string): NameAddr[] | undefined {
  const parts = splitTopLevel(text);
  const out: NameAddr[] = [];
  for (const p of parts) {
    const na = parseNameAddr(p);
    if (na === undefined) return undefined;
    out.push(na);
  }
  return out;
}

/** Writes a name-addr in canonical form: always with <> (safe for any URI), display name quoted. */
export function formatNameAddr(na: NameAddr): string {
  const dn = na.displayName !== undefined ? quote(na.displayName) + ' ' : '';
  return `${dn}<${formatUri(na.uri)}>${formatParams(na.params)}`;
}

/**
 * Header-name registry: lower-case keys, compact forms, canonical spellings and which headers carry
 * comma-separated lists (sipgo `parse_header.go` style).
 */

/** Compact forms: RFC 3261 §7.3.3 plus the IANA "Header Fields" registry (RFC 3515, 3841, 3892, 4028, 6665, 8224, 4474). */
const COMPACT: ReadonlyArray<[string, string]> = [
  ['a', 'accept-contact'],
  ['b', 'referred-by'],
  ['c', 'content-type'],
  ['d', 'request-disposition'],
  ['e', 'content-encoding'],
  ['f', 'from'],
  ['i', 'call-id'],
  ['j', 'reject-contact'],
  ['k', 'supported'],
  ['l', 'content-length'],
  ['m', 'contact'],
  ['n', 'identity-info'],
  ['o', 'event'],
  ['r', 'refer-to'],
  ['s', 'subject'],
  ['t', 'to'],
  ['u', 'allow-events'],
  ['v', 'via'],
  ['x', 'session-expires'],
  ['y', 'identity'],
];

/** Canonical spellings used when we write a header ourselves. Unknown names are written as given. */
const CANONICAL: readonly string[] = [
  'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow', 'Allow-Events',
  'Authentication-Info', 'Authorization', 'Call-ID', 'Call-Info', 'Contact', 'Content-Disposition',
  'Content-Encoding', 'Content-Language', 'Content-Length', 'Content-Type', 'CSeq', 'Date', 'Diversion',
  'Error-Info', 'Event', 'Expires', 'From', 'History-Info', 'Identity', 'Identity-Info', 'In-Reply-To',
  'Max-Forwards', 'Min-Expires', 'Min-SE', 'MIME-Version', 'Organization', 'P-Asserted-Identity',
  'P-Preferred-Identity', 'Path', 'Priority', 'Privacy', 'Proxy-Authenticate', 'Proxy-Authorization',
  'Proxy-Require', 'RAck', 'Reason', 'Record-Route', 'Refer-To', 'Referred-By', 'Reject-Contact', 'Reply-To',
  'Request-Disposition', 'Require', 'Retry-After', 'Route', 'RSeq', 'Server', 'Service-Route', 'Session-Expires',
  'SIP-ETag', 'SIP-If-Match', 'Subject', 'Subscription-State', 'Supported', 'Timestamp', 'To', 'Unsupported',
  'User-Agent', 'Via', 'Warning', 'WWW-Authenticate',
];

/**
 * Headers whose value is a comma-separated list (RFC 3261 §7.3.1: "header-name: value *(COMMA value)").
 * Authorization and friends are NOT lists (their commas separate auth-params), nor Date.
 */
const LIST_HEADERS: readonly string[] = [
  'accept', 'accept-contact', 'accept-encoding', 'accept-language', 'alert-info', 'allow', 'allow-events',
  'call-info', 'contact', 'content-encoding', 'content-language', 'diversion', 'error-info', 'history-info',
  'in-reply-to', 'p-asserted-identity', 'p-preferred-identity', 'path', 'proxy-require', 'reason', 'record-route',
  'reject-contact', 'require', 'route', 'security-client', 'security-server', 'security-verify', 'service-route',
  'supported', 'unsupported', 'via', 'warning',
];

const keyOf = new Map<string, string>();
const canonicalOf = new Map<string, string>();
const listKeys = new Set<string>(LIST_HEADERS);

for (const name of CANONICAL) {
  const key = intern(name.toLowerCase());
  canonicalOf.set(key, name);
  keyOf.set(name, key);
  keyOf.set(key, key);
  keyOf.set(name.toUpperCase(), key);
}
for (const [short, key] of COMPACT) {
  keyOf.set(short, intern(key));
  keyOf.set(short.toUpperCase(), intern(key));
}

/**
 * Returns `s` as an internalized string: the parser's keys are then the very strings the literals in `switch
 * (f.key)` are, and the comparisons are pointer compares.
 */
function intern(s: string): string {
  return Object.keys({ [s]: 0 })[0];
}

/*
 * Byte-level lookup for the parser (pjsip's hashed header-name table, sipgo's switch on the name): candidates are
 * bucketed by first letter, the most frequent first, so a known name is matched without slicing or lower-casing it.
 */
const FREQUENT = ['via', 'from', 'to', 'call-id', 'cseq', 'contact', 'content-length', 'content-type', 'max-forwards', 'record-route', 'route'];
const BY_FIRST: string[][] = [];
for (let c = 0; c < 26; c++) BY_FIRST.push([]);
for (const key of [...FREQUENT, ...CANONICAL.map((n) => n.toLowerCase())]) {
  const list = BY_FIRST[key.charCodeAt(0) - 97];
  const k = intern(key);
  if (!list.includes(k)) list.push(k);
}
const COMPACT_BY_CHAR: Array<string | undefined> = [];
for (const [short, key] of COMPACT) COMPACT_BY_CHAR[short.charCodeAt(0)] = intern(key);

function isNameEnd(c: number): boolean {
  return c === 58 || c === 32 || c === 9;
}

/**
 * The known header whose name (any case, compact forms included) starts at s[pos] and is followed, before `end`, by
 * ':', SP or HT; undefined otherwise (unknown or malformed names: the caller scans them). The name's length is 1 for
 * a compact form, else the key's length. Allocates nothing.
 */
export function matchKnownHeaderAt(s: string, pos: number, end: number): string | undefined {
  const c0 = s.charCodeAt(pos) | 0x20;
  if (c0 < 97 || c0 > 122 || pos + 1 >= end) return undefined;
  if (isNameEnd(s.charCodeAt(pos + 1))) return COMPACT_BY_CHAR[c0];
  const cands = BY_FIRST[c0 - 97];
  for (let k = 0; k < cands.length; k++) {
    const key = cands[k];
    const n = key.length;
    if (pos + n >= end || !isNameEnd(s.charCodeAt(pos + n))) continue;
    let i = 1;
    for (; i < n; i++) {
      const c = s.charCodeAt(pos + i);
      const kc = key.charCodeAt(i);
      // Exact, or the upper-case form of a letter: nothing else (no CR posing as '-' through `| 0x20`).
      if (c !== kc && !(kc >= 97 && c === kc - 32)) break;
    }
    if (i === n) return key;
  }
  return undefined;
}

/** Lower-case registry key of a header name; compact forms map to the full name ('v' -> 'via'). */
export function headerKey(name: string): string {
  const k = keyOf.get(name);
  if (k !== undefined) return k;
  const lower = name.toLowerCase();
  return keyOf.get(lower) ?? lower;
}

/** Canonical spelling of a header for output ('call-id' -> 'Call-ID'); unknown names are returned as given. */
export function canonicalHeaderName(name: string): string {
  return canonicalOf.get(headerKey(name)) ?? name;
}

/** True when the header (by key) carries a comma-separated list of values. */
export function isListHeader(key: string): boolean {
  return listKeys.has(key);
}

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
  const key = name.toLowerCase();
  canonicalOf.set(key, name);
  keyOf.set(name, key);
  keyOf.set(key, key);
  keyOf.set(name.toUpperCase(), key);
}
for (const [short, key] of COMPACT) {
  keyOf.set(short, key);
  keyOf.set(short.toUpperCase(), key);
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

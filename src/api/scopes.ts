/**
 * Authorisation scopes of API tokens (the `scope` claim, space-separated as in RFC 8693 §4.2).
 * Each area has a read and a write scope; a write scope also grants reading its area, and `admin` grants all.
 */
export const API_AREAS = ['calls', 'numbers', 'trunks', 'sms', 'config'] as const;
export type ApiArea = (typeof API_AREAS)[number];
export type ApiScope = `${ApiArea}:${'read' | 'write'}` | 'admin';

export const API_SCOPES: readonly ApiScope[] = [...API_AREAS.flatMap((a) => [`${a}:read`, `${a}:write`] as const), 'admin'];

const KNOWN = new Set<string>(API_SCOPES);

/** True for a scope this server knows. */
export function isApiScope(value: string): value is ApiScope {
  return KNOWN.has(value);
}

/** True when the granted scopes satisfy `required`. */
export function scopeAllows(granted: ReadonlySet<string>, required: ApiScope): boolean {
  if (granted.has('admin') || granted.has(required)) return true;
  if (required.endsWith(':read')) return granted.has(`${required.slice(0, -5)}:write`);
  return false;
}

/**
 * The scopes of a token's claims: `scope` (space-separated string, RFC 8693 §4.2) or, as some issuers
 * emit, an array in `scope` or `scp`. Unknown scopes are kept (they grant nothing here).
 */
export function scopesOfClaims(claims: Readonly<Record<string, unknown>>): Set<string> {
  const out = new Set<string>();
  for (const value of [claims['scope'], claims['scp']]) {
    if (typeof value === 'string') {
      for (const s of value.split(' ')) if (s !== '') out.add(s);
    } else if (Array.isArray(value)) {
      for (const s of value) if (typeof s === 'string' && s !== '') out.add(s);
    }
  }
  return out;
}

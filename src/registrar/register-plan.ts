import { formatNameAddr, formatUri, type NameAddr, type SipRequest } from '../sip/message';

/** Expiry bounds of the registrar, seconds. */
export interface ExpiryBounds {
  readonly minS: number;
  readonly maxS: number;
  readonly defaultS: number;
}

/** One Contact of a REGISTER, with its granted interval (0 = remove the binding). */
export interface ContactChange {
  /** The contact URI: the binding key (RFC 3261 §10.3 step 7). */
  readonly uri: string;
  /** The Contact value to echo in 200 OK, without `expires`. */
  readonly header: string;
  readonly expiresS: number;
  readonly q: number | null;
  /** RFC 5626 §4.1 instance id and reg-id, kept for reference (outbound itself is not implemented). */
  readonly sipInstance: string | null;
  readonly regId: number | null;
}

/** What a REGISTER asks for, after RFC 3261 §10.3 steps 6 and 7's checks. */
export type RegisterPlan =
  /** No Contact: list the current bindings (§10.2.3). */
  | { readonly kind: 'query' }
  /** `Contact: *` with `Expires: 0`: remove every binding of the AOR (§10.2.2). */
  | { readonly kind: 'remove-all' }
  | { readonly kind: 'update'; readonly contacts: readonly ContactChange[] }
  /** Refuse: 400 for malformed requests, 423 Interval Too Brief with Min-Expires (§10.3 step 7, §21.4.17). */
  | { readonly kind: 'refuse'; readonly status: 400 | 423; readonly reason: string; readonly minExpires?: number };

const DIGITS = /^\d{1,10}$/;

function parseDelta(v: string | null | undefined): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  // RFC 3261 §20.19: delta-seconds; values beyond 2^32-1 are taken as 2^32-1 (§10.2.1.1 allows any large value).
  return DIGITS.test(t) ? Math.min(Number(t), 4_294_967_295) : undefined;
}

function parseQ(v: string | null | undefined): number | null {
  if (typeof v !== 'string') return null;
  // RFC 3261 §20.10: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
  if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v.trim())) return null;
  return Number(v.trim());
}

function unquote(v: string | null | undefined): string | null {
  if (typeof v !== 'string') return null;
  return v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1) : v;
}

function headerWithoutExpires(na: NameAddr): string {
  if (!na.params.has('expires')) return formatNameAddr(na);
  const params = new Map(na.params);
  params.delete('expires');
  return formatNameAddr({ ...na, params });
}

/**
 * Reads the Contact and Expires fields of a REGISTER into a plan (RFC 3261 §10.3 steps 6-7):
 * - no Contact: a query;
 * - `Contact: *`: only alone and only with `Expires: 0`, else 400;
 * - each contact's interval is its `expires` parameter, else the Expires header, else the default; a non-zero
 *   interval below the minimum refuses the whole request with 423 and Min-Expires; above the maximum it is
 *   shortened to the maximum (§10.3 step 7: the registrar MAY shorten).
 * Never throws: a malformed Contact is a 400.
 */
export function planRegister(req: SipRequest, bounds: ExpiryBounds): RegisterPlan {
  let contacts: NameAddr[];
  let star: boolean;
  try {
    contacts = req.contacts;
    star = req.contactStar;
  } catch {
    return { kind: 'refuse', status: 400, reason: 'Malformed Contact' };
  }
  const expiresText = req.getHeader('Expires');
  const headerExpires = expiresText === undefined ? undefined : parseDelta(expiresText);
  if (expiresText !== undefined && headerExpires === undefined) return { kind: 'refuse', status: 400, reason: 'Malformed Expires' };
  if (star) {
    if (contacts.length > 0 || req.getHeaders('Contact').length > 1) return { kind: 'refuse', status: 400, reason: 'Contact * must be alone' };
    if (headerExpires !== 0) return { kind: 'refuse', status: 400, reason: 'Contact * requires Expires: 0' };
    return { kind: 'remove-all' };
  }
  if (contacts.length === 0) return { kind: 'query' };
  const byUri = new Map<string, ContactChange>();
  for (const na of contacts) {
    const param = na.params.get('expires');
    let expires = param !== undefined ? parseDelta(param) : headerExpires;
    // A malformed expires parameter is ignored in favour of the header / default (§10.2.1.1 is about the value only).
    if (expires === undefined) expires = headerExpires ?? bounds.defaultS;
    if (expires > 0 && expires < bounds.minS) return { kind: 'refuse', status: 423, reason: 'Interval Too Brief', minExpires: bounds.minS };
    if (expires > bounds.maxS) expires = bounds.maxS;
    const regId = na.params.get('reg-id');
    const uri = formatUri(na.uri);
    // The last occurrence of a contact in one request wins.
    byUri.set(uri, {
      uri,
      header: headerWithoutExpires(na),
      expiresS: expires,
      q: parseQ(na.params.get('q')),
      sipInstance: unquote(na.params.get('+sip.instance')),
      regId: typeof regId === 'string' && DIGITS.test(regId) ? Number(regId) : null,
    });
  }
  return { kind: 'update', contacts: [...byUri.values()] };
}

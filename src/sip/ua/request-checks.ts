import { isSupportedUriScheme, type SipRequest } from '../message';

/** Methods this stack knows (RFC 3261 §27.4 registry entries we parse and route). */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO',
  'REFER', 'MESSAGE', 'UPDATE',
]);

/** What the UA core enforces before any application sees a request (RFC 3261 §8.2). */
export interface RequestCheckPolicy {
  /** Methods served (listed in Allow). */
  readonly allow: ReadonlySet<string>;
  /** Option tags we implement (Supported; anything else in Require gets 420). */
  readonly supported: ReadonlySet<string>;
  /** Body types accepted on session-description methods (INVITE, ACK, UPDATE, PRACK). */
  readonly acceptSession: ReadonlySet<string>;
}

export interface Refusal {
  readonly status: number;
  readonly reason?: string;
  readonly headers: [string, string][];
}

const SESSION_METHODS = new Set(['INVITE', 'ACK', 'UPDATE', 'PRACK']);

function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** Option tags in Require (and Proxy-Require is for proxies only) that `supported` lacks (RFC 3261 §8.2.2.3). */
export function unsupportedRequired(req: SipRequest, supported: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const tag of req.getHeaders('Require')) {
    const t = tag.trim().toLowerCase();
    if (t && !supported.has(t)) out.push(t);
  }
  return out;
}

/**
 * RFC 3261 §8.2.1-§8.2.4 in the order the RFC gives: method inspection (405/501), header inspection (416, 483),
 * content processing (415), extensions (420). Returns the refusal or undefined when the request may proceed.
 * Merged-request (482) detection needs transaction state and is done by the UA core.
 */
export function checkRequest(req: SipRequest, policy: RequestCheckPolicy): Refusal | undefined {
  const method = req.method;
  const allow = (): [string, string] => ['Allow', [...policy.allow].join(', ')];
  // §8.2.1: a method we do not know at all is 501; one we know but do not serve is 405 with Allow.
  if (!KNOWN_METHODS.has(method)) return { status: 501, headers: [allow()] };
  if (!policy.allow.has(method)) return { status: 405, headers: [allow()] };
  // §8.2.2.1: a Request-URI scheme we do not understand gets 416.
  if (!isSupportedUriScheme(req.uri)) return { status: 416, headers: [] };
  // §16.3 item 2 / §8.2: Max-Forwards 0 means the request looped or was sent with no hops left. OPTIONS with 0 is
  // answered (§11: a server MAY answer an OPTIONS addressed to it), everything else gets 483.
  if (req.maxForwards === 0 && method !== 'OPTIONS' && method !== 'ACK') return { status: 483, headers: [] };
  // §8.2.3: a body we cannot process gets 415 listing what we accept.
  if (req.body.length > 0 && SESSION_METHODS.has(method)) {
    const ct = req.contentType;
    const type = ct === undefined ? undefined : mediaType(ct);
    if (type === undefined || !policy.acceptSession.has(type)) {
      return { status: 415, headers: [['Accept', [...policy.acceptSession].join(', ')]] };
    }
    const enc = req.getHeaders('Content-Encoding').map((e) => e.trim().toLowerCase()).filter((e) => e && e !== 'identity');
    if (enc.length > 0) return { status: 415, headers: [['Accept-Encoding', 'identity']] };
  }
  // §8.2.2.3: Require with an option tag we do not support gets 420 with Unsupported (never for ACK/CANCEL).
  if (method !== 'ACK' && method !== 'CANCEL') {
    const missing = unsupportedRequired(req, policy.supported);
    if (missing.length > 0) return { status: 420, headers: [['Unsupported', missing.join(', ')]] };
  }
  return undefined;
}

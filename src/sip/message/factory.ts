/** Building requests and responses (RFC 3261 §8.1.1, §8.2.6). */
import type { SipParseError } from './errors';
import { headerKey } from './header-names';
import { generateTag } from './ids';
import { SipRequest, SipResponse } from './message';
import { reasonPhrase } from './reason-phrases';
import { parseUri } from './uri';
import type { SipUri } from './uri';

export interface ResponseOptions {
  /** Tag to add to To when the request's To has none (RFC 3261 §8.2.6.2). */
  toTag?: string;
  /** Extra header fields, appended in order. */
  headers?: Array<[string, string]>;
  body?: Buffer;
  contentType?: string;
}

export interface RequestInit {
  method: string;
  uri: SipUri | string;
  /** Header fields in order (Via, Max-Forwards, From, To, Call-ID, CSeq, ...); a Content-Length given here is replaced. */
  headers: Array<[string, string]>;
  body?: Buffer;
  contentType?: string;
}

const EMPTY = Buffer.alloc(0);

/**
 * RFC 3261 §8.2.6: a response to `req`, copying every Via (in order), From, To (adding `toTag` if given and To has
 * none), Call-ID and CSeq as received; Timestamp too on 100 (§8.2.6.1). Content-Length is 0 unless a body is given.
 * Works on requests whose headers are only partly readable (SipParseError.request): values are copied verbatim.
 */
export function createResponse(req: SipRequest, status: number, reason?: string, opts?: ResponseOptions): SipResponse {
  const headers: Array<[string, string]> = [];
  let from: string | undefined;
  let to: string | undefined;
  let callId: string | undefined;
  let cseq: string | undefined;
  let timestamp: string | undefined;
  for (const f of req._fields) {
    switch (f.key) {
      case 'via':
        headers.push(['Via', req._valueOf(f)]);
        break;
      case 'from':
        from ??= req._valueOf(f);
        break;
      case 'to':
        to ??= req._valueOf(f);
        break;
      case 'call-id':
        callId ??= req._valueOf(f);
        break;
      case 'cseq':
        cseq ??= req._valueOf(f);
        break;
      case 'timestamp':
        timestamp ??= req._valueOf(f);
        break;
      default:
        break;
    }
  }
  if (from !== undefined) headers.push(['From', from]);
  if (to !== undefined) {
    if (opts?.toTag !== undefined && !toHasTag(req)) to += ';tag=' + opts.toTag;
    headers.push(['To', to]);
  }
  if (callId !== undefined) headers.push(['Call-ID', callId]);
  if (cseq !== undefined) headers.push(['CSeq', cseq]);
  if (status === 100 && timestamp !== undefined) headers.push(['Timestamp', timestamp]);
  if (opts?.headers) {
    for (const h of opts.headers) if (headerKey(h[0]) !== 'content-length') headers.push(h);
  }
  const body = opts?.body ?? EMPTY;
  if (opts?.contentType !== undefined && body.length > 0) headers.push(['Content-Type', opts.contentType]);
  headers.push(['Content-Length', String(body.length)]);
  return new SipResponse(status, reason ?? reasonPhrase(status), headers, body);
}

function toHasTag(req: SipRequest): boolean {
  try {
    return req.to.params.has('tag');
  } catch {
    // An unreadable To is echoed untouched rather than made worse.
    return true;
  }
}

/** A new request (UAC requests, ACK/CANCEL, in-dialog requests). Adds Content-Type (if given) and Content-Length. */
export function createRequest(init: RequestInit): SipRequest {
  let uri: SipUri | undefined;
  if (typeof init.uri === 'string') {
    uri = parseUri(init.uri);
    if (uri === undefined) throw new TypeError(`invalid Request-URI: ${init.uri}`);
  } else uri = init.uri;
  const body = init.body ?? EMPTY;
  const headers: Array<[string, string]> = [];
  let hasType = false;
  for (const h of init.headers) {
    const key = headerKey(h[0]);
    if (key === 'content-length') continue;
    if (key === 'content-type') hasType = true;
    headers.push(h);
  }
  if (init.contentType !== undefined && !hasType) headers.push(['Content-Type', init.contentType]);
  headers.push(['Content-Length', String(body.length)]);
  return new SipRequest(init.method, uri, headers, body);
}

/**
 * The stateless answer to a request the parser refused (DESIGN.md: "a malformed request whose Via can be read
 * gets 400 with a reason"). Status and reason default to `error.status` / `error.reason` (e.g. 400
 * 'Bad Request (Malformed CSeq)', 505 for SIP/7.0). Undefined when the error carries no readable request:
 * the message must then be dropped and counted. A To tag is added (RFC 3261 §8.2.6.2) when To is readable.
 */
export function buildErrorResponse(error: SipParseError, status?: number, reason?: string): SipResponse | undefined {
  const req = error.request;
  if (req === undefined) return undefined;
  return createResponse(req, status ?? error.status, reason ?? error.reason, { toTag: generateTag() });
}

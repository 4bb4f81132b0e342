import { parseMessage, type SipRequest, type SipResponse } from '../../../../src/sip/message';

/** Builds a SIP message from header lines (CRLF-joined, empty line, body) and parses it like the transport would. */
function parse(lines: string[], body = ''): SipRequest | SipResponse {
  const text = `${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const r = parseMessage(Buffer.from(text, 'utf8'));
  if (!r.ok) throw new Error(`fixture does not parse: ${r.error.code} ${r.error.message}`);
  return r.msg;
}

export function request(lines: string[], body = ''): SipRequest {
  const m = parse(lines, body);
  if (!m.isRequest) throw new Error('fixture is not a request');
  return m;
}

export function response(lines: string[], body = ''): SipResponse {
  const m = parse(lines, body);
  if (m.isRequest) throw new Error('fixture is not a response');
  return m;
}

export const CALL_ID = 'a84b4c76e66710@pc33.atlanta.example.com';

/**
 * RFC 3665 §3.2 style INVITE from Alice through two record-routing proxies (proxy2 is the last hop, so its
 * Record-Route is on top).
 */
export function inviteThroughProxies(opts: { recordRoute?: string[]; uri?: string; topVia?: string; cseq?: number } = {}): SipRequest {
  const rr = opts.recordRoute ?? ['<sip:proxy2.biloxi.example.com;lr>', '<sip:proxy1.atlanta.example.com;lr>'];
  return request([
    `INVITE ${opts.uri ?? 'sip:bob@biloxi.example.com'} SIP/2.0`,
    opts.topVia ?? 'Via: SIP/2.0/UDP proxy2.biloxi.example.com:5060;branch=z9hG4bK-p2',
    'Via: SIP/2.0/UDP proxy1.atlanta.example.com:5060;branch=z9hG4bK-p1',
    'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK-a1',
    'Max-Forwards: 68',
    ...rr.map((r) => `Record-Route: ${r}`),
    'From: "Alice" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
    'To: Bob <sip:bob@biloxi.example.com>',
    `Call-ID: ${CALL_ID}`,
    `CSeq: ${opts.cseq ?? 314159} INVITE`,
    'Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>',
    'Content-Type: application/sdp',
  ]);
}

/** The INVITE as Alice's UA sent it (no Record-Route yet). */
export function aliceInvite(cseq = 1): SipRequest {
  return request([
    'INVITE sip:bob@biloxi.example.com SIP/2.0',
    'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK-a1',
    'Max-Forwards: 70',
    'From: "Alice" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
    'To: Bob <sip:bob@biloxi.example.com>',
    `Call-ID: ${CALL_ID}`,
    `CSeq: ${cseq} INVITE`,
    'Contact: <sip:alice@pc33.atlanta.example.com:5060>',
    'Supported: 100rel, timer',
  ]);
}

/** A response to Alice's INVITE as it reaches her: Record-Route in the same order as in the request. */
export function responseToAlice(
  status: number,
  opts: { toTag?: string; contact?: string; recordRoute?: string[]; cseq?: number; method?: string; extra?: string[] } = {},
): SipResponse {
  const rr = opts.recordRoute ?? ['<sip:proxy2.biloxi.example.com;lr>', '<sip:proxy1.atlanta.example.com;lr>'];
  const reason = status === 100 ? 'Trying' : status === 180 ? 'Ringing' : status === 183 ? 'Session Progress' : status < 300 ? 'OK' : 'Busy Here';
  const lines = [
    `SIP/2.0 ${status} ${reason}`,
    'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK-a1;received=192.0.2.101',
    ...rr.map((r) => `Record-Route: ${r}`),
    'From: "Alice" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
    `To: Bob <sip:bob@biloxi.example.com>${opts.toTag === undefined ? ';tag=8321234356' : opts.toTag === '' ? '' : `;tag=${opts.toTag}`}`,
    `Call-ID: ${CALL_ID}`,
    `CSeq: ${opts.cseq ?? 1} ${opts.method ?? 'INVITE'}`,
  ];
  if (opts.contact !== '') lines.push(`Contact: ${opts.contact ?? '<sip:bob@192.0.2.4>'}`);
  if (opts.extra) lines.push(...opts.extra);
  return response(lines);
}

/** A request from Bob to Alice inside the dialog (Alice is the UAC of the dialog). */
export function requestFromBob(method: string, cseq: number, opts: { contact?: string; extra?: string[]; fromTag?: string; toTag?: string } = {}): SipRequest {
  const lines = [
    `${method} sip:alice@pc33.atlanta.example.com:5060 SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK-b' + String(cseq) + method,
    'Max-Forwards: 70',
    'Route: <sip:proxy1.atlanta.example.com;lr>',
    `From: Bob <sip:bob@biloxi.example.com>;tag=${opts.fromTag ?? '8321234356'}`,
    `To: "Alice" <sip:alice@atlanta.example.com>;tag=${opts.toTag ?? '9fxced76sl'}`,
    `Call-ID: ${CALL_ID}`,
    `CSeq: ${cseq} ${method}`,
  ];
  if (opts.contact) lines.push(`Contact: ${opts.contact}`);
  if (opts.extra) lines.push(...opts.extra);
  return request(lines);
}

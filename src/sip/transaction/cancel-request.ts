import { createRequest, type SipRequest } from '../message';

/**
 * RFC 3261 §9.1: the CANCEL for a pending INVITE (or other request). Request-URI, Call-ID, To, From and the CSeq
 * number equal those of the request being cancelled, tags included; a single Via equal to its top Via (same branch,
 * which is how the UAS matches it, §9.2); its Route header fields; method CANCEL in CSeq.
 *
 * Sent as a non-INVITE client transaction of its own. RFC 3261 §9.1: do not send it before a provisional response
 * arrived for the INVITE; that check belongs to the caller, which knows the INVITE transaction's state.
 */
export function createCancel(request: SipRequest): SipRequest {
  const vias = request.getHeaders('Via');
  const headers: [string, string][] = [
    ['Via', vias.length > 0 ? vias[0] : ''],
    ['Max-Forwards', '70'],
    ['From', request.getHeader('From') ?? ''],
    ['To', request.getHeader('To') ?? ''],
    ['Call-ID', request.callId],
    ['CSeq', `${request.cseq.seq} CANCEL`],
  ];
  for (const route of request.getHeaders('Route')) headers.push(['Route', route]);
  return createRequest({ method: 'CANCEL', uri: request.uri, headers });
}

import { createRequest, type SipRequest, type SipResponse } from '../message';

/**
 * RFC 3261 §17.1.1.3: the ACK the INVITE client transaction generates for a 300-699 final response.
 *
 * - Request-URI, Call-ID and From equal those of the INVITE as sent;
 * - a single Via, equal to the INVITE's top Via (so the same branch: the ACK belongs to the INVITE transaction);
 * - To equal to the response's To (it carries the tag the UAS added);
 * - CSeq with the INVITE's number and method ACK;
 * - the INVITE's Route header fields, if any; no body.
 */
export function createNon2xxAck(invite: SipRequest, response: SipResponse): SipRequest {
  const headers: [string, string][] = [
    ['Via', firstOr(invite.getHeaders('Via'))],
    ['Max-Forwards', '70'],
    ['From', invite.getHeader('From') ?? ''],
    ['To', response.getHeader('To') ?? ''],
    ['Call-ID', invite.callId],
    ['CSeq', `${invite.cseq.seq} ACK`],
  ];
  for (const route of invite.getHeaders('Route')) headers.push(['Route', route]);
  return createRequest({ method: 'ACK', uri: invite.uri, headers });
}

function firstOr(values: string[]): string {
  return values.length > 0 ? values[0] : '';
}

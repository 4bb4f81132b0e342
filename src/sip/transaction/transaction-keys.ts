import { BRANCH_MAGIC_COOKIE, formatUri, type SipRequest, type Via } from '../message';

/*
 * Transaction map keys: plain strings, built once per message. '\n' cannot occur inside a header value, so the parts
 * never run into each other.
 */

/** Whether a branch is RFC 3261-compliant (RFC 3261 §8.1.1.7: it begins with the magic cookie "z9hG4bK"). */
export function isRfc3261Branch(branch: string | undefined): branch is string {
  return branch !== undefined && branch.startsWith(BRANCH_MAGIC_COOKIE);
}

/**
 * RFC 3261 §17.1.3: a response matches a client transaction if the branch of its top Via equals the request's and the
 * CSeq method equals the request's method (CANCEL and INVITE share the branch but not the transaction).
 */
export function clientTransactionKey(branch: string, method: string): string {
  return branch + '\n' + method;
}

/**
 * RFC 3261 §17.2.3 for RFC 3261 branches: branch, sent-by of the top Via, and method, where ACK counts as INVITE (it
 * belongs to the INVITE server transaction it acknowledges).
 */
export function serverTransactionKey(branch: string, via: Via, method: string): string {
  return branch + '\n' + via.host.toLowerCase() + ':' + (via.port === undefined ? '' : via.port) + '\n' + (method === 'ACK' ? 'INVITE' : method);
}

/**
 * RFC 3261 §17.2.3 fallback for RFC 2543 requests (no magic cookie): "the Request-URI, To tag, From tag, Call-ID,
 * CSeq, and top Via header field match those of the request that created the transaction". `toTag` is passed apart
 * because an ACK carries the To tag of the response, not of the INVITE (see `TransactionLayer`). Method as above.
 */
export function legacyServerTransactionKey(req: SipRequest, method: string, toTag: string | undefined): string {
  const via = req.via;
  return (
    '2543\n' +
    formatUri(req.uri) +
    '\n' +
    (toTag ?? '') +
    '\n' +
    (req.fromTag ?? '') +
    '\n' +
    req.callId +
    '\n' +
    req.cseq.seq +
    '\n' +
    via.transport +
    ' ' +
    via.host.toLowerCase() +
    ':' +
    (via.port === undefined ? '' : via.port) +
    ' ' +
    (via.branch ?? '') +
    '\n' +
    (method === 'ACK' ? 'INVITE' : method)
  );
}

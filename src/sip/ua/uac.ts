import { CodedError } from '../../util';
import { createRequest, formatUri, generateCallId, generateTag, parseUri, type SipRequest, type SipResponse, type SipUri } from '../message';
import { DigestClient, type DigestCredentials } from '../auth';
import type { ClientTransaction, ClientTransactionHandlers } from '../transaction';
import type { TransportProtocol } from '../transport';
import { resolveUriTarget, uriTargetIfLiteral } from './targets';
import type { SipTarget } from './types';

/** Why a request got no final response. */
export type SipRequestErrorCode =
  | 'SIP_REQUEST_TIMEOUT' // Timer B/F fired (RFC 3261 §8.1.3.1: treat as 408)
  | 'SIP_TRANSPORT_ERROR' // the transport refused the request (§8.1.3.1: treat as 503)
  | 'SIP_TARGET_UNRESOLVED' // the Request-URI (or outbound proxy) could not be resolved (RFC 3263)
  | 'SIP_NO_DIALOG' // an in-dialog request on a session without a usable dialog
  | 'SIP_SESSION_ENDED'; // the session ended before the request completed

/** A request that ended without a final response from the network. */
export class SipRequestError extends CodedError {
  constructor(
    code: SipRequestErrorCode,
    message: string,
    /** The status the RFC says to act as if received (408 for timeouts, 503 for transport errors). */
    readonly status: number,
  ) {
    super(code, message);
  }
}

/** How an outbound call that was not answered ended, for CDRs, routing and failover. */
export type UacOutcome = 'busy' | 'no-answer' | 'canceled' | 'rejected' | 'failed';

/**
 * Maps a final non-2xx status of an INVITE to an outcome. `canceledBy`: why we sent CANCEL, if we did (the app
 * hung up, or our no-answer timer fired); a 487 is then that outcome.
 * - 486 Busy Here, 600 Busy Everywhere: busy;
 * - 408 Request Timeout, 480 Temporarily Unavailable: no-answer (the far end rang out or is unreachable now);
 * - 5xx: failed (a server or trunk failure: another route may succeed); 3xx, 4xx, 6xx: rejected.
 */
export function inviteOutcomeOf(status: number, canceledBy?: 'canceled' | 'no-answer'): UacOutcome {
  if (status === 487) return canceledBy ?? 'canceled';
  if (status === 486 || status === 600) return 'busy';
  if (status === 408 || status === 480) return 'no-answer';
  if (status >= 500 && status < 600) return 'failed';
  return 'rejected';
}

/** What the out-of-dialog request sender needs from the UA core. */
export interface UacRequestHost {
  readonly publicHost: string;
  readonly product: string;
  viaFor(transport: TransportProtocol): string;
  contactFor(transport: TransportProtocol): string;
  sendRequest(req: SipRequest, target: SipTarget, handlers: ClientTransactionHandlers<SipTarget>): ClientTransaction<SipTarget>;
}

/** Options of `SipUserAgent.request()`. */
export interface OutOfDialogRequestOptions {
  /** Extra header fields (Expires, Contact for REGISTER, Event, ...). */
  headers?: [string, string][];
  body?: Buffer;
  contentType?: string;
  /** Answer 401/407 with these (RFC 3261 §22.2). */
  credentials?: DigestCredentials;
  /** A DigestClient kept across requests (REGISTER refreshes reuse its nonce with nc+1). Wins over `credentials`. */
  digest?: DigestClient;
  /** Where to send (outbound proxy or trunk address); default: resolve the Request-URI. */
  target?: SipTarget;
  /** Transport when resolving the Request-URI (default from the URI: sips -> TLS, transport param, else UDP). */
  transport?: TransportProtocol;
  /** From as name-addr (a tag is added); default <sip:publicHost>. For REGISTER this is the address of record. */
  from?: string;
  /** To as name-addr; default the Request-URI. */
  to?: string;
  /** Call-ID and first CSeq number (RFC 3261 §10.2: REGISTER refreshes keep the Call-ID and count CSeq up). */
  callId?: string;
  cseq?: number;
  /** Add our Contact (default false; REGISTER brings its own). */
  contact?: boolean;
}

const NO_BODY_METHODS = new Set(['INVITE', 'ACK', 'CANCEL']);
/** Bound on challenge rounds for one request (each realm once plus stale retries are far fewer). */
const MAX_AUTH_ROUNDS = 5;

/**
 * Sends a request outside any dialog (OPTIONS, REGISTER, MESSAGE, SUBSCRIBE, ...) and resolves with its final
 * response, retrying once per challenge with credentials (RFC 3261 §22.2: new CSeq, same Call-ID and From tag).
 * Rejects with SipRequestError when no final response comes (timeout, transport error, unresolvable target).
 */
export function sendOutOfDialogRequest(host: UacRequestHost, method: string, uri: string | SipUri, opts: OutOfDialogRequestOptions = {}): Promise<SipResponse> {
  if (NO_BODY_METHODS.has(method)) return Promise.reject(new TypeError(`${method} is not sent with request(): use invite() (CANCEL and ACK belong to it)`));
  const requestUri = typeof uri === 'string' ? parseUri(uri) : uri;
  if (!requestUri) return Promise.reject(new TypeError(`invalid Request-URI: ${String(uri)}`));
  const uriText = formatUri(requestUri);
  const digest = opts.digest ?? (opts.credentials ? new DigestClient(opts.credentials) : undefined);
  const callId = opts.callId ?? generateCallId(host.publicHost);
  const fromTag = generateTag();
  const from = `${opts.from ?? `<sip:${host.publicHost}>`};tag=${fromTag}`;
  const to = opts.to ?? `<${uriText}>`;
  let cseq = opts.cseq ?? 1;

  return new Promise<SipResponse>((resolve, reject) => {
    const send = (target: SipTarget, auth: [string, string][], round: number): void => {
      const headers: [string, string][] = [
        ['Via', host.viaFor(target.transport)],
        ['Max-Forwards', '70'],
        ['From', from],
        ['To', to],
        ['Call-ID', callId],
        ['CSeq', `${cseq} ${method}`],
      ];
      if (opts.contact) headers.push(['Contact', host.contactFor(target.transport)]);
      headers.push(['User-Agent', host.product], ...auth, ...(opts.headers ?? []));
      const req = createRequest({ method, uri: requestUri, headers, body: opts.body, contentType: opts.contentType });
      try {
        host.sendRequest(req, target, {
          onFinal: (res) => {
            if ((res.status === 401 || res.status === 407) && digest && round < MAX_AUTH_ROUNDS) {
              const verdict = digest.handleChallenge(res, { method, uri: uriText, body: opts.body });
              if (verdict.retry) {
                cseq++;
                send(target, verdict.headers, round + 1);
                return;
              }
            }
            resolve(res);
          },
          onTimeout: () => reject(new SipRequestError('SIP_REQUEST_TIMEOUT', `${method} ${uriText}: no final response`, 408)),
          onTransportError: (_tx, err) => reject(new SipRequestError('SIP_TRANSPORT_ERROR', `${method} ${uriText}: ${err.message}`, 503)),
        });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    // Preemptive credentials when the digest client already holds a challenge (a REGISTER refresh).
    const first = (target: SipTarget): void => send(target, digest?.hasChallenges ? digest.authorize({ method, uri: uriText, body: opts.body }) : [], 0);
    const literal = opts.target ?? uriTargetIfLiteral(requestUri, opts.transport);
    if (literal) {
      first(literal);
      return;
    }
    resolveUriTarget(requestUri, opts.transport).then(first, (err: Error) =>
      reject(new SipRequestError('SIP_TARGET_UNRESOLVED', `cannot resolve ${uriText}: ${err.message}`, 503)),
    );
  });
}

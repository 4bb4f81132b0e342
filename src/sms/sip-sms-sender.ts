import type { DigestCredentials } from '../sip/auth';
import type { SipResponse } from '../sip/message';
import type { SipTarget } from '../sip/ua';
import type { TrunkRecord } from '../store';
import { systemClock, type Clock, type TimerHandle } from '../util';
import { CONCAT_HEADER, formatConcatHeader } from './concat-header';
import { MESSAGE_ID_HEADER } from './delivery-receipt';
import type { SmsSender, SmsSendRequest, SmsSendResult } from './sms-sender';

/** Options of one out-of-dialog request, as `SipUserAgent.request()` takes them. */
export interface SmsSipRequestOptions {
  headers?: [string, string][];
  body?: Buffer;
  contentType?: string;
  credentials?: DigestCredentials;
  target?: SipTarget;
  /** name-addr; the UA adds the tag. */
  from?: string;
  to?: string;
  callId?: string;
  cseq?: number;
}

/**
 * What the sender needs of the UA core: send a request outside a dialog and resolve with its final response
 * (answering digest challenges with `credentials`), or reject with an error whose `status` says what to act on
 * (RFC 3261 §8.1.3.1: 408 on timeout, 503 on transport failure). `SipUserAgent` satisfies it.
 */
export interface SipRequester {
  request(method: string, uri: string, options: SmsSipRequestOptions): Promise<SipResponse>;
}

/** Where one message goes. */
export interface SmsRoute {
  /** Request-URI of the MESSAGE: sip:<number>@<trunk proxy or gateway>. */
  readonly requestUri: string;
  /** Send there instead of resolving the Request-URI (an outbound proxy). */
  readonly target?: SipTarget;
  readonly credentials?: DigestCredentials;
  /** Host part of the From URI (our domain as the peer knows it). */
  readonly fromHost: string;
  /** To URI when it differs from the Request-URI (a gateway addressed by its own URI). */
  readonly toUri?: string;
}

/** Picks the route of a message to `to` (trunkId: the one chosen at accept time, if any). Undefined: no route. */
export type SmsRouteResolver = (to: string, trunkId: string | null | undefined) => Promise<SmsRoute | undefined>;

export interface SipSmsSenderOptions {
  requester: SipRequester;
  route: SmsRouteResolver;
  clock?: Clock;
  /**
   * Guard on one request, ms. The transaction layer ends a MESSAGE by Timer F (64*T1 = 32 s, RFC 3261 §17.1.2.2);
   * this only catches a requester that never settles, which would otherwise hold the lease until it expires and
   * another instance resends. Default 40 s.
   */
  timeoutMs?: number;
}

/** Characters allowed unescaped in a SIP URI user part (RFC 3261 §25.1: unreserved / user-unreserved). */
function escapeUser(user: string): string {
  return user.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) =>
    Array.from(Buffer.from(c, 'utf8'))
      .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
      .join(''),
  );
}

function retryAfterOf(res: SipResponse): number | undefined {
  const v = res.getHeader('Retry-After');
  if (v === undefined) return undefined;
  const secs = Number.parseInt(v, 10);
  return Number.isFinite(secs) && secs >= 0 ? secs * 1000 : undefined;
}

function statusOfError(err: unknown): number {
  if (err !== null && typeof err === 'object' && 'status' in err) {
    const s = (err as { status: unknown }).status;
    if (typeof s === 'number' && s >= 100 && s < 700) return s;
  }
  return 503;
}

/**
 * SmsSender over SIP MESSAGE (RFC 3428). Each request carries:
 * - the text as `text/plain;charset=UTF-8`, body bytes exactly as given;
 * - `X-SMS-Message-ID: <id>` and a Call-ID derived from the message id and part (`sms-<id>-<seq>@<host>`), the same
 *   on every attempt, with CSeq growing per attempt: a peer that keeps recent Call-IDs drops a resend.
 * - `X-SMS-Concat` for one part of a segmented message.
 *
 * Exactly-once limits: the queue never gives one message to two workers, but a crash (or a lost lease) after the
 * peer's 2xx and before our database write means the message is sent again on the next claim; the stable Call-ID
 * and X-SMS-Message-ID let the peer recognise it. A 408 after the peer did act on the request has the same effect.
 */
export class SipSmsSender implements SmsSender {
  private readonly clock: Clock;
  private readonly timeoutMs: number;

  constructor(private readonly opts: SipSmsSenderOptions) {
    this.clock = opts.clock ?? systemClock;
    this.timeoutMs = opts.timeoutMs ?? 40_000;
  }

  async send(req: SmsSendRequest): Promise<SmsSendResult> {
    let route: SmsRoute | undefined;
    try {
      route = await this.opts.route(req.to, req.trunkId);
    } catch (err) {
      // A database hiccup while looking up trunks is transient.
      return { status: 503, reason: `route lookup failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (!route) return { status: 0, reason: 'no route for destination' };
    const seq = req.segment?.seq ?? 1;
    const callId = `sms-${req.messageId}-${seq}@${route.fromHost}`;
    const headers: [string, string][] = [[MESSAGE_ID_HEADER, req.messageId]];
    if (req.segment && req.segment.total > 1) headers.push([CONCAT_HEADER, formatConcatHeader(req.segment)]);
    const options: SmsSipRequestOptions = {
      headers,
      body: req.body,
      contentType: req.contentType,
      from: `<sip:${escapeUser(req.from)}@${route.fromHost}>`,
      callId,
      // Room for the digest rounds of one attempt (each re-send takes the next CSeq, RFC 3261 §22.2).
      cseq: (Math.max(1, req.attempt) - 1) * 8 + 1,
    };
    if (route.credentials) options.credentials = route.credentials;
    if (route.target) options.target = route.target;
    if (route.toUri) options.to = `<${route.toUri}>`;
    let timer: TimerHandle | undefined;
    try {
      const res = await Promise.race([
        this.opts.requester.request('MESSAGE', route.requestUri, options),
        new Promise<never>((_, reject) => {
          timer = this.clock.setTimeout(() => reject(Object.assign(new Error('MESSAGE timed out'), { status: 408 })), this.timeoutMs);
        }),
      ]);
      const retryAfterMs = retryAfterOf(res);
      return retryAfterMs === undefined ? { status: res.status, reason: res.reason, callId } : { status: res.status, reason: res.reason, callId, retryAfterMs };
    } catch (err) {
      if (err instanceof TypeError) return { status: 0, reason: err.message, callId };
      return { status: statusOfError(err), reason: err instanceof Error ? err.message : String(err), callId };
    } finally {
      this.clock.clearTimeout(timer);
    }
  }
}

/**
 * Route every message through one SMS gateway: MESSAGE sip:<to>@<gateway host:port;params>. A gateway URI with a
 * user part (sip:sms@gw.example.com) is used as the Request-URI as it is, and the destination number travels in
 * To (sip:<to>@<gateway host>).
 */
export function gatewayRoute(gatewayUri: string, fromHost: string, credentials?: DigestCredentials): SmsRouteResolver {
  const m = /^(sips?):(?:([^@]*)@)?(.+)$/i.exec(gatewayUri.trim());
  if (!m) throw new TypeError(`invalid SMS gateway URI: ${gatewayUri}`);
  const [, scheme, user, hostPart] = m;
  const host = hostPart.split(';')[0];
  return async (to) => ({
    requestUri: user ? `${scheme}:${user}@${hostPart}` : `${scheme}:${escapeUser(to)}@${hostPart}`,
    ...(user ? { toUri: `${scheme}:${escapeUser(to)}@${host}` } : {}),
    fromHost,
    ...(credentials ? { credentials } : {}),
  });
}

/** The part of TrunkRepository the trunk route needs. */
export interface SmsTrunkSource {
  list(): Promise<TrunkRecord[]>;
  password(id: string): Promise<string | undefined>;
}

/** Number as the trunk wants it: strip `stripDigits` leading characters, then prepend `dialPrefix`. */
export function trunkDialString(trunk: Pick<TrunkRecord, 'stripDigits' | 'dialPrefix'>, to: string): string {
  return trunk.dialPrefix + to.slice(Math.min(trunk.stripDigits, to.length));
}

/**
 * Route through the SIP trunks: the message's own trunk if it names one, else the enabled outbound trunk with the
 * longest matching prefix (any trunk without prefixes matches), lowest priority value first, trunks seen down
 * last. Trunk records are cached for `cacheMs` (default 5 s) so the worker does not read them per message.
 */
export function trunkRoute(trunks: SmsTrunkSource, fromHost: string, opts: { cacheMs?: number; clock?: Clock } = {}): SmsRouteResolver {
  const clock = opts.clock ?? systemClock;
  const cacheMs = opts.cacheMs ?? 5_000;
  let cached: { at: number; list: TrunkRecord[] } | undefined;
  const load = async (): Promise<TrunkRecord[]> => {
    if (cached && clock.now() - cached.at < cacheMs) return cached.list;
    const list = (await trunks.list()).filter((t) => t.enabled && t.supportsOutbound);
    cached = { at: clock.now(), list };
    return list;
  };
  const matchLength = (t: TrunkRecord, to: string): number => {
    if (t.prefixes.length === 0) return 0;
    let best = -1;
    for (const p of t.prefixes) if (to.startsWith(p) && p.length > best) best = p.length;
    return best;
  };
  return async (to, trunkId) => {
    const list = await load();
    let trunk = trunkId ? list.find((t) => t.id === trunkId) : undefined;
    if (!trunk) {
      const candidates = list.map((t) => ({ t, len: matchLength(t, to) })).filter((c) => c.len >= 0);
      candidates.sort((a, b) => b.len - a.len || Number(a.t.status === 'down') - Number(b.t.status === 'down') || a.t.priority - b.t.priority);
      trunk = candidates[0]?.t;
    }
    if (!trunk) return undefined;
    const transportParam = trunk.transport === 'udp' ? '' : `;transport=${trunk.transport}`;
    const host = trunk.proxyAddress.includes(':') && !trunk.proxyAddress.startsWith('[') ? `[${trunk.proxyAddress}]` : trunk.proxyAddress;
    const route: { -readonly [K in keyof SmsRoute]: SmsRoute[K] } = {
      requestUri: `sip:${escapeUser(trunkDialString(trunk, to))}@${host}:${trunk.proxyPort}${transportParam}`,
      fromHost: trunk.fromDomain ?? fromHost,
    };
    if (trunk.username && trunk.hasPassword) {
      const password = await trunks.password(trunk.id);
      if (password !== undefined) route.credentials = trunk.realm ? { username: trunk.username, password, realm: trunk.realm } : { username: trunk.username, password };
    }
    return route;
  };
}

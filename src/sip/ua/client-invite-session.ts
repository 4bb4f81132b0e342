import type { TimerHandle } from '../../util';
import {
  createRequest,
  formatNameAddr,
  formatUri,
  generateCallId,
  generateTag,
  parseNameAddr,
  parseUri,
  type NameAddr,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '../message';
import { isReliableProvisional, OPTION_TAG_100REL, type Dialog } from '../dialog';
import { DigestClient, type DigestCredentials } from '../auth';
import { createCancel, type ClientTransaction, type ClientTransactionHandlers } from '../transaction';
import type { TransportProtocol } from '../transport';
import { InviteSession, type InviteSessionEvents, type SessionHost } from './invite-session';
import { resolveUriTarget, uriTargetIfLiteral } from './targets';
import { inviteOutcomeOf, type UacOutcome } from './uac';
import type { SipTarget } from './types';

/** Options of `SipUserAgent.invite()`: an outbound call. */
export interface InviteOptions {
  /** Callee: To URI, and the Request-URI unless `requestUri` is given. */
  to: string | SipUri;
  toDisplayName?: string;
  /** Caller: a name-addr ('"Alice" <sip:alice@example.com>'), or a URI with an optional display name. */
  from: string | { uri: string | SipUri; displayName?: string };
  /** Request-URI when it differs from To (e.g. a trunk that wants the number at its own host). */
  requestUri?: string | SipUri;
  /** Where to send the INVITE (trunk or outbound proxy address); default: resolve the first Route or the Request-URI. */
  target?: SipTarget;
  /** Transport when resolving (default from the URI). */
  transport?: TransportProtocol;
  /** Preloaded route set (RFC 3261 §8.1.2), e.g. ['<sip:proxy.example.com;lr>']. */
  routes?: string[];
  /** The SDP offer. Without it the callee offers in its 2xx (or reliable 18x) and `onOffer` answers. */
  body?: Buffer;
  contentType?: string;
  /** Late offer: the offer from the callee; the answer goes in the ACK (or in the PRACK for a reliable 18x). */
  onOffer?: (offer: Buffer, res: SipResponse) => Buffer | Promise<Buffer>;
  /** Extra header fields (P-Asserted-Identity, Privacy, Diversion, X-...). */
  headers?: [string, string][];
  /** Answer 401/407 with these (RFC 3261 §22.2). */
  credentials?: DigestCredentials;
  /** No-answer timer: CANCEL the call when no 2xx came within this many ms. */
  timeoutMs?: number;
  /** Call-ID to use (e.g. one chosen for cluster ownership); default a fresh one. */
  callId?: string;
}

/** A provisional response to our INVITE. */
export interface ProvisionalInfo {
  readonly status: number;
  readonly reason: string;
  readonly response: SipResponse;
  /** The body when it carries one (SDP for early media, 183 Session Progress). */
  readonly body: Buffer | undefined;
  /** Sent reliably (RFC 3262): the session has PRACKed it. */
  readonly reliable: boolean;
}

/** Why an outbound call was not answered. */
export interface InviteFailure {
  /** Final status (408 for our own transaction timeout, 503 for a transport or resolution failure). */
  readonly status: number;
  readonly reason: string;
  readonly outcome: UacOutcome;
  /** The final response, when the network sent one. */
  readonly response?: SipResponse;
}

export type ClientInviteSessionEvents = InviteSessionEvents & {
  /** 101-199 from the callee (or a fork of it). */
  provisional: [info: ProvisionalInfo];
  /** 2xx: the call is up; the session has sent the ACK. Follows `confirmed`. */
  answered: [res: SipResponse];
  /** Not answered: non-2xx final, our timeout, CANCEL, or no response at all. Followed by `ended`. */
  failed: [failure: InviteFailure];
};

export type ClientInviteState = 'Calling' | 'Proceeding' | 'Early' | 'Confirmed' | 'Terminated';

/** What the UAC session needs of the UA core beyond what every session needs. */
export interface UacHost extends SessionHost {
  readonly publicHost: string;
  readonly product: string;
  readonly allowHeader: string;
  sendRequest(req: SipRequest, target: SipTarget, handlers: ClientTransactionHandlers<SipTarget>): ClientTransaction<SipTarget>;
  /** In-dialog requests of `dialog` from the peer go to `session` from now until the dialog terminates. */
  attachDialog(session: InviteSession, dialog: Dialog): void;
}

/** Option tags our INVITEs carry in Supported: reliable provisionals (we PRACK) and Replaces (RFC 3891). */
const UAC_SUPPORTED = `${OPTION_TAG_100REL}, replaces`;

/**
 * UAC side of an INVITE (RFC 3261 §13.2): sends the INVITE, follows provisionals (early dialogs per fork, PRACK
 * for reliable ones, RFC 3262), ACKs every 2xx (§13.2.2.4; a second fork's 2xx is ACKed and ended with BYE),
 * answers 401/407 once per challenge (§22.2), cancels on request or when the no-answer timer fires (§9.1: only
 * after a provisional), and then runs the confirmed dialog like any session.
 */
export class ClientInviteSession extends InviteSession<ClientInviteSessionEvents> {
  readonly callId: string;
  readonly localTag = generateTag();
  readonly requestUri: SipUri;
  /** Time the session started (clock ms), for post-dial delay and setup-time metrics. */
  readonly startedAt: number;
  private st: ClientInviteState = 'Calling';
  private readonly opts: InviteOptions;
  private readonly uac: UacHost;
  private readonly fromValue: string;
  private readonly toValue: string;
  private cseq: number;
  private target: SipTarget | undefined;
  private invite: SipRequest | undefined;
  private tx: ClientTransaction<SipTarget> | undefined;
  private authHeaders: [string, string][] = [];
  /** A provisional arrived for the current INVITE transaction (RFC 3261 §9.1 gate for CANCEL). */
  private provisionalSeen = false;
  private cancelReason: 'canceled' | 'no-answer' | undefined;
  private cancelSent = false;
  /** The offer of a late-offer call was answered (in a PRACK): the ACK carries no body. */
  private offerAnswered = false;
  private noAnswerTimer: TimerHandle | undefined;
  private cancelGuardTimer: TimerHandle | undefined;
  /** ACK sent per dialog (key), re-sent for retransmitted 2xx while the transaction is Accepted. */
  private readonly acks = new Map<string, SipRequest>();
  private final: SipResponse | undefined;

  constructor(host: UacHost, opts: InviteOptions) {
    super(host);
    this.uac = host;
    this.opts = opts;
    const to = typeof opts.to === 'string' ? parseUri(opts.to) : opts.to;
    if (!to) throw new TypeError(`invalid To URI: ${String(opts.to)}`);
    const ruri = opts.requestUri === undefined ? to : typeof opts.requestUri === 'string' ? parseUri(opts.requestUri) : opts.requestUri;
    if (!ruri) throw new TypeError(`invalid Request-URI: ${String(opts.requestUri)}`);
    const from = fromNameAddr(opts.from);
    if (!from) throw new TypeError('invalid From');
    this.requestUri = ruri;
    this.callId = opts.callId ?? generateCallId(host.publicHost);
    from.params = new Map(from.params);
    from.params.set('tag', this.localTag);
    this.fromValue = formatNameAddr(from);
    const toNa: NameAddr = { uri: to, params: new Map() };
    if (opts.toDisplayName !== undefined) toNa.displayName = opts.toDisplayName;
    this.toValue = formatNameAddr(toNa);
    // RFC 3261 §8.1.1.5: any initial CSeq below 2^31; a small one leaves room for retries and in-dialog requests.
    this.cseq = 1 + Math.floor(Math.random() * 0xffff);
    this.digest = opts.credentials ? new DigestClient(opts.credentials) : undefined;
    this.startedAt = host.clock.now();
  }

  get state(): ClientInviteState {
    return this.st;
  }
  get transport(): TransportProtocol {
    return this.target?.transport ?? this.opts.transport ?? (this.requestUri.scheme === 'sips' ? 'TLS' : 'UDP');
  }
  /** The INVITE as last sent (after an authentication retry, the retried one). */
  get request(): SipRequest | undefined {
    return this.invite;
  }
  /** The final response that answered or failed the call. */
  get finalResponse(): SipResponse | undefined {
    return this.final;
  }

  /** @internal Called by the UA once listeners can be attached: arms the no-answer timer and sends the INVITE. */
  start(): void {
    const timeout = this.opts.timeoutMs;
    if (timeout !== undefined && timeout > 0) this.noAnswerTimer = this.host.clock.setTimeout(() => this.noAnswer(), timeout);
    if (this.opts.target) {
      this.send(this.opts.target);
      return;
    }
    // RFC 3261 §8.1.2: with a preloaded route set the request goes to the first Route, else to the Request-URI.
    let next: SipUri = this.requestUri;
    const first = this.opts.routes?.[0];
    if (first !== undefined) {
      const na = parseNameAddr(first);
      if (!na) {
        this.fail(503, 'Service Unavailable (Bad Route)', 'failed');
        return;
      }
      next = na.uri;
    }
    const literal = uriTargetIfLiteral(next, this.opts.transport);
    if (literal) {
      this.send(literal);
      return;
    }
    resolveUriTarget(next, this.opts.transport).then(
      (t) => {
        if (this.endedCause === undefined) this.send(t);
      },
      (err: Error) => this.fail(503, `Service Unavailable (${err.message})`, 'failed'),
    );
  }

  /**
   * Give up the call before it is answered (RFC 3261 §9.1). The CANCEL goes out once a provisional response has
   * arrived; before that the session waits for one (or for the INVITE to time out). No effect once answered.
   */
  cancel(): void {
    if (this.endedCause !== undefined || this.st === 'Confirmed') return;
    this.requestCancel('canceled');
  }

  /** End the call whatever its state: CANCEL before the answer, BYE after. */
  hangup(headers: [string, string][] = []): void {
    if (this.st === 'Confirmed') this.bye(headers);
    else this.cancel();
  }

  /** @internal The peer's ACK for a 2xx we sent to one of its re-INVITEs (a UAC sends, never gets, the initial ACK). */
  handleAck(req: SipRequest): void {
    this.reinviteAcked(req);
  }

  /** @internal The UA is shutting down: an unanswered call is cancelled (CANCEL if already allowed) and ends now. */
  override shutdown(): void {
    if (this.endedCause !== undefined) return;
    if (this.st === 'Confirmed') {
      super.shutdown();
      return;
    }
    this.cancelReason ??= 'canceled';
    if (this.provisionalSeen) this.sendCancel();
    this.fail(487, 'Request Terminated (shutting down)', 'canceled');
  }

  // ---- sending ---------------------------------------------------------------------------------------------------

  private send(target: SipTarget): void {
    this.target = target;
    const o = this.opts;
    const headers: [string, string][] = [['Via', this.host.viaFor(target.transport)], ['Max-Forwards', '70']];
    for (const r of o.routes ?? []) headers.push(['Route', r]);
    headers.push(
      ['From', this.fromValue],
      ['To', this.toValue],
      ['Call-ID', this.callId],
      ['CSeq', `${this.cseq} INVITE`],
      ['Contact', this.host.contactFor(target.transport)],
      ['Allow', this.uac.allowHeader],
      ['Supported', UAC_SUPPORTED],
      ['User-Agent', this.uac.product],
      ...this.authHeaders,
      ...(o.headers ?? []),
    );
    const body = o.body;
    const req = createRequest({
      method: 'INVITE',
      uri: this.requestUri,
      headers,
      body,
      contentType: body && body.length > 0 ? o.contentType ?? 'application/sdp' : undefined,
    });
    this.invite = req;
    this.provisionalSeen = false;
    try {
      this.tx = this.uac.sendRequest(req, target, {
        onProvisional: (res) => {
          if (this.invite === req) this.onProvisional(res);
        },
        onFinal: (res) => {
          if (this.invite === req) this.onFinal(res);
          else if (res.status < 300) this.on2xx(res, req);
        },
        onTimeout: () => {
          if (this.invite === req) this.fail(408, 'Request Timeout', this.cancelReason ?? 'failed');
        },
        onTransportError: (_t, err) => {
          if (this.invite === req) this.fail(503, `Service Unavailable (${err.message})`, 'failed');
        },
      });
    } catch (err) {
      this.fail(503, `Service Unavailable (${err instanceof Error ? err.message : String(err)})`, 'failed');
    }
  }

  private requestCancel(reason: 'canceled' | 'no-answer'): void {
    if (this.cancelReason !== undefined) return;
    this.cancelReason = reason;
    this.clearNoAnswerTimer();
    if (!this.tx) {
      // Nothing sent yet (the target is still being resolved): there is no transaction to cancel.
      this.fail(487, 'Request Terminated', reason);
      return;
    }
    if (this.provisionalSeen) this.sendCancel();
    // RFC 3261 §9.1: "If no provisional response has been received, the CANCEL request MUST NOT be sent; rather, the
    // client MUST wait for the arrival of a provisional response before sending the request." onProvisional sends
    // it; if none ever comes, Timer B ends the INVITE transaction.
  }

  private sendCancel(): void {
    const invite = this.invite;
    const target = this.target;
    if (this.cancelSent || !invite || !target) return;
    this.cancelSent = true;
    try {
      this.uac.sendRequest(createCancel(invite), target, { onFinal: () => undefined });
    } catch {
      // The CANCEL's branch equals the INVITE's; a clash means one is already in progress.
    }
    // RFC 3261 §9.1: without a final response 64*T1 after the CANCEL, consider the INVITE transaction cancelled.
    this.cancelGuardTimer = this.host.clock.setTimeout(() => {
      this.cancelGuardTimer = undefined;
      this.tx?.terminate();
      this.fail(487, 'Request Terminated (no final response after CANCEL)', this.cancelReason ?? 'canceled');
    }, 64 * this.host.t1);
  }

  private noAnswer(): void {
    this.noAnswerTimer = undefined;
    if (this.endedCause !== undefined || this.st === 'Confirmed') return;
    this.requestCancel('no-answer');
  }

  // ---- responses -------------------------------------------------------------------------------------------------

  private onProvisional(res: SipResponse): void {
    this.provisionalSeen = true;
    if (this.cancelReason !== undefined) {
      this.sendCancel();
      return;
    }
    if (this.endedCause !== undefined || res.status === 100) return;
    const invite = this.invite as SipRequest;
    const outcome = this.host.dialogs.handleUacInviteResponse(invite, res);
    let dialog: Dialog | undefined;
    if (outcome.kind === 'early') {
      dialog = outcome.dialog;
      if (outcome.created) this.uac.attachDialog(this, dialog);
      this.dialog = dialog;
      this.st = 'Early';
    } else if (this.st === 'Calling') this.st = 'Proceeding';
    let reliable = false;
    if (dialog && isReliableProvisional(res)) {
      const verdict = dialog.checkReliableProvisional(res);
      // RFC 3262 §4: a retransmission (its PRACK is on its way) or an out-of-order one is not reported again.
      if (verdict.action !== 'prack') return;
      reliable = true;
      void this.sendPrack(dialog, res);
    }
    this.safeEmit('provisional', {
      status: res.status,
      reason: res.reason,
      response: res,
      body: res.body.length > 0 ? res.body : undefined,
      reliable,
    });
  }

  /** RFC 3262 §4 / §7.1: PRACK a reliable provisional; for our late offer, it carries the answer to its SDP. */
  private async sendPrack(dialog: Dialog, res: SipResponse): Promise<void> {
    let body: Buffer | undefined;
    if (!this.hasOffer && !this.offerAnswered && res.body.length > 0 && this.opts.onOffer) {
      try {
        body = await this.opts.onOffer(res.body, res);
        this.offerAnswered = true;
      } catch {
        body = undefined;
      }
    }
    if (dialog.state !== 'Early' || this.endedCause !== undefined) return;
    const prack = dialog.createPrack(res, {
      via: this.host.viaFor(this.transport),
      headers: this.authHeaders,
      body,
      contentType: body ? 'application/sdp' : undefined,
    });
    this.host.sendInDialog(dialog, prack, {
      onFinal: (r) => dialog.responseReceived(r),
    });
  }

  private get hasOffer(): boolean {
    return this.opts.body !== undefined && this.opts.body.length > 0;
  }

  private onFinal(res: SipResponse): void {
    if (res.status < 300) {
      this.on2xx(res, this.invite as SipRequest);
      return;
    }
    if (this.endedCause !== undefined) return;
    const invite = this.invite as SipRequest;
    if ((res.status === 401 || res.status === 407) && this.digest && this.cancelReason === undefined && this.target) {
      const verdict = this.digest.handleChallenge(res, { method: 'INVITE', uri: formatUri(this.requestUri), body: invite.body });
      if (verdict.retry) {
        // RFC 3261 §22.2: the same request again with credentials, a new CSeq, the same Call-ID and From tag.
        this.host.dialogs.handleUacInviteResponse(invite, res);
        this.authHeaders = verdict.headers;
        this.cseq++;
        this.st = 'Calling';
        this.send(this.target);
        return;
      }
    }
    this.host.dialogs.handleUacInviteResponse(invite, res);
    this.final = res;
    this.fail(res.status, res.reason, inviteOutcomeOf(res.status, this.cancelReason), res);
  }

  private on2xx(res: SipResponse, invite: SipRequest): void {
    const outcome = this.host.dialogs.handleUacInviteResponse(invite, res);
    if (outcome.kind !== 'confirmed') {
      if (outcome.kind === 'invalid' && this.endedCause === undefined) this.fail(502, `Bad Gateway (${outcome.message})`, 'failed', res);
      return;
    }
    const dialog = outcome.dialog;
    if (outcome.retransmission) {
      // RFC 3261 §13.2.2.4: a retransmitted 2xx gets the same ACK again.
      const ack = this.acks.get(dialog.key);
      if (ack) this.host.sendAck(dialog, ack);
      return;
    }
    if (outcome.additional || this.endedCause !== undefined || this.st === 'Confirmed' || this.cancelReason !== undefined) {
      // §13.2.2.4: every 2xx is ACKed; a second fork's dialog (or an answer that raced our CANCEL or timeout, §9.1)
      // is then ended with BYE.
      this.ackAndBye(dialog, res, invite);
      if (this.endedCause === undefined && this.st !== 'Confirmed') {
        this.final = res;
        this.fail(res.status, `${res.reason} (answered while cancelling; hung up)`, this.cancelReason ?? 'canceled', res);
      }
      return;
    }
    this.clearNoAnswerTimer();
    this.final = res;
    this.st = 'Confirmed';
    if (this.dialog !== dialog) this.uac.attachDialog(this, dialog);
    this.dialog = dialog;
    // The other early dialogs of a forked INVITE are retired by the dialog manager 64*T1 after this 2xx.
    void this.ack(dialog, res, invite);
    this.emitBase('confirmed', res);
    this.safeEmit('answered', res);
  }

  private async ack(dialog: Dialog, res: SipResponse, invite: SipRequest): Promise<void> {
    let body: Buffer | undefined;
    let offerRefused = false;
    if (!this.hasOffer && !this.offerAnswered && res.body.length > 0) {
      if (this.opts.onOffer) {
        try {
          body = await this.opts.onOffer(res.body, res);
        } catch {
          offerRefused = true;
        }
      } else offerRefused = true;
    }
    if (dialog.state === 'Terminated') return;
    const ack = dialog.createAck(res.cseq.seq, {
      via: this.host.viaFor(this.transport),
      headers: credentialHeadersOf(invite),
      body,
      contentType: body ? 'application/sdp' : undefined,
    });
    this.acks.set(dialog.key, ack);
    this.host.sendAck(dialog, ack);
    // RFC 3261 §13.2.2.4: an offer in the 2xx we cannot answer is still ACKed, then the call is ended with BYE.
    if (offerRefused && this.endedCause === undefined) this.bye([['Reason', 'SIP;cause=488;text="Not Acceptable Here"']]);
  }

  private ackAndBye(dialog: Dialog, res: SipResponse, invite: SipRequest): void {
    if (dialog.state === 'Terminated') return;
    const ack = dialog.createAck(res.cseq.seq, { via: this.host.viaFor(this.transport), headers: credentialHeadersOf(invite) });
    this.acks.set(dialog.key, ack);
    this.host.sendAck(dialog, ack);
    const bye = dialog.createRequest('BYE', { via: this.host.viaFor(this.transport) });
    this.host.sendInDialog(dialog, bye, {
      onFinal: (r) => dialog.responseReceived(r),
      onTimeout: () => dialog.terminate('requestTimeout'),
      onTransportError: () => dialog.terminate('local'),
    });
  }

  private fail(status: number, reason: string, outcome: UacOutcome, response?: SipResponse): void {
    if (this.endedCause !== undefined) return;
    this.st = 'Terminated';
    const failure: InviteFailure = response ? { status, reason, outcome, response } : { status, reason, outcome };
    this.safeEmit('failed', failure);
    this.end(outcome === 'canceled' || outcome === 'no-answer' ? 'canceled' : 'failed', `${status} ${reason}`);
  }

  private clearNoAnswerTimer(): void {
    if (this.noAnswerTimer) this.host.clock.clearTimeout(this.noAnswerTimer);
    this.noAnswerTimer = undefined;
  }

  protected override onEnd(): void {
    this.clearNoAnswerTimer();
    if (this.cancelGuardTimer) this.host.clock.clearTimeout(this.cancelGuardTimer);
    this.cancelGuardTimer = undefined;
    this.st = 'Terminated';
    // Early dialogs of this INVITE that no final response terminated (timeouts, CANCEL without 487) end with it.
    for (const d of [...this.host.dialogs.byCallId(this.callId)]) {
      if (d !== this.dialog && d.role === 'uac' && d.state === 'Early' && d.id.localTag === this.localTag) d.terminate('local');
    }
  }
}

/** RFC 3261 §22.x / §13.2.2.4: the ACK for a 2xx carries the credentials of the INVITE. */
function credentialHeadersOf(invite: SipRequest): [string, string][] {
  const out: [string, string][] = [];
  for (const name of ['Authorization', 'Proxy-Authorization']) for (const v of invite.getHeaders(name)) out.push([name, v]);
  return out;
}

function fromNameAddr(from: InviteOptions['from']): NameAddr | undefined {
  if (typeof from === 'string') return parseNameAddr(from);
  const uri = typeof from.uri === 'string' ? parseUri(from.uri) : from.uri;
  if (!uri) return undefined;
  const na: NameAddr = { uri, params: new Map() };
  if (from.displayName !== undefined) na.displayName = from.displayName;
  return na;
}

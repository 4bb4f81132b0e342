import { InvalidStateError, TypedEmitter, type TimerHandle } from '../../util';
import { createResponse, formatUri, type SipRequest, type SipResponse, type SipUri } from '../message';
import { Uas2xxRetransmitter, type Dialog, type DialogManager, type DialogTerminationCause, type InDialogRequestOptions } from '../dialog';
import type { DigestClient } from '../auth';
import type { Clock } from '../../util';
import type { ClientTransactionHandlers, ServerTransaction } from '../transaction';
import { formatReferTo, parseEvent, parseSipfrag, parseSubscriptionState, ReferSubscription, type ReferProgress, type ReplacesTarget } from './refer';
import { SipRequestError } from './uac';
import type { SipTarget } from './types';

/** Why an INVITE session ended (feeds CDR hangup causes). */
export type SessionEndCause =
  | 'local-bye' // we sent BYE
  | 'remote-bye' // the peer sent BYE
  | 'canceled' // CANCEL before answer
  | 'rejected' // we answered non-2xx
  | 'failed' // UAC: non-2xx final
  | 'ack-timeout' // the ACK for our 2xx never came (RFC 3261 §13.3.1.4)
  | 'prack-timeout' // UAS: a reliable provisional was never PRACKed; the INVITE got 500 (RFC 3262 §3)
  | 'request-timeout' // an in-dialog request timed out or got 408/481
  | 'transport-error'
  | 'session-expired'
  | 'shutdown';

/** A request received inside the session's dialog that the application answers. */
export interface InDialogRequest {
  readonly request: SipRequest;
  /** Answer it (once). A 2xx to a re-INVITE is kept alive until ACK by the session. */
  respond(status: number, opts?: { reason?: string; headers?: [string, string][]; body?: Buffer; contentType?: string }): void;
  /** Whether respond() has been called. */
  readonly answered: boolean;
}

export type InviteSessionEvents = {
  /** The dialog is confirmed (UAS: ACK received, with its body for late offers; UAC: 2xx received). */
  confirmed: [ack: SipRequest | SipResponse];
  /** re-INVITE / UPDATE / INFO / REFER / NOTIFY / MESSAGE from the peer. Unanswered requests get a default answer. */
  request: [req: InDialogRequest];
  /** The session is over (the dialog is terminated). Emitted once. */
  ended: [cause: SessionEndCause, detail?: string];
  /** A NOTIFY reported progress of a REFER we sent (RFC 3515 §2.4.5). */
  referprogress: [progress: ReferProgress];
};

/** Options of a re-INVITE we send (RFC 3261 §14.1). */
export interface ReinviteOptions {
  /** The new offer (hold: a=sendonly). Without a body the peer makes the offer in its 2xx (answer it in `onOffer`). */
  body?: Buffer;
  contentType?: string;
  headers?: [string, string][];
  /** Late offer in the 2xx: returns the answer sent in the ACK. */
  onOffer?: (offer: Buffer, res: SipResponse) => Buffer | Promise<Buffer>;
}

/** Options of a REFER we send (RFC 3515). */
export interface ReferOptions {
  /** Attended transfer: the dialog the target replaces (RFC 3891). */
  replaces?: ReplacesTarget;
  /** Referred-By value (RFC 3892), e.g. our identity as name-addr. */
  referredBy?: string;
  headers?: [string, string][];
}

/** RFC 3261 §14.1 glare retries before giving up with the 491. */
const MAX_GLARE_RETRIES = 3;
/** Challenge rounds for one in-dialog request. */
const MAX_AUTH_ROUNDS = 3;

/** What a session needs from the UA core: send paths and the dialog/transaction services. */
export interface SessionHost {
  readonly clock: Clock;
  readonly t1: number;
  readonly t2: number;
  readonly dialogs: DialogManager;
  transmitResponse(res: SipResponse, target: SipTarget): void;
  /** Sends an in-dialog request of `dialog` through a client transaction. */
  sendInDialog(dialog: Dialog, req: SipRequest, handlers: ClientTransactionHandlers<SipTarget>): void;
  /** The Contact we put in our requests/responses for a transport. */
  contactFor(transport: SipTarget['transport']): string;
  /** Remove the session from the UA's maps. */
  sessionEnded(session: InviteSession): void;
  /** Whether we implement option tag `tag` (it is in our Supported header), e.g. 100rel (RFC 3262). */
  supportsOptionTag(tag: string): boolean;
  /** Build a Via for a request leaving over `transport`. */
  viaFor(transport: SipTarget['transport']): string;
  /**
   * Send the ACK for a 2xx to an INVITE of `dialog` (RFC 3261 §13.2.2.4: outside any transaction, routed like the
   * dialog's requests) and remember it to answer retransmissions of that 2xx.
   */
  sendAck(dialog: Dialog, ack: SipRequest): void;
}

/**
 * Common part of UAS and UAC INVITE sessions: the dialog once it exists, in-dialog requests in both directions,
 * BYE, and the single `ended` notification.
 */
export abstract class InviteSession<E extends InviteSessionEvents = InviteSessionEvents> extends TypedEmitter<E> {
  dialog: Dialog | undefined;
  protected endedCause: SessionEndCause | undefined;
  /** Credentials state when this session authenticated (UAC): in-dialog requests answer challenges with it. */
  protected digest: DigestClient | undefined;
  /** CSeq numbers of REFERs we sent whose implicit subscription is still active (RFC 3515 §2.4.4). */
  private readonly referSubscriptions = new Set<number>();
  /** The last ACK we sent for a 2xx to our re-INVITE, re-sent for retransmissions of that 2xx. */
  private reinviteAck: { seq: number; ack: SipRequest } | undefined;
  private glareTimer: TimerHandle | undefined;
  private glareAbort: (() => void) | undefined;
  /** Transport the dialog runs over (for Contact and Via of our requests). */
  abstract readonly transport: SipTarget['transport'];

  protected constructor(protected readonly host: SessionHost) {
    super();
  }

  abstract readonly callId: string;

  get isEnded(): boolean {
    return this.endedCause !== undefined;
  }
  get endCause(): SessionEndCause | undefined {
    return this.endedCause;
  }

  /** Emit one of the events every session has (the subclass's event map extends InviteSessionEvents). */
  protected emitBase<K extends keyof InviteSessionEvents & string>(event: K, ...args: InviteSessionEvents[K]): void {
    (this as unknown as TypedEmitter<InviteSessionEvents>).safeEmit(event, ...args);
  }

  /** End the session once: terminate the dialog, tell listeners, leave the UA's maps. */
  protected end(cause: SessionEndCause, detail?: string): void {
    if (this.endedCause !== undefined) return;
    this.endedCause = cause;
    this.stopReinviteRetransmitter();
    if (this.glareTimer) this.host.clock.clearTimeout(this.glareTimer);
    this.glareTimer = undefined;
    this.glareAbort?.();
    this.glareAbort = undefined;
    this.referSubscriptions.clear();
    this.onEnd();
    if (this.dialog && this.dialog.state !== 'Terminated') this.dialog.terminate(dialogCauseOf(cause));
    this.host.sessionEnded(this);
    this.emitBase('ended', cause, detail);
  }

  /** Subclass cleanup (timers). */
  protected onEnd(): void {}

  /**
   * Send a request inside the dialog (RFC 3261 §12.2.1.1). Returns false when there is no usable dialog.
   * 481 and 408 answers end the session (§12.2.1.2). When the session authenticated, the request carries the
   * cached credentials (RFC 3261 §22.3) and a 401/407 is answered once more before the handlers see it.
   */
  sendRequest(method: string, opts: InDialogRequestOptions = {}, handlers: Partial<ClientTransactionHandlers<SipTarget>> = {}): boolean {
    const dialog = this.dialog;
    if (!dialog || dialog.state === 'Terminated' || this.endedCause !== undefined) return false;
    return this.sendOnDialog(dialog, method, opts, handlers, 0);
  }

  private sendOnDialog(
    dialog: Dialog,
    method: string,
    opts: InDialogRequestOptions,
    handlers: Partial<ClientTransactionHandlers<SipTarget>>,
    authRound: number,
  ): boolean {
    const req = dialog.createRequest(method, {
      ...opts,
      via: opts.via ?? this.host.viaFor(this.transport),
      contact: opts.contact ?? this.host.contactFor(this.transport),
    });
    const digest = this.digest;
    if (digest && authRound === 0 && digest.hasChallenges) {
      for (const [name, value] of digest.authorize({ method, uri: formatUri(req.uri), body: req.body })) req.appendHeader(name, value);
    }
    this.host.sendInDialog(dialog, req, {
      onProvisional: handlers.onProvisional,
      onFinal: (res, t) => {
        dialog.responseReceived(res);
        // RFC 3261 §22.2: a challenged request is re-sent with credentials and a new CSeq. BYE is not retried: the
        // session has already ended locally and its dialog is gone.
        if ((res.status === 401 || res.status === 407) && digest && method !== 'BYE' && authRound < MAX_AUTH_ROUNDS && this.endedCause === undefined && dialog.state !== 'Terminated') {
          const verdict = digest.handleChallenge(res, { method, uri: formatUri(req.uri), body: req.body });
          if (verdict.retry && this.sendOnDialog(dialog, method, { ...opts, headers: [...(opts.headers ?? []), ...verdict.headers] }, handlers, authRound + 1)) return;
        }
        if (res.status === 481 || res.status === 408) this.end('request-timeout', `${method} answered ${res.status}`);
        handlers.onFinal?.(res, t);
      },
      onTimeout: (t) => {
        dialog.requestTimedOut(method, req.cseq.seq);
        handlers.onTimeout?.(t);
        if (method !== 'BYE') this.end('request-timeout', `${method} timed out`);
      },
      onTransportError: (t, err) => {
        handlers.onTransportError?.(t, err);
        if (method !== 'BYE') this.end('transport-error', err.message);
      },
      onTerminated: handlers.onTerminated,
    });
    return true;
  }

  /**
   * Send an in-dialog request and resolve with its final response; rejects with SipRequestError on timeout,
   * transport error, or when there is no usable dialog.
   */
  private requestInDialog(method: string, opts: InDialogRequestOptions, onSent?: (dialog: Dialog) => void): Promise<SipResponse> {
    return new Promise<SipResponse>((resolve, reject) => {
      const dialog = this.dialog;
      const sent = this.sendRequest(method, opts, {
        onFinal: (res) => resolve(res),
        onTimeout: () => reject(new SipRequestError('SIP_REQUEST_TIMEOUT', `${method}: no final response`, 408)),
        onTransportError: (_t, err) => reject(new SipRequestError('SIP_TRANSPORT_ERROR', `${method}: ${err.message}`, 503)),
      });
      if (!sent || !dialog) reject(new SipRequestError('SIP_NO_DIALOG', `${method}: the session has no usable dialog`, 481));
      else onSent?.(dialog);
    });
  }

  /**
   * Send a re-INVITE (RFC 3261 §14.1) on the confirmed dialog, e.g. hold (a=sendonly) or resume, and resolve with
   * its final response. The session ACKs a 2xx itself. A 491 (glare) is retried after the dialog's random delay
   * (§14.1: 2.1-4 s for the Call-ID owner, 0-2 s otherwise), up to three times. A non-2xx leaves the session as it
   * was (§14.1); 481/408 end it.
   * @throws InvalidStateError (as a rejection) while another INVITE is in progress on the dialog.
   */
  reinvite(opts: ReinviteOptions = {}): Promise<SipResponse> {
    return new Promise<SipResponse>((resolve, reject) => {
      let glareRetries = 0;
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        fn();
      };
      const attempt = (): void => {
        this.glareTimer = undefined;
        this.glareAbort = undefined;
        const dialog = this.dialog;
        if (!dialog || dialog.state !== 'Confirmed' || this.endedCause !== undefined) {
          settle(() => reject(new SipRequestError('SIP_NO_DIALOG', 're-INVITE: the session has no confirmed dialog', 481)));
          return;
        }
        if (!dialog.canSendReInvite) {
          settle(() => reject(new InvalidStateError('RFC 3261 §14.1: an INVITE transaction is already in progress on this dialog')));
          return;
        }
        const contentType = opts.contentType ?? (opts.body && opts.body.length > 0 ? 'application/sdp' : undefined);
        this.sendRequest(
          'INVITE',
          { headers: opts.headers, body: opts.body, contentType },
          {
            onFinal: (res, tx) => {
              if (res.status >= 200 && res.status < 300) {
                // Retransmissions of the 2xx reach us while the transaction is Accepted: ACK each (§13.2.2.4).
                void this.ackReinvite(dialog, res, tx.request, opts);
                settle(() => resolve(res));
                return;
              }
              if (res.status === 491 && glareRetries < MAX_GLARE_RETRIES && this.endedCause === undefined) {
                glareRetries++;
                this.glareAbort = () => settle(() => reject(new SipRequestError('SIP_SESSION_ENDED', 're-INVITE: the session ended', 481)));
                this.glareTimer = this.host.clock.setTimeout(attempt, dialog.glareRetryDelay());
                return;
              }
              settle(() => resolve(res));
            },
            onTimeout: () => settle(() => reject(new SipRequestError('SIP_REQUEST_TIMEOUT', 're-INVITE: no final response', 408))),
            onTransportError: (_t, err) => settle(() => reject(new SipRequestError('SIP_TRANSPORT_ERROR', `re-INVITE: ${err.message}`, 503))),
          },
        );
      };
      attempt();
    });
  }

  /** ACK a 2xx to our re-INVITE (same credentials as the INVITE, RFC 3261 §22.x; the answer to a late offer). */
  private async ackReinvite(dialog: Dialog, res: SipResponse, invite: SipRequest, opts: ReinviteOptions): Promise<void> {
    const seq = res.cseq.seq;
    const prior = this.reinviteAck;
    if (prior && prior.seq === seq) {
      this.host.sendAck(dialog, prior.ack);
      return;
    }
    let body: Buffer | undefined;
    if ((!opts.body || opts.body.length === 0) && res.body.length > 0 && opts.onOffer) {
      try {
        body = await opts.onOffer(res.body, res);
      } catch {
        body = undefined;
      }
    }
    if (dialog.state === 'Terminated') return;
    const headers: [string, string][] = [];
    for (const name of ['Authorization', 'Proxy-Authorization']) for (const v of invite.getHeaders(name)) headers.push([name, v]);
    const ack = dialog.createAck(seq, {
      via: this.host.viaFor(this.transport),
      headers,
      body,
      contentType: body ? 'application/sdp' : undefined,
    });
    this.reinviteAck = { seq, ack };
    this.host.sendAck(dialog, ack);
  }

  /** Send INFO (RFC 6086), e.g. DTMF as application/dtmf-relay; resolves with the final response. */
  info(body: Buffer, contentType: string, headers: [string, string][] = []): Promise<SipResponse> {
    return this.requestInDialog('INFO', { body, contentType, headers });
  }

  /**
   * Send REFER (RFC 3515) asking the peer to call `target` (blind transfer, or attended with `replaces`), and
   * resolve with its final response (202 Accepted, or a refusal). Progress arrives as `referprogress` events from
   * the peer's NOTIFYs until one terminates the implicit subscription.
   */
  refer(target: string | SipUri, opts: ReferOptions = {}): Promise<SipResponse> {
    let referTo: string;
    try {
      referTo = formatReferTo(target, opts.replaces);
    } catch (err) {
      return Promise.reject(err);
    }
    const headers: [string, string][] = [['Refer-To', referTo]];
    if (opts.referredBy !== undefined) headers.push(['Referred-By', opts.referredBy]);
    headers.push(...(opts.headers ?? []));
    let seq: number | undefined;
    return this.requestInDialog('REFER', { headers }, (dialog) => {
      // The REFER just built took the dialog's next CSeq: NOTIFYs name it in Event's id (RFC 3515 §2.4.6).
      seq = dialog.localSeq;
      if (seq !== undefined) this.referSubscriptions.add(seq);
    }).then((res) => {
      if (res.status >= 300 && seq !== undefined) this.referSubscriptions.delete(seq);
      return res;
    });
  }

  /**
   * Accept a REFER received in this dialog (from the `request` event): answer 202 and send the first NOTIFY
   * (100 Trying) of the implicit subscription (RFC 3515 §2.4.4). Report the new call's progress with
   * `notify(status)`. A REFER without a valid Refer-To is answered 400 and undefined is returned.
   */
  acceptRefer(req: InDialogRequest, opts: { expiresS?: number } = {}): ReferSubscription | undefined {
    if (req.request.method !== 'REFER') throw new TypeError(`acceptRefer() takes a REFER, got ${req.request.method}`);
    const sub = new ReferSubscription(this, req.request, opts.expiresS ?? 60);
    if (!sub.referTo) {
      req.respond(400, { reason: 'Bad Refer-To' });
      return undefined;
    }
    // RFC 4488 §4: the referrer asked for no subscription; confirm it with Refer-Sub: false.
    req.respond(202, { headers: sub.subscribed ? [] : [['Refer-Sub', 'false']] });
    sub.notify(100, 'Trying');
    return sub;
  }

  /** RFC 3515 §2.4.5 / RFC 6665 §4.1.3: a NOTIFY of the implicit subscription of a REFER we sent. */
  private handleReferNotify(tx: ServerTransaction<SipTarget>, req: SipRequest, dialog: Dialog, id: string | undefined): void {
    let seq: number | undefined;
    if (id !== undefined && this.referSubscriptions.has(Number(id))) seq = Number(id);
    else if (this.referSubscriptions.size === 1) seq = this.referSubscriptions.values().next().value;
    const res = createResponse(req, seq === undefined ? 481 : 200);
    tx.respond(res);
    dialog.responseSent(req, res);
    if (seq === undefined) return;
    const frag = parseSipfrag(req.body);
    const state = parseSubscriptionState(req.getHeader('Subscription-State'));
    const final = state?.state === 'terminated';
    if (final) this.referSubscriptions.delete(seq);
    this.emitBase('referprogress', { status: frag?.status ?? 0, reason: frag?.reason ?? '', final, request: req });
  }

  /** Hang up a confirmed (or early, UAS side) dialog with BYE (RFC 3261 §15.1.1). */
  bye(headers: [string, string][] = []): void {
    if (this.endedCause !== undefined) return;
    this.sendRequest('BYE', { headers });
    this.end('local-bye');
  }

  /** @internal A request inside our dialog that passed the dialog's checks. */
  handleInDialogRequest(tx: ServerTransaction<SipTarget>, req: SipRequest): void {
    const dialog = this.dialog;
    if (!dialog) {
      tx.respond(createResponse(req, 481));
      return;
    }
    const method = req.method;
    if (method === 'BYE') {
      const res = createResponse(req, 200);
      tx.respond(res);
      dialog.responseSent(req, res);
      this.end('remote-bye');
      return;
    }
    if (method === 'NOTIFY') {
      const event = parseEvent(req.getHeader('Event'));
      if (event?.pkg === 'refer') {
        this.handleReferNotify(tx, req, dialog, event.id);
        return;
      }
    }
    let answered = false;
    const respond: InDialogRequest['respond'] = (status, opts = {}) => {
      if (answered) return;
      answered = true;
      const headers: [string, string][] = [...(opts.headers ?? [])];
      if (status >= 200 && status < 300 && (method === 'INVITE' || method === 'UPDATE')) {
        headers.push(['Contact', this.host.contactFor(this.transport)]);
      }
      const res = createResponse(req, status, opts.reason, { headers, body: opts.body, contentType: opts.contentType });
      tx.respond(res);
      dialog.responseSent(req, res);
      if (method === 'INVITE' && status >= 200 && status < 300) this.reinviteAnswered(res, tx);
    };
    const incoming: InDialogRequest = {
      request: req,
      respond,
      get answered() {
        return answered;
      },
    };
    this.emitBase('request', incoming);
    if (!answered) {
      // Defaults when the application did not answer synchronously: INFO/NOTIFY/UPDATE without body are acknowledged,
      // an offer we were not asked to handle is refused (RFC 3261 §14.2: 488), anything else is not implemented.
      if (method === 'INFO' || method === 'NOTIFY' || (method === 'UPDATE' && req.body.length === 0)) respond(200);
      else if (method === 'INVITE' || method === 'UPDATE') respond(488);
      else respond(501);
    }
  }

  /** @internal An ACK for a 2xx arrived for this session's dialog. */
  abstract handleAck(req: SipRequest): void;

  /** 2xx to a re-INVITE from the peer, re-sent until its ACK (RFC 3261 §13.3.1.4 applies to re-INVITEs too). */
  private reinvite2xx: { seq: number; retransmitter: Uas2xxRetransmitter } | undefined;

  private reinviteAnswered(res: SipResponse, tx: ServerTransaction<SipTarget>): void {
    this.reinvite2xx?.retransmitter.stop();
    const target = tx.responseTarget;
    const retransmitter = new Uas2xxRetransmitter({
      clock: this.host.clock,
      t1: this.host.t1,
      t2: this.host.t2,
      retransmit: () => this.host.transmitResponse(res, target),
      onAckTimeout: () => {
        this.reinvite2xx = undefined;
        this.bye([['Reason', 'SIP;cause=408;text="ACK timeout"']]);
      },
    });
    this.reinvite2xx = { seq: res.cseq.seq, retransmitter };
    retransmitter.start();
  }

  /** An ACK for the 2xx of a re-INVITE we answered. Returns true when it was that ACK. */
  protected reinviteAcked(req: SipRequest): boolean {
    const r = this.reinvite2xx;
    if (!r || req.cseq.seq !== r.seq) return false;
    r.retransmitter.ackReceived();
    this.reinvite2xx = undefined;
    return true;
  }

  protected stopReinviteRetransmitter(): void {
    this.reinvite2xx?.retransmitter.stop();
    this.reinvite2xx = undefined;
  }

  /** @internal The UA is shutting down. */
  shutdown(): void {
    if (this.endedCause !== undefined) return;
    if (this.dialog?.state === 'Confirmed') this.bye([['Reason', 'SIP;cause=503;text="Server shutting down"']]);
    else this.end('shutdown');
  }
}

function dialogCauseOf(cause: SessionEndCause): DialogTerminationCause {
  switch (cause) {
    case 'remote-bye':
      return 'byeReceived';
    case 'local-bye':
      return 'byeSent';
    case 'ack-timeout':
      return 'ackTimeout';
    case 'session-expired':
      return 'sessionExpired';
    case 'canceled':
    case 'rejected':
    case 'failed':
    case 'prack-timeout':
      return 'rejected';
    case 'request-timeout':
      return 'requestTimeout';
    default:
      return 'local';
  }
}

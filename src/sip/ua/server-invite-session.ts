import { InvalidStateError } from '../../util';
import { createResponse, generateTag, type SipRequest, type SipResponse } from '../message';
import { OPTION_TAG_100REL, ReliableProvisionalSender, requires100rel, supports100rel, Uas2xxRetransmitter } from '../dialog';
import type { ServerTransaction } from '../transaction';
import { InviteSession, type InviteSessionEvents, type SessionHost } from './invite-session';
import type { SipTarget } from './types';

export interface ResponseOptions {
  reason?: string;
  headers?: [string, string][];
  body?: Buffer;
  contentType?: string;
  /**
   * Provisional responses only: send it reliably (RFC 3262). By default a provisional is reliable when the INVITE
   * requires 100rel (then always, §3), or supports it and the response carries a body (early media SDP).
   * Ignored when the caller does not support 100rel.
   */
  reliable?: boolean;
}

/** How the caller stands on reliable provisional responses (RFC 3262 §3), given that we implement them. */
type ReliableMode = 'required' | 'supported' | 'none';

export type ServerInviteState = 'Incoming' | 'Early' | 'Answered' | 'Confirmed' | 'Ended';

export type ServerInviteSessionEvents = InviteSessionEvents & {
  /**
   * The 2xx to the INVITE went out: at accept(), or when the last PRACK it waited for arrived (RFC 3262 §3). The
   * moment the call is answered; never emitted when the held 2xx is dropped (PRACK timeout, CANCEL, reject).
   */
  answered: [res: SipResponse];
};

/**
 * UAS side of an INVITE (RFC 3261 §13.3): provisional responses (reliable ones per RFC 3262 with RSeq, retransmitted
 * until their PRACK), the final answer, the 2xx kept alive until its ACK (§13.3.1.4), CANCEL (§9.2: 487 for the
 * INVITE), and then the confirmed dialog.
 */
export class ServerInviteSession extends InviteSession<ServerInviteSessionEvents> {
  readonly request: SipRequest;
  readonly source: SipTarget;
  readonly localTag = generateTag();
  /** Time the INVITE arrived (clock ms), for setup-time metrics. */
  readonly receivedAt: number;
  private st: ServerInviteState = 'Incoming';
  private retransmitter: Uas2xxRetransmitter | undefined;
  private final: SipResponse | undefined;
  private readonly tx: ServerTransaction<SipTarget>;
  private readonly reliableMode: ReliableMode;
  /** RFC 3262 §3 state of this INVITE's reliable provisionals, from the first one sent. */
  private reliableSender: ReliableProvisionalSender | undefined;
  /** A 2xx waiting for the PRACKs of the reliable provisionals still unacknowledged (RFC 3262 §3). */
  private deferred2xx: SipResponse | undefined;

  constructor(host: SessionHost, tx: ServerTransaction<SipTarget>, request: SipRequest, source: SipTarget) {
    super(host);
    this.tx = tx;
    this.request = request;
    this.source = source;
    this.receivedAt = host.clock.now();
    let mode: ReliableMode = 'none';
    if (host.supportsOptionTag(OPTION_TAG_100REL)) {
      if (requires100rel(request)) mode = 'required';
      else if (supports100rel(request)) mode = 'supported';
    }
    this.reliableMode = mode;
  }

  get state(): ServerInviteState {
    return this.st;
  }
  get callId(): string {
    return this.request.callId;
  }
  get transport(): SipTarget['transport'] {
    return this.source.transport;
  }
  /** The final response sent, if any. */
  get finalResponse(): SipResponse | undefined {
    return this.final;
  }
  /** accept() was called and its 2xx waits for the PRACK of a reliable provisional (RFC 3262 §3). */
  get answerPending(): boolean {
    return this.deferred2xx !== undefined;
  }
  /** Reliable provisionals sent (or queued) and not yet PRACKed. */
  get unacknowledgedProvisionals(): number {
    return this.reliableSender?.pending ?? 0;
  }
  /** The server transaction of the initial INVITE (for CANCEL matching). */
  get transaction(): ServerTransaction<SipTarget> {
    return this.tx;
  }

  private build(status: number, opts: ResponseOptions, withContact: boolean): SipResponse {
    const headers: [string, string][] = withContact ? [['Contact', this.host.contactFor(this.transport)], ...(opts.headers ?? [])] : opts.headers ?? [];
    return createResponse(this.request, status, opts.reason, {
      toTag: status === 100 ? undefined : this.localTag,
      headers,
      body: opts.body,
      contentType: opts.contentType,
    });
  }

  /**
   * Send a provisional response (180 Ringing, 183 Session Progress with early media...). Reliable ones (see
   * ResponseOptions.reliable) carry RSeq and `Require: 100rel` and are re-sent until PRACKed; a later reliable one
   * waits until the previous is PRACKed (RFC 3262 §3). Ignored once the answer is pending or sent.
   */
  progress(status = 180, opts: ResponseOptions = {}): void {
    if (status < 101 || status > 199) throw new TypeError(`progress() takes 101-199, got ${status}`);
    if ((this.st !== 'Incoming' && this.st !== 'Early') || this.deferred2xx) return;
    const res = this.build(status, opts, true);
    const made = this.host.dialogs.uasResponseSent(this.request, res);
    if (made.ok) this.dialog = made.dialog;
    this.st = 'Early';
    // RFC 3262 §3: the PRACK travels in the early dialog, so only a provisional that made one can be reliable.
    if (made.ok && this.wantsReliable(opts)) this.sender().send(res);
    else this.tx.respond(res);
  }

  private wantsReliable(opts: ResponseOptions): boolean {
    switch (this.reliableMode) {
      case 'required':
        // RFC 3262 §3: "If the UAC requires 100rel, the UAS MUST send any non-100 provisional response reliably".
        return true;
      case 'supported':
        return opts.reliable ?? (opts.body !== undefined && opts.body.length > 0);
      default:
        return false;
    }
  }

  private sender(): ReliableProvisionalSender {
    if (this.reliableSender) return this.reliableSender;
    const sender = new ReliableProvisionalSender({
      clock: this.host.clock,
      t1: this.host.t1,
      // §3: retransmissions go through the INVITE server transaction, which stays in Proceeding until the final.
      transmit: (r) => {
        if (this.st !== 'Incoming' && this.st !== 'Early') return;
        try {
          this.tx.respond(r);
        } catch {
          // The transaction is gone (transport failure): nothing more can reach the caller; the give-up timer ends us.
        }
      },
      onTimeout: () => this.prackTimedOut(),
    });
    this.reliableSender = sender;
    return sender;
  }

  /**
   * Answer 2xx (RFC 3261 §13.3.1.4); the 2xx is re-sent until the ACK arrives. While a reliable provisional awaits
   * its PRACK the 2xx is held and sent right after the last PRACK (RFC 3262 §3 demands it when the provisional carried
   * SDP; holding it for every reliable provisional also spares the caller a 481 to a PRACK crossing our 2xx).
   * `answered` is emitted when the 2xx actually leaves.
   */
  accept(opts: ResponseOptions = {}, status = 200): void {
    if (status < 200 || status > 299) throw new TypeError(`accept() takes 2xx, got ${status}`);
    if ((this.st !== 'Incoming' && this.st !== 'Early') || this.deferred2xx) throw new InvalidStateError(`cannot accept in state ${this.st}`);
    const res = this.build(status, opts, true);
    if (this.reliableSender && this.reliableSender.pending > 0) {
      this.deferred2xx = res;
      return;
    }
    this.send2xx(res);
  }

  private send2xx(res: SipResponse): void {
    this.reliableSender?.stop();
    this.final = res;
    this.tx.respond(res);
    const made = this.host.dialogs.uasResponseSent(this.request, res);
    if (!made.ok) {
      // The INVITE lacked what a dialog needs (e.g. no Contact): nothing can follow; end it.
      this.st = 'Ended';
      this.end('rejected', made.message);
      return;
    }
    this.dialog = made.dialog;
    this.st = 'Answered';
    const target = this.tx.responseTarget;
    this.retransmitter = new Uas2xxRetransmitter({
      clock: this.host.clock,
      t1: this.host.t1,
      t2: this.host.t2,
      retransmit: () => this.host.transmitResponse(res, target),
      onAckTimeout: () => {
        // §13.3.1.4: confirm the dialog, then end it with BYE.
        this.retransmitter = undefined;
        this.bye([['Reason', 'SIP;cause=408;text="ACK timeout"']]);
        this.endedCause = 'ack-timeout';
      },
    });
    this.retransmitter.start();
    this.safeEmit('answered', res);
  }

  /** Refuse with a final non-2xx response (486 Busy Here, 603 Decline, 488...), also while an answer is pending. */
  reject(status: number, opts: ResponseOptions = {}): void {
    if (status < 300 || status > 699) throw new TypeError(`reject() takes 300-699, got ${status}`);
    this.sendFailure(status, opts, 'rejected');
  }

  private sendFailure(status: number, opts: ResponseOptions, cause: 'rejected' | 'prack-timeout'): void {
    if (this.st !== 'Incoming' && this.st !== 'Early') return;
    // RFC 3262 §3: a non-2xx final may go before the PRACKs; retransmissions of the provisionals stop with it.
    this.reliableSender?.stop();
    this.deferred2xx = undefined;
    const res = this.build(status, opts, false);
    this.final = res;
    try {
      this.tx.respond(res);
    } catch {
      // The transaction already failed (transport error): the session ends all the same.
    }
    if (this.dialog) this.dialog.responseSent(this.request, res);
    this.st = 'Ended';
    this.end(cause, String(status));
  }

  /** RFC 3262 §3: a reliable provisional went unacknowledged for 64*T1: "the UAS SHOULD reject the original request with a 5xx". */
  private prackTimedOut(): void {
    this.sendFailure(500, { reason: 'Server Internal Error (No PRACK)' }, 'prack-timeout');
  }

  /**
   * @internal CANCEL matched this INVITE (RFC 3261 §9.2): when no final response was sent yet, answer the INVITE 487
   * and end the session; the UA core has already answered the CANCEL itself with 200.
   */
  cancel(): boolean {
    if (this.st !== 'Incoming' && this.st !== 'Early') return false;
    this.reliableSender?.stop();
    this.deferred2xx = undefined;
    const res = this.build(487, {}, false);
    this.final = res;
    this.tx.respond(res);
    if (this.dialog) this.dialog.responseSent(this.request, res);
    this.st = 'Ended';
    this.end('canceled');
    return true;
  }

  /** End the call: CANCEL is not ours to send as UAS; before answer we reject, after answer we BYE. */
  hangup(status = 480): void {
    if (this.st === 'Incoming' || this.st === 'Early') this.reject(status);
    else this.bye();
  }

  handleAck(req: SipRequest): void {
    if (this.reinviteAcked(req)) return;
    const r = this.retransmitter;
    if (r) {
      r.ackReceived();
      this.retransmitter = undefined;
    }
    if (this.st === 'Answered') {
      this.st = 'Confirmed';
      this.safeEmit('confirmed', req);
    }
  }

  /**
   * @internal A request inside the dialog. PRACK is ours (RFC 3262 §3): one whose RAck names the reliable provisional
   * awaiting acknowledgement gets 200 (and releases a held 2xx once none is left); any other gets 481.
   */
  override handleInDialogRequest(tx: ServerTransaction<SipTarget>, req: SipRequest): void {
    if (req.method !== 'PRACK') {
      super.handleInDialogRequest(tx, req);
      return;
    }
    const sender = this.reliableSender;
    const live = this.st === 'Incoming' || this.st === 'Early';
    const match = sender && live ? sender.prack(req) : undefined;
    if (!match || !match.ok) {
      tx.respond(createResponse(req, 481, match?.reason));
      return;
    }
    // RFC 3262 §5: our reliable provisionals never carry an offer (the SDP of a 183 is the answer to the INVITE's),
    // so a PRACK body would be a new offer: we do not take offers in PRACK (the PRACK still acknowledges).
    const res = req.body.length > 0 ? createResponse(req, 488, 'Not Acceptable Here (No Offer In PRACK)') : createResponse(req, 200);
    tx.respond(res);
    this.dialog?.responseSent(req, res);
    const held = this.deferred2xx;
    if (held && sender && sender.pending === 0) {
      this.deferred2xx = undefined;
      this.send2xx(held);
    }
  }

  protected override onEnd(): void {
    this.reliableSender?.stop();
    this.deferred2xx = undefined;
    this.retransmitter?.stop();
    this.retransmitter = undefined;
    this.st = 'Ended';
  }
}

import { InvalidStateError } from '../../util';
import { createResponse, generateTag, type SipRequest, type SipResponse } from '../message';
import { Uas2xxRetransmitter } from '../dialog';
import type { ServerTransaction } from '../transaction';
import { InviteSession, type SessionHost } from './invite-session';
import type { SipTarget } from './types';

export interface ResponseOptions {
  reason?: string;
  headers?: [string, string][];
  body?: Buffer;
  contentType?: string;
}

export type ServerInviteState = 'Incoming' | 'Early' | 'Answered' | 'Confirmed' | 'Ended';

/**
 * UAS side of an INVITE (RFC 3261 §13.3): provisional responses, the final answer, the 2xx kept alive until its
 * ACK (§13.3.1.4), CANCEL (§9.2: 487 for the INVITE), and then the confirmed dialog.
 */
export class ServerInviteSession extends InviteSession {
  readonly request: SipRequest;
  readonly source: SipTarget;
  readonly localTag = generateTag();
  /** Time the INVITE arrived (clock ms), for setup-time metrics. */
  readonly receivedAt: number;
  private st: ServerInviteState = 'Incoming';
  private retransmitter: Uas2xxRetransmitter | undefined;
  private final: SipResponse | undefined;
  private readonly tx: ServerTransaction<SipTarget>;

  constructor(host: SessionHost, tx: ServerTransaction<SipTarget>, request: SipRequest, source: SipTarget) {
    super(host);
    this.tx = tx;
    this.request = request;
    this.source = source;
    this.receivedAt = host.clock.now();
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

  /** Send a provisional response (180 Ringing, 183 Session Progress with early media...). */
  progress(status = 180, opts: ResponseOptions = {}): void {
    if (status < 101 || status > 199) throw new TypeError(`progress() takes 101-199, got ${status}`);
    if (this.st !== 'Incoming' && this.st !== 'Early') return;
    const res = this.build(status, opts, true);
    this.tx.respond(res);
    const made = this.host.dialogs.uasResponseSent(this.request, res);
    if (made.ok) this.dialog = made.dialog;
    this.st = 'Early';
  }

  /** Answer 2xx (RFC 3261 §13.3.1.4); the 2xx is re-sent until the ACK arrives. */
  accept(opts: ResponseOptions = {}, status = 200): void {
    if (status < 200 || status > 299) throw new TypeError(`accept() takes 2xx, got ${status}`);
    if (this.st !== 'Incoming' && this.st !== 'Early') throw new InvalidStateError(`cannot accept in state ${this.st}`);
    const res = this.build(status, opts, true);
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
  }

  /** Refuse with a final non-2xx response (486 Busy Here, 603 Decline, 488...). */
  reject(status: number, opts: ResponseOptions = {}): void {
    if (status < 300 || status > 699) throw new TypeError(`reject() takes 300-699, got ${status}`);
    if (this.st !== 'Incoming' && this.st !== 'Early') return;
    const res = this.build(status, opts, false);
    this.final = res;
    this.tx.respond(res);
    if (this.dialog) this.dialog.responseSent(this.request, res);
    this.st = 'Ended';
    this.end('rejected', String(status));
  }

  /**
   * @internal CANCEL matched this INVITE (RFC 3261 §9.2): when no final response was sent yet, answer the INVITE 487
   * and end the session; the UA core has already answered the CANCEL itself with 200.
   */
  cancel(): boolean {
    if (this.st !== 'Incoming' && this.st !== 'Early') return false;
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

  protected override onEnd(): void {
    this.retransmitter?.stop();
    this.retransmitter = undefined;
    this.st = 'Ended';
  }
}

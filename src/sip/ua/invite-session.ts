import { TypedEmitter } from '../../util';
import { createResponse, type SipRequest, type SipResponse } from '../message';
import { Uas2xxRetransmitter, type Dialog, type DialogManager, type DialogTerminationCause, type InDialogRequestOptions } from '../dialog';
import type { Clock } from '../../util';
import type { ClientTransactionHandlers, ServerTransaction } from '../transaction';
import type { SipTarget } from './types';

/** Why an INVITE session ended (feeds CDR hangup causes). */
export type SessionEndCause =
  | 'local-bye' // we sent BYE
  | 'remote-bye' // the peer sent BYE
  | 'canceled' // CANCEL before answer
  | 'rejected' // we answered non-2xx
  | 'failed' // UAC: non-2xx final
  | 'ack-timeout' // the ACK for our 2xx never came (RFC 3261 §13.3.1.4)
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
};

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
  /** Build a Via for a request leaving over `transport`. */
  viaFor(transport: SipTarget['transport']): string;
}

/**
 * Common part of UAS and UAC INVITE sessions: the dialog once it exists, in-dialog requests in both directions,
 * BYE, and the single `ended` notification.
 */
export abstract class InviteSession extends TypedEmitter<InviteSessionEvents> {
  dialog: Dialog | undefined;
  protected endedCause: SessionEndCause | undefined;
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

  /** End the session once: terminate the dialog, tell listeners, leave the UA's maps. */
  protected end(cause: SessionEndCause, detail?: string): void {
    if (this.endedCause !== undefined) return;
    this.endedCause = cause;
    this.stopReinviteRetransmitter();
    this.onEnd();
    if (this.dialog && this.dialog.state !== 'Terminated') this.dialog.terminate(dialogCauseOf(cause));
    this.host.sessionEnded(this);
    this.safeEmit('ended', cause, detail);
  }

  /** Subclass cleanup (timers). */
  protected onEnd(): void {}

  /**
   * Send a request inside the dialog (RFC 3261 §12.2.1.1). Returns false when there is no usable dialog.
   * 481 and 408 answers end the session (§12.2.1.2).
   */
  sendRequest(method: string, opts: InDialogRequestOptions = {}, handlers: Partial<ClientTransactionHandlers<SipTarget>> = {}): boolean {
    const dialog = this.dialog;
    if (!dialog || dialog.state === 'Terminated' || this.endedCause !== undefined) return false;
    const req = dialog.createRequest(method, {
      ...opts,
      via: opts.via ?? this.host.viaFor(this.transport),
      contact: opts.contact ?? this.host.contactFor(this.transport),
    });
    this.host.sendInDialog(dialog, req, {
      onProvisional: handlers.onProvisional,
      onFinal: (res, t) => {
        dialog.responseReceived(res);
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
    this.safeEmit('request', incoming);
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
      return 'rejected';
    case 'request-timeout':
      return 'requestTimeout';
    default:
      return 'local';
  }
}

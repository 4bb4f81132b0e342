import { createResponse, type SipRequest, type SipResponse } from '../message';
import { ServerTransaction, type ServerTransactionHost } from './server-transaction';
import type { SipTimerName } from './timer-config';
import type { TransportTarget } from './transport-target';

/**
 * RFC 3261 §17.2.1 INVITE server transaction, with the Accepted state of RFC 6026 §7.1.
 *
 * ```
 *                               |INVITE
 *                               |pass INV to TU
 *            INVITE             V send 100 if TU won't in 200 ms
 *            send response+-----------+
 *                +--------|           |--------+ 101-199 from TU
 *                |        |           |        | send response
 *                +------->|           |<-------+
 *                         | Proceeding|
 *                         |           |--------+ Transport Err.
 *                         |           |        | Inform TU
 *                         |           |------->+
 *                         +-----------+        |
 *            300-699 from TU |     |2xx from TU|
 *            send response   |     |send resp. |
 *                            |     +---------->+-----------+
 *                            |                 | Accepted  | INVITE: absorb
 *            INVITE          V   Timer G fires | 2xx from TU: send
 *            send response+-----------+ send resp +-----------+
 *                +--------|           |--------+       |Timer L
 *                |        | Completed |        |       V
 *                +------->|           |<-------+   Terminated
 *                         +-----------+
 *                            |     |
 *                        ACK |     | Timer H fires / Transport Err.: inform TU
 *                         -  |     +------------------> Terminated
 *                            V
 *                         +-----------+
 *                         | Confirmed | ACK, INVITE: absorb
 *                         +-----------+
 *                               | Timer I fires
 *                               V
 *                          Terminated
 * ```
 *
 * State x input -> next state + action:
 * - Proceeding x INVITE -> Proceeding: re-send the last provisional (a 100 Trying if none was sent yet).
 * - Proceeding x 1xx from TU -> Proceeding: send. x 2xx -> Accepted: send, start L. x 300-699 -> Completed: send,
 *   start G (UDP) and H.
 * - Completed x INVITE -> Completed: re-send the final. x ACK -> Confirmed: start I (T4 on UDP, zero on reliable).
 * - Confirmed x ACK|INVITE -> absorb. Accepted x INVITE -> absorb; x 2xx from TU -> send.
 * - Timer G -> re-send the final, double G up to T2. Timer H -> Terminated, inform TU. Timer I, L -> Terminated.
 */
export class InviteServerTransaction<T extends TransportTarget = TransportTarget> extends ServerTransaction<T> {
  readonly kind = 'ist' as const;

  constructor(host: ServerTransactionHost<T>, key: string, request: SipRequest, source: T, reliable: boolean) {
    super(host, key, request, source, reliable, 'Proceeding');
  }

  /**
   * RFC 3261 §17.2.1: "the server transaction MUST generate a 100 (Trying) response unless it knows that the TU will
   * generate a provisional or final response within 200 ms". A TU that answered inside `onRequest` pays nothing.
   */
  override delivered(): void {
    if (this.st !== 'Proceeding' || this.lastProvisional !== undefined) return;
    const delay = this.host.timers.tryingDelayMs;
    if (delay <= 0) this.sendTrying();
    else this.startShortTimer('TIMER_TRYING', delay);
  }

  respond(res: SipResponse): void {
    const status = this.checkStatus(res);
    switch (this.st) {
      case 'Proceeding':
        this.stopShortTimer(); // the 100 Trying delay, if pending
        if (status < 200) {
          // RFC 3261 §17.2.1: "Any provisional responses passed from the TU MUST be sent while in Proceeding".
          this.lastProvisional = res;
        } else if (status < 300) {
          // RFC 6026 §7.1: a 2xx moves to Accepted; Timer L (64*T1) keeps the transaction to absorb retransmitted
          // INVITEs while the TU retransmits the 2xx (RFC 3261 §13.3.1.4).
          this.lastFinal = res;
          this.lastProvisional = undefined; // never re-sent from here on; up to 64*T1 of retention saved
          this.st = 'Accepted';
          this.startLongTimer('TIMER_L', 64 * this.host.timers.T1);
        } else {
          // RFC 3261 §17.2.1: 300-699 -> Completed; Timer G (T1, UDP only) retransmits it, Timer H (64*T1) waits for the ACK.
          this.lastFinal = res;
          this.lastProvisional = undefined;
          this.st = 'Completed';
          if (!this.reliable) this.startShortTimer('TIMER_G', this.host.timers.T1);
          this.startLongTimer('TIMER_H', 64 * this.host.timers.T1);
        }
        this.transmitResponse(res, false);
        if (status >= 200) this.retainFinalWire();
        return;
      case 'Accepted':
        // RFC 6026 §8.7: "Any retransmission of the 2xx response passed from the TU to the transaction while in the
        // Accepted state MUST be passed to the transport layer for transmission."
        if (status >= 200 && status < 300) {
          this.lastFinal = res;
          this.transmitResponse(res, true);
          this.retainFinalWire();
          return;
        }
        throw this.invalid(res);
      default:
        throw this.invalid(res);
    }
  }

  receiveRequest(req: SipRequest, source: T): void {
    const stats = this.host.stats;
    if (req.method === 'ACK') {
      switch (this.st) {
        case 'Completed':
          // RFC 3261 §17.2.1: "If an ACK is received while the server transaction is in the 'Completed' state, the
          // server transaction MUST transition to the 'Confirmed' state. As Timer G is ignored in this state, any
          // retransmissions of the response will cease." Timer I = T4 absorbs ACK retransmissions (0 if reliable).
          this.stopShortTimer();
          this.stopLongTimer();
          this.st = 'Confirmed';
          if (this.reliable) this.terminate();
          else this.startLongTimer('TIMER_I', this.host.timers.T4);
          return;
        case 'Accepted':
          // An ACK for the 2xx that matched the INVITE transaction (RFC 2543 matching, or a client reusing the INVITE
          // branch): it belongs to the dialog, RFC 6026 §8.7 / RFC 3261 §13.3.1.4.
          this.host.ackToTu(req, source);
          return;
        default:
          // Confirmed: "any additional ACK messages that are received are absorbed". Proceeding: an ACK before any
          // final response acknowledges nothing.
          stats.absorbed++;
          return;
      }
    }
    stats.absorbed++;
    switch (this.st) {
      case 'Proceeding':
        // RFC 3261 §17.2.1: "If a request retransmission is received while in the 'Proceeding' state, the most recent
        // provisional response that was received from the TU MUST be passed to the transport layer for
        // retransmission." With none yet, the retransmission shows the client is waiting: answer 100 now.
        if (this.lastProvisional !== undefined) this.transmitResponse(this.lastProvisional, true);
        else {
          this.stopShortTimer();
          this.sendTrying();
        }
        return;
      case 'Completed':
        // RFC 3261 §17.2.1: "while in the 'Completed' state, if a request retransmission is received, the server
        // SHOULD pass the response to the transport for retransmission."
        this.retransmitFinal();
        return;
      default:
        // Confirmed, and Accepted (RFC 6026 §8.7: retransmitted INVITEs "MUST be absorbed ... MUST NOT be passed up").
        return;
    }
  }

  protected onTimer(name: SipTimerName): void {
    switch (name) {
      case 'TIMER_TRYING':
        if (this.st === 'Proceeding' && this.lastProvisional === undefined) this.sendTrying();
        return;
      case 'TIMER_G':
        // RFC 3261 §17.2.1: "the response is passed to the transport layer once more for retransmission, and timer G
        // is set to fire in MIN(2*T1, T2) seconds", doubling up to T2.
        if (this.st !== 'Completed') return;
        this.startShortTimer('TIMER_G', Math.min(this.interval * 2, this.host.timers.T2));
        this.retransmitFinal();
        return;
      case 'TIMER_H':
        // RFC 3261 §17.2.1: "If timer H fires while in the 'Completed' state, it implies that the ACK was never
        // received. ... the server transaction MUST transition to the 'Terminated' state, and MUST indicate to the TU
        // that a transaction failure has occurred."
        if (this.st !== 'Completed') return;
        if (this.enterTerminated()) {
          this.host.stats.timeouts++;
          this.host.serverFailed(this, 'timeout');
        }
        return;
      case 'TIMER_I':
        if (this.st === 'Confirmed') this.terminate();
        return;
      case 'TIMER_L':
        if (this.st === 'Accepted') this.terminate();
        return;
      default:
        return;
    }
  }

  /** RFC 3261 §8.2.6.1: 100 (Trying) without a To tag, copying any Timestamp of the request. */
  private sendTrying(): void {
    const timestamp = this.request.getHeader('Timestamp');
    const trying = createResponse(this.request, 100, 'Trying', timestamp === undefined ? undefined : { headers: [['Timestamp', timestamp]] });
    this.lastProvisional = trying;
    this.transmitResponse(trying, false);
  }
}

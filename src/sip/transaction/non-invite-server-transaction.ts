import type { SipRequest, SipResponse } from '../message';
import { ServerTransaction, type ServerTransactionHost } from './server-transaction';
import type { SipTimerName } from './timer-config';
import type { TransportTarget } from './transport-target';

/**
 * RFC 3261 §17.2.2 non-INVITE server transaction.
 *
 * ```
 *                           |Request received
 *                           |pass to TU
 *                           V
 *                     +-----------+
 *                     |           |
 *                     | Trying    |-------------+
 *                     |           |             |
 *                     +-----------+             |200-699 from TU
 *                           |                   |send response
 *                           |1xx from TU        |
 *                           |send response      |
 *                           |                   |
 *        Request            V      1xx from TU  |
 *        send response+-----------+send response|
 *            +--------|           |--------+    |
 *            |        | Proceeding|        |    |
 *            +------->|           |<-------+    |
 *     +<--------------|           |             |
 *     |Trnsprt Err    +-----------+             |
 *     |Inform TU            |                   |
 *     |                     |                   |
 *     |                     |200-699 from TU    |
 *     |                     |send response      |
 *     |  Request            V                   |
 *     |  send response+-----------+             |
 *     |      +--------|           |             |
 *     |      |        | Completed |<------------+
 *     |      +------->|           |
 *     +<--------------|           |
 *     |Trnsprt Err    +-----------+
 *     |Inform TU            |
 *     |                     |Timer J fires
 *     |                     |-
 *     |                     |
 *     |                     V
 *     |               +-----------+
 *     |               |           |
 *     +-------------->| Terminated|
 *                     |           |
 *                     +-----------+
 * ```
 *
 * State x input -> next state + action:
 * - Trying x request -> Trying: discard. Proceeding x request -> re-send the last provisional.
 *   Completed x request -> re-send the final.
 * - Trying|Proceeding x 1xx from TU -> Proceeding: send. x 200-699 from TU -> Completed: send, start J
 *   (64*T1 on UDP, zero on reliable transports).
 * - Timer J -> Terminated.
 */
export class NonInviteServerTransaction<T extends TransportTarget = TransportTarget> extends ServerTransaction<T> {
  readonly kind = 'nist' as const;

  constructor(host: ServerTransactionHost<T>, key: string, request: SipRequest, source: T, reliable: boolean) {
    super(host, key, request, source, reliable, 'Trying');
  }

  respond(res: SipResponse): void {
    const status = this.checkStatus(res);
    if (this.st !== 'Trying' && this.st !== 'Proceeding') throw this.invalid(res);
    if (status < 200) {
      this.st = 'Proceeding';
      this.lastProvisional = res;
      this.transmitResponse(res, false);
      return;
    }
    // RFC 3261 §17.2.2: "the server transaction MUST enter the 'Completed' state, and ... set Timer J to fire in 64*T1
    // seconds for unreliable transports, and zero seconds for reliable transports."
    this.lastFinal = res;
    this.lastProvisional = undefined; // never re-sent from here on; up to 64*T1 of retention saved
    this.st = 'Completed';
    if (!this.reliable) this.startLongTimer('TIMER_J', 64 * this.host.timers.T1);
    this.transmitResponse(res, false);
    if (this.reliable) this.terminate();
    else this.retainFinalWire();
  }

  receiveRequest(_req: SipRequest, _source: T): void {
    this.host.stats.absorbed++;
    switch (this.st) {
      case 'Proceeding':
        // RFC 3261 §17.2.2: "If a retransmission of the request is received while in the 'Proceeding' state, the most
        // recently sent provisional response MUST be passed to the transport layer for retransmission."
        if (this.lastProvisional !== undefined) this.transmitResponse(this.lastProvisional, true);
        return;
      case 'Completed':
        // RFC 3261 §17.2.2: "While in the 'Completed' state, the server transaction MUST pass the final response to
        // the transport layer for retransmission whenever a retransmission of the request is received."
        this.retransmitFinal();
        return;
      default:
        // Trying: "any further request retransmissions are discarded".
        return;
    }
  }

  protected onTimer(name: SipTimerName): void {
    if (name === 'TIMER_J' && this.st === 'Completed') this.terminate();
  }
}

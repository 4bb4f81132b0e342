import type { SipRequest, SipResponse } from '../message';
import { ClientTransaction } from './client-transaction';
import { createNon2xxAck } from './non2xx-ack';
import type { SipTimerName } from './timer-config';
import type { TransactionHost } from './transaction';
import type { ClientTransactionHandlers } from './transaction-user';
import type { TransportTarget } from './transport-target';

/**
 * RFC 3261 §17.1.1 INVITE client transaction, with the Accepted state of RFC 6026 §8.4.
 *
 * ```
 *                      |INVITE from TU
 *    Timer A fires     |INVITE sent             Timer B fires
 *    Reset A,          V                        or Transport Err.
 *    INVITE sent +-----------+                  inform TU
 *      +---------|           |---------------------------+
 *      |         |  Calling  |                           |
 *      +-------->|           |-----------+               |
 *  300-699       +-----------+ 2xx       |               |
 *  ACK sent         |  |       2xx to TU |               |
 *  resp. to TU      |  |1xx              |               |
 *  +----------------+  |1xx to TU        |               |
 *  |                   V                 |               |
 *  |  1xx to TU  +-----------+           |               |
 *  |  +----------|           |           |               |
 *  |  +--------->| Proceeding|---------->|               |
 *  |             +-----------+ 2xx       |               |
 *  |  300-699         |        2xx to TU |               |
 *  |  ACK sent,       |                  V               |
 *  |  resp. to TU     |            +-----------+         |
 *  |                  |            |  Accepted | 2xx to TU (retransmissions, forks)
 *  |                  |            +-----------+         |
 *  |  300-699         V                  |Timer M        |
 *  |  ACK sent  +-----------+            |               |
 *  |  +---------|           |            |               |
 *  |  +-------->| Completed |            |               |
 *  |            +-----------+            |               |
 *  |              Timer D fires          V               |
 *  +--------------------------------> Terminated <-------+
 * ```
 *
 * State x input -> next state + action:
 * - Calling x 1xx -> Proceeding: stop A and B, pass up.
 * - Calling|Proceeding x 2xx -> Accepted: stop A, start M = 64*T1, pass up (the TU ACKs the 2xx).
 * - Calling|Proceeding x 300-699 -> Completed: send ACK, start D, pass up.
 * - Completed x 300-699 -> Completed: re-send the ACK, absorb.
 * - Accepted x 2xx -> Accepted: pass up.
 * - Timer A (Calling, UDP only) -> retransmit, double A. Timer B (Calling) -> Terminated, timeout.
 * - Timer D (Completed), Timer M (Accepted) -> Terminated.
 */
export class InviteClientTransaction<T extends TransportTarget = TransportTarget> extends ClientTransaction<T> {
  readonly kind = 'ict' as const;
  /** The ACK for the first non-2xx final, re-sent unchanged for its retransmissions. */
  private ack: SipRequest | undefined;

  constructor(host: TransactionHost<T>, key: string, request: SipRequest, target: T, reliable: boolean, handlers: ClientTransactionHandlers<T>) {
    super(host, key, request, target, reliable, handlers, 'Calling');
  }

  /** RFC 3261 §17.1.1.2: send the INVITE; Timer A = T1 on unreliable transports only; Timer B = 64*T1 always. */
  start(): void {
    const t = this.host.timers;
    if (!this.reliable) this.startShortTimer('TIMER_A', t.T1);
    this.startLongTimer('TIMER_B', 64 * t.T1);
    this.transmitRequest(this.request, false);
  }

  receiveResponse(res: SipResponse): void {
    const status = res.status;
    switch (this.st) {
      case 'Calling':
      case 'Proceeding':
        if (status < 200) {
          // RFC 3261 §17.1.1.2: "In the Proceeding state, the client transaction SHOULD NOT retransmit the request
          // any longer." Timer B only guards the Calling state: a ringing INVITE is bounded by the TU (CANCEL, Expires).
          if (this.st === 'Calling') {
            this.stopShortTimer();
            this.stopLongTimer();
            this.st = 'Proceeding';
          }
          this.passProvisional(res);
        } else if (status < 300) {
          // RFC 6026 §8.4: a 2xx moves to Accepted, where later 2xx (retransmissions, other forks) still reach the TU.
          this.stopShortTimer();
          this.stopLongTimer();
          this.st = 'Accepted';
          this.startLongTimer('TIMER_M', 64 * this.host.timers.T1);
          this.passFinal(res);
        } else {
          // RFC 3261 §17.1.1.2: "any response with a status code between 300 and 699 MUST cause the client transaction
          // to transition to 'Completed' ... MUST generate an ACK request ... The response MUST be passed up to the TU".
          this.stopShortTimer();
          this.stopLongTimer();
          this.st = 'Completed';
          this.ack = createNon2xxAck(this.request, res);
          if (!this.reliable) this.startLongTimer('TIMER_D', this.host.timers.timerDUnreliableMs);
          this.transmitRequest(this.ack, false);
          this.passFinal(res);
          // Timer D is zero on reliable transports: no retransmitted final can arrive.
          if (this.reliable) this.terminate();
        }
        return;
      case 'Completed':
        // RFC 3261 §17.1.1.2: "Any retransmissions of the final response that are received while in the 'Completed'
        // state MUST cause the ACK to be re-passed to the transport layer for retransmission, but the newly received
        // response MUST NOT be passed up to the TU."
        this.host.stats.absorbed++;
        if (status >= 300 && this.ack !== undefined) this.transmitRequest(this.ack, true);
        return;
      case 'Accepted':
        // RFC 6026 §8.4: "Any 2xx responses ... received while in the 'Accepted' state MUST be passed up to the TU."
        if (status >= 200 && status < 300) this.passFinal(res);
        else this.host.stats.absorbed++;
        return;
      default:
        return;
    }
  }

  protected onTimer(name: SipTimerName): void {
    switch (name) {
      case 'TIMER_A':
        // RFC 3261 §17.1.1.2: "retransmit the request ... and reset the timer with a value of 2*T1" (doubling, uncapped).
        if (this.st !== 'Calling') return;
        this.startShortTimer('TIMER_A', this.interval * 2);
        this.transmitRequest(this.request, true);
        return;
      case 'TIMER_B':
        // RFC 3261 §17.1.1.2: "If the client transaction is still in the 'Calling' state when timer B fires, the
        // client transaction SHOULD inform the TU that a timeout has occurred."
        if (this.st === 'Calling') this.timedOut();
        return;
      case 'TIMER_D':
        if (this.st === 'Completed') this.terminate();
        return;
      case 'TIMER_M':
        if (this.st === 'Accepted') this.terminate();
        return;
      default:
        return;
    }
  }
}

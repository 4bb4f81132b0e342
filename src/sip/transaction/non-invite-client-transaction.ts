import type { SipRequest, SipResponse } from '../message';
import { ClientTransaction } from './client-transaction';
import type { SipTimerName } from './timer-config';
import type { TransactionHost } from './transaction';
import type { ClientTransactionHandlers } from './transaction-user';
import type { TransportTarget } from './transport-target';

/**
 * RFC 3261 §17.1.2 non-INVITE client transaction.
 *
 * ```
 *                          |Request from TU
 *                          |send request
 *      Timer E             V
 *      send request  +-----------+
 *          +---------|           |-------------------+
 *          |         |  Trying   |  Timer F          |
 *          +-------->|           |  or Transport Err.|
 *                    +-----------+  inform TU        |
 *       200-699         |  |                         |
 *       resp. to TU     |  |1xx                      |
 *       +---------------+  |resp. to TU              |
 *       |                  |                         |
 *       |   Timer E        V       Timer F           |
 *       |   send req +-----------+ or Transport Err. |
 *       |  +---------|           | inform TU         |
 *       |  |         |Proceeding |------------------>|
 *       |  +-------->|           |-----+             |
 *       |            +-----------+     |1xx          |
 *       |              |      ^        |resp to TU   |
 *       | 200-699      |      +--------+             |
 *       | resp. to TU  |                             |
 *       |              |                             |
 *       |              V                             |
 *       |            +-----------+                   |
 *       |            |           |                   |
 *       |            | Completed |                   |
 *       |            |           |                   |
 *       |            +-----------+                   |
 *       |              ^   |                         |
 *       |              |   | Timer K                 |
 *       +--------------+   | -                       |
 *                          |                         |
 *                          V                         |
 *    NOTE:           +-----------+                   |
 *                    |           |                   |
 *    transitions     | Terminated|<------------------+
 *    labeled with    |           |
 *    the event       +-----------+
 *    over the action
 *    to take
 * ```
 *
 * State x input -> next state + action:
 * - Trying x 1xx -> Proceeding: pass up. Proceeding x 1xx -> Proceeding: pass up.
 * - Trying|Proceeding x 200-699 -> Completed: stop E and F, start K (T4; zero on reliable transports), pass up.
 * - Completed x 200-699 -> Completed: absorb.
 * - Timer E (UDP only): retransmit; in Trying the interval doubles up to T2, in Proceeding it is T2.
 * - Timer F (Trying|Proceeding) -> Terminated, timeout. Timer K (Completed) -> Terminated.
 */
export class NonInviteClientTransaction<T extends TransportTarget = TransportTarget> extends ClientTransaction<T> {
  readonly kind = 'nict' as const;

  constructor(host: TransactionHost<T>, key: string, request: SipRequest, target: T, reliable: boolean, handlers: ClientTransactionHandlers<T>) {
    super(host, key, request, target, reliable, handlers, 'Trying');
  }

  /** RFC 3261 §17.1.2.2: send the request; Timer E = T1 on unreliable transports only; Timer F = 64*T1 always. */
  start(): void {
    const t = this.host.timers;
    if (!this.reliable) this.startShortTimer('TIMER_E', t.T1);
    this.startLongTimer('TIMER_F', 64 * t.T1);
    this.transmitRequest(this.request, false);
  }

  receiveResponse(res: SipResponse): void {
    switch (this.st) {
      case 'Trying':
      case 'Proceeding':
        if (res.status < 200) {
          this.st = 'Proceeding';
          this.passProvisional(res);
          return;
        }
        // RFC 3261 §17.1.2.2: a final response moves to Completed; Timer K = T4 absorbs retransmitted finals on
        // unreliable transports, and is zero on reliable ones.
        this.stopShortTimer();
        this.stopLongTimer();
        this.st = 'Completed';
        if (!this.reliable) this.startLongTimer('TIMER_K', this.host.timers.T4);
        this.passFinal(res);
        if (this.reliable) this.terminate();
        return;
      case 'Completed':
        this.host.stats.absorbed++;
        return;
      default:
        return;
    }
  }

  protected onTimer(name: SipTimerName): void {
    const t = this.host.timers;
    switch (name) {
      case 'TIMER_E':
        if (this.st === 'Trying') {
          // RFC 3261 §17.1.2.2: "reset the timer with a value of MIN(2*T1, T2)" and so on, doubling up to T2.
          this.startShortTimer('TIMER_E', Math.min(this.interval * 2, t.T2));
        } else if (this.st === 'Proceeding') {
          // RFC 3261 §17.1.2.2: "If Timer E fires while in the 'Proceeding' state ... reset with a value of T2".
          this.startShortTimer('TIMER_E', t.T2);
        } else {
          return;
        }
        this.transmitRequest(this.request, true);
        return;
      case 'TIMER_F':
        if (this.st === 'Trying' || this.st === 'Proceeding') this.timedOut();
        return;
      case 'TIMER_K':
        if (this.st === 'Completed') this.terminate();
        return;
      default:
        return;
    }
  }
}

import type { SipRequest, SipResponse } from '../message';
import { Transaction, type TransactionHost, type TransactionState } from './transaction';
import type { ClientTransactionHandlers } from './transaction-user';
import type { TransportTarget } from './transport-target';

/**
 * RFC 3261 §17.1: the client side. Sends the request to `target` (computed by the TU per RFC 3263), retransmits it on
 * unreliable transports, and passes responses up through the handlers given to `TransactionLayer.sendRequest`.
 */
export abstract class ClientTransaction<T extends TransportTarget = TransportTarget> extends Transaction<T> {
  /** Where the request (and, for INVITE, the ACK of a non-2xx) is sent: RFC 3261 §17.1.1.3 "same address, port, and transport". */
  readonly target: T;
  protected readonly handlers: ClientTransactionHandlers<T>;

  protected constructor(
    host: TransactionHost<T>,
    key: string,
    request: SipRequest,
    target: T,
    reliable: boolean,
    handlers: ClientTransactionHandlers<T>,
    initial: TransactionState,
  ) {
    super(host, key, request, reliable, initial);
    this.target = target;
    this.handlers = handlers;
  }

  /** @internal send the request for the first time and start the timers of the initial state. */
  abstract start(): void;

  /** @internal input: a response matched to this transaction (RFC 3261 §17.1.3). */
  abstract receiveResponse(res: SipResponse): void;

  protected override notifyTransportError(error: Error): void {
    const h = this.handlers;
    if (h.onTransportError === undefined) return;
    try {
      h.onTransportError(this, error);
    } catch (err) {
      this.host.callbackFailed(err);
    }
  }

  protected override terminated(): void {
    const h = this.handlers;
    if (h.onTerminated === undefined) return;
    try {
      h.onTerminated(this);
    } catch (err) {
      this.host.callbackFailed(err);
    }
  }

  protected passProvisional(res: SipResponse): void {
    const h = this.handlers;
    if (h.onProvisional === undefined) return;
    try {
      h.onProvisional(res, this);
    } catch (err) {
      this.host.callbackFailed(err);
    }
  }

  protected passFinal(res: SipResponse): void {
    try {
      this.handlers.onFinal(res, this);
    } catch (err) {
      this.host.callbackFailed(err);
    }
  }

  /** Timer B / Timer F: Terminated, then tell the TU (RFC 3261 §17.1.1.2, §17.1.2.2). */
  protected timedOut(): void {
    if (!this.enterTerminated()) return;
    this.host.stats.timeouts++;
    const h = this.handlers;
    if (h.onTimeout !== undefined) {
      try {
        h.onTimeout(this);
      } catch (err) {
        this.host.callbackFailed(err);
      }
    }
    this.terminated();
  }

  protected transmitRequest(msg: SipRequest, retransmission: boolean): void {
    if (retransmission) this.host.stats.retransmissions++;
    this.host.transmit(this, msg, this.target);
  }
}

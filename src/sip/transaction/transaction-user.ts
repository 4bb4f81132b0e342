import type { SipRequest, SipResponse } from '../message';
import type { ClientTransaction } from './client-transaction';
import type { ServerTransaction } from './server-transaction';
import type { TransportTarget } from './transport-target';

/** Why a transaction ended without a normal final exchange. */
export type TransactionFailureReason = 'timeout' | 'transport-error';

/**
 * The transaction user (UA core, proxy core) as seen from the transaction layer: the upward callbacks handed down at
 * construction (SIP.js `TransactionUser`, sipgo `OnRequest`). Callbacks run synchronously; an exception thrown by one
 * is counted (`stats.callbackErrors`) and never disturbs the state machine.
 */
export interface TransactionUser<T extends TransportTarget = TransportTarget> {
  /**
   * A request that matched no server transaction (RFC 3261 §17.2.3): a server transaction was created for it and the
   * TU must answer through `tx.respond()`. CANCEL arrives here too (it is its own transaction); find the INVITE it
   * cancels with `TransactionLayer.findInviteServerTransaction()` (RFC 3261 §9.2).
   */
  onRequest(tx: ServerTransaction<T>, req: SipRequest, source: T): void;
  /**
   * An ACK that matched no INVITE server transaction: the ACK for a 2xx, which RFC 3261 §17.2.1 / RFC 6026 §8.7 leave
   * to the TU (it belongs to the dialog, not the transaction).
   */
  onAck(req: SipRequest, source: T): void;
  /**
   * A response that matched no client transaction (RFC 3261 §17.1.3 / §18.1.2). A retransmitted 2xx for an INVITE whose
   * client transaction is gone arrives here so the TU can send its ACK again (RFC 3261 §13.2.2.4).
   */
  onStrayResponse(res: SipResponse, source: T): void;
  /**
   * A server transaction failed: Timer H fired (the ACK for a non-2xx final never came, RFC 3261 §17.2.1) or the
   * transport rejected a response (RFC 3261 §17.2.4). The transaction is already Terminated.
   */
  onTransactionFailure?(tx: ServerTransaction<T>, reason: TransactionFailureReason, error?: Error): void;
}

/**
 * Per-request callbacks of a client transaction (RFC 3261 §17.1: "the client transaction ... passes responses up to
 * the TU"). Every callback gets the transaction so one handler object can serve many requests.
 */
export interface ClientTransactionHandlers<T extends TransportTarget = TransportTarget> {
  /** 1xx responses (RFC 3261 §17.1.1.2, §17.1.2.2). */
  onProvisional?(res: SipResponse, tx: ClientTransaction<T>): void;
  /**
   * Final responses. For INVITE every 2xx is passed up, including retransmissions and 2xx from other forks while the
   * transaction is Accepted (RFC 6026 §8.4): the TU sends the ACK for 2xx itself. A non-2xx final is passed up once;
   * its retransmissions are absorbed and re-ACKed by the transaction (RFC 3261 §17.1.1.2).
   */
  onFinal(res: SipResponse, tx: ClientTransaction<T>): void;
  /** Timer B or Timer F fired without a final response: treat as 408 (RFC 3261 §8.1.3.1). */
  onTimeout?(tx: ClientTransaction<T>): void;
  /** The transport rejected the request (or the ACK): treat as 503 (RFC 3261 §8.1.3.1, §17.1.4). */
  onTransportError?(tx: ClientTransaction<T>, error: Error): void;
  /** The transaction reached Terminated for any reason (always the last callback). */
  onTerminated?(tx: ClientTransaction<T>): void;
}

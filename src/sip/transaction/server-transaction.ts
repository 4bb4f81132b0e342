import { InvalidStateError } from '../../util';
import type { SipRequest, SipResponse } from '../message';
import { Transaction, type TransactionHost, type TransactionState } from './transaction';
import type { TransactionFailureReason } from './transaction-user';
import type { TransportTarget } from './transport-target';

/** What a server transaction needs beyond the common host: the TU's failure and ACK callbacks. */
export interface ServerTransactionHost<T extends TransportTarget = TransportTarget> extends TransactionHost<T> {
  serverFailed(tx: ServerTransaction<T>, reason: TransactionFailureReason, error?: Error): void;
  /** An ACK for a 2xx matched the transaction (RFC 2543 matching, or a UA reusing the INVITE branch): the TU's. */
  ackToTu(req: SipRequest, source: T): void;
}

/**
 * RFC 3261 §17.2: the server side. Created by the layer for a request that matched no transaction; the TU answers
 * through `respond()`, and the transaction absorbs request retransmissions by re-sending its last response.
 */
export abstract class ServerTransaction<T extends TransportTarget = TransportTarget> extends Transaction<T> {
  /** Where the request came from (the transport's view: the packet source, or the connection). */
  readonly source: T;
  /**
   * Where responses go. Defaults to `source`; the layer above may set it (RFC 3261 §18.2.2: maddr, received, rport,
   * or the connection the request arrived on) before responding.
   */
  responseTarget: T;
  /** The last provisional response sent (re-sent for request retransmissions in Proceeding). */
  protected lastProvisional: SipResponse | undefined;
  /** The final response sent, if any. */
  protected lastFinal: SipResponse | undefined;
  protected declare readonly host: ServerTransactionHost<T>;

  protected constructor(host: ServerTransactionHost<T>, key: string, request: SipRequest, source: T, reliable: boolean, initial: TransactionState) {
    super(host, key, request, reliable, initial);
    this.source = source;
    this.responseTarget = source;
  }

  /** The most recent response sent (final if any, else provisional). */
  get lastResponse(): SipResponse | undefined {
    return this.lastFinal ?? this.lastProvisional;
  }

  /**
   * Send a response from the TU. Throws TypeError for a status outside 100-699 and InvalidStateError when the
   * transaction can no longer carry it (a second final, or after Terminated).
   */
  abstract respond(res: SipResponse): void;

  /** @internal input: a retransmission of the request, or (INVITE) an ACK, matched to this transaction. */
  abstract receiveRequest(req: SipRequest, source: T): void;

  /** @internal the TU has seen the request; start whatever waits on its answer. */
  delivered(): void {}

  protected override notifyTransportError(error: Error): void {
    this.host.serverFailed(this, 'transport-error', error);
  }

  protected transmitResponse(res: SipResponse, retransmission: boolean): void {
    if (retransmission) this.host.stats.retransmissions++;
    this.host.transmit(this, res, this.responseTarget);
  }

  protected checkStatus(res: SipResponse): number {
    const status = res.status;
    if (!(status >= 100 && status <= 699)) throw new TypeError(`response status ${status} outside 100-699`);
    return status;
  }

  protected invalid(res: SipResponse): InvalidStateError {
    return new InvalidStateError(`cannot send ${res.status} in state ${this.st} of ${this.request.method} server transaction`);
  }
}

import { InvalidStateError } from '../../util';
import { parseMessage, type SipRequest, type SipResponse } from '../message';
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
  /** The final response sent, while it is still held as an object (see `retainFinalWire`). */
  private finalRes: SipResponse | undefined = undefined;
  /** The final response's bytes as sent, as a latin1 string, once the object is dropped. */
  private finalWire: string | undefined = undefined;
  private finalCode = 0;
  private finalTag: string | undefined = undefined;
  protected declare readonly host: ServerTransactionHost<T>;

  protected constructor(host: ServerTransactionHost<T>, key: string, request: SipRequest, source: T, reliable: boolean, initial: TransactionState) {
    super(host, key, request, reliable, initial);
    this.source = source;
    this.responseTarget = source;
  }

  /**
   * The most recent response sent (final if any, else provisional). Once the transaction keeps only the final
   * response's bytes, this parses them again on each access (a fresh, equal object).
   */
  get lastResponse(): SipResponse | undefined {
    return this.lastFinal ?? this.lastProvisional;
  }

  /** Status of the final response sent; 0 before it. */
  get finalStatus(): number {
    return this.finalCode;
  }

  /** To tag of the final response sent (RFC 3261 §17.2.3 matches an RFC 2543 ACK on it); undefined before it. */
  get finalToTag(): string | undefined {
    return this.finalTag;
  }

  /** The final response sent, if any (restored from its bytes once only those are kept). */
  protected get lastFinal(): SipResponse | undefined {
    const res = this.finalRes;
    if (res !== undefined || this.finalWire === undefined) return res;
    const parsed = parseMessage(Buffer.from(this.finalWire, 'latin1'), { datagram: true });
    if (parsed.ok && !parsed.msg.isRequest) return parsed.msg;
    // Bytes the TU made that do not parse (a malformed header it added): nothing to retransmit from.
    this.host.stats.dropped++;
    return undefined;
  }

  protected set lastFinal(res: SipResponse | undefined) {
    this.finalRes = res;
    this.finalWire = undefined;
    this.finalCode = res === undefined ? 0 : res.status;
    this.finalTag = res === undefined ? undefined : toTagOf(res);
  }

  /**
   * RFC 3261 §17.2.1 / §17.2.2 / RFC 6026 §7.1: after the final response, the transaction only absorbs
   * retransmissions (re-sending that response) until Timer J / H / L. For that it needs its key, the response's
   * bytes and the target, not the parsed request and response: those go (a BYE's server transaction then holds
   * about a tenth of the memory for its 32 s). The bytes are the ones the transport just sent (serialize() caches
   * them), kept as one flat latin1 string; the request stays readable through `request`.
   */
  protected retainFinalWire(): void {
    if (this.st === 'Terminated') return;
    const res = this.finalRes;
    if (res === undefined) return;
    this.finalWire = res.serializeLatin1();
    this.finalRes = undefined;
    this.retainRequestText();
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

  /** Send the final response again (a request retransmission or Timer G), from the object or its retained bytes. */
  protected retransmitFinal(): void {
    const res = this.lastFinal;
    if (res !== undefined) this.transmitResponse(res, true);
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

function toTagOf(res: SipResponse): string | undefined {
  try {
    return res.toTag;
  } catch {
    return undefined; // an unreadable To matches no ACK
  }
}

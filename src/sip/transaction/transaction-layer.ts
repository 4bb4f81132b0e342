import { InvalidStateError, TypedEmitter, type Clock } from '../../util';
import type { SipRequest, SipResponse } from '../message';
import type { ClientTransaction } from './client-transaction';
import { InviteClientTransaction } from './invite-client-transaction';
import { InviteServerTransaction } from './invite-server-transaction';
import { NonInviteClientTransaction } from './non-invite-client-transaction';
import { NonInviteServerTransaction } from './non-invite-server-transaction';
import type { ServerTransaction, ServerTransactionHost } from './server-transaction';
import { DEFAULT_TIMER_CONFIG, type TimerConfig } from './timer-config';
import { TimerWheel } from './timer-wheel';
import type { Transaction } from './transaction';
import { clientTransactionKey, isRfc3261Branch, legacyServerTransactionKey, serverTransactionKey } from './transaction-keys';
import { createTransactionStats, type TransactionStats } from './transaction-stats';
import type { ClientTransactionHandlers, TransactionFailureReason, TransactionUser } from './transaction-user';
import { isReliableTransport, type TransportTarget } from './transport-target';

/** Hands a message to the transport. A returned promise rejects on transport error (RFC 3261 §17.1.4, §17.2.4). */
export type TransactionSend<T extends TransportTarget> = (msg: SipRequest | SipResponse, target: T) => void | Promise<void>;

export interface TransactionLayerOptions<T extends TransportTarget = TransportTarget> {
  clock: Clock;
  send: TransactionSend<T>;
  tu: TransactionUser<T>;
  /** RFC 3261 §17.1.1.1 timer base values (ms); defaults 500 / 4000 / 5000. */
  T1?: number;
  T2?: number;
  T4?: number;
  /** Delay before the INVITE server transaction answers 100 Trying on its own (RFC 3261 §17.2.1); default 200 ms. */
  tryingDelayMs?: number;
  /** Timer D on unreliable transports (RFC 3261 §17.1.1.2: at least 32 s); default 32000. */
  timerDUnreliableMs?: number;
  /** Share a wheel with other layers (dialogs); otherwise the layer builds its own over `clock`. */
  wheel?: TimerWheel;
  /** Granularity of the layer's own wheel; default 100 ms. */
  wheelTickMs?: number;
  /**
   * Copy a request's source before a server transaction keeps it. The UDP transport reuses one source object per
   * datagram (valid only during the receive call); default: a shallow copy.
   */
  cloneSource?: (source: T) => T;
  /** Whether a target is a reliable transport; default: anything but UDP. */
  isReliable?: (target: T) => boolean;
  /** A TU callback threw; default: the project's listener-error hook (a process warning). */
  onCallbackError?: (err: unknown) => void;
}

/**
 * RFC 3261 §17: the transaction layer. Matches incoming requests to server transactions (§17.2.3) and responses to
 * client transactions (§17.1.3), creates transactions, and runs their timers: retransmission timers on the clock,
 * long timers on one coarse wheel. Network input never throws out of it: a message whose Via or CSeq cannot be read
 * is dropped and counted.
 *
 * Terminated transactions leave the maps at once; `size` is 0 when nothing is in progress.
 */
export class TransactionLayer<T extends TransportTarget = TransportTarget> {
  /** Counters for observability (plain numbers, read at scrape time). */
  readonly stats: TransactionStats = createTransactionStats();
  readonly timers: TimerConfig;
  readonly clock: Clock;
  readonly wheel: TimerWheel;
  /** The TU; settable after construction to break the wiring cycle TU <-> layer. */
  tu: TransactionUser<T>;

  private readonly sendFn: TransactionSend<T>;
  private readonly reliable: (target: T) => boolean;
  private readonly cloneSource: (source: T) => T;
  private readonly ownsWheel: boolean;
  private readonly onCallbackError: ((err: unknown) => void) | undefined;
  private readonly clients = new Map<string, ClientTransaction<T>>();
  private readonly servers = new Map<string, ServerTransaction<T>>();
  private closed = false;
  private readonly host: ServerTransactionHost<T>;

  constructor(opts: TransactionLayerOptions<T>) {
    this.clock = opts.clock;
    this.sendFn = opts.send;
    this.tu = opts.tu;
    const d = DEFAULT_TIMER_CONFIG;
    this.timers = {
      T1: positive(opts.T1 ?? d.T1, 'T1'),
      T2: positive(opts.T2 ?? d.T2, 'T2'),
      T4: positive(opts.T4 ?? d.T4, 'T4'),
      tryingDelayMs: opts.tryingDelayMs ?? d.tryingDelayMs,
      timerDUnreliableMs: opts.timerDUnreliableMs ?? d.timerDUnreliableMs,
    };
    this.ownsWheel = opts.wheel === undefined;
    this.wheel = opts.wheel ?? new TimerWheel(opts.clock, { tickMs: opts.wheelTickMs });
    this.reliable = opts.isReliable ?? isReliableTransport;
    this.cloneSource = opts.cloneSource ?? shallowCopy;
    this.onCallbackError = opts.onCallbackError;
    // One host object per layer: the transactions' view of it, kept off the layer's public surface.
    this.host = {
      clock: this.clock,
      wheel: this.wheel,
      timers: this.timers,
      stats: this.stats,
      transmit: (tx, msg, target) => this.transmit(tx, msg, target),
      removed: (tx) => this.removed(tx),
      callbackFailed: (err) => this.callbackFailed(err),
      serverFailed: (tx, reason, error) => this.serverFailed(tx, reason, error),
      ackToTu: (req, source) => this.ackToTu(req, source),
    };
  }

  /** Transactions in progress, all kinds. */
  get size(): number {
    return this.clients.size + this.servers.size;
  }

  /** Input from the transport: a parsed message and where it came from. Never throws. */
  receive(msg: SipRequest | SipResponse, source: T): void {
    if (msg.isRequest) this.receiveRequest(msg as SipRequest, source);
    else this.receiveResponse(msg as SipResponse, source);
  }

  /**
   * RFC 3261 §17.2.3: match a request to a server transaction. A match is a retransmission (or the ACK of a non-2xx)
   * and stays inside the transaction; an unmatched ACK goes to `tu.onAck`; any other unmatched request creates a
   * server transaction and goes to `tu.onRequest`.
   */
  receiveRequest(req: SipRequest, source: T): void {
    if (this.closed) return;
    let key: string;
    let tx: ServerTransaction<T> | undefined;
    let method: string;
    try {
      method = req.method;
      const via = req.via;
      const branch = via.branch;
      if (isRfc3261Branch(branch)) {
        key = serverTransactionKey(branch, via, method);
        tx = this.servers.get(key);
      } else if (method === 'ACK') {
        key = '';
        tx = this.matchLegacyAck(req);
      } else {
        key = legacyServerTransactionKey(req, method, req.toTag);
        tx = this.servers.get(key);
      }
    } catch {
      this.stats.dropped++;
      return;
    }
    if (tx !== undefined) {
      tx.receiveRequest(req, source);
      return;
    }
    if (method === 'ACK') {
      this.ackToTu(req, source);
      return;
    }
    const reliable = this.reliable(source);
    const kept = this.cloneSource(source);
    let created: ServerTransaction<T>;
    if (method === 'INVITE') {
      created = new InviteServerTransaction<T>(this.host, key, req, kept, reliable);
      this.stats.inviteServer++;
    } else {
      created = new NonInviteServerTransaction<T>(this.host, key, req, kept, reliable);
      this.stats.nonInviteServer++;
    }
    this.stats.created++;
    this.servers.set(key, created);
    try {
      this.tu.onRequest(created, req, kept);
    } catch (err) {
      this.callbackFailed(err);
    }
    if (created.state !== 'Terminated') created.delivered();
  }

  /**
   * RFC 3261 §17.1.3: match a response to a client transaction by top Via branch and CSeq method. Anything unmatched
   * (a 2xx retransmitted after the INVITE transaction ended, a late response) goes to `tu.onStrayResponse`.
   */
  receiveResponse(res: SipResponse, source: T): void {
    if (this.closed) return;
    let tx: ClientTransaction<T> | undefined;
    try {
      const status = res.status;
      if (!(status >= 100 && status <= 699)) {
        this.stats.dropped++;
        return;
      }
      const branch = res.via.branch;
      tx = branch === undefined ? undefined : this.clients.get(clientTransactionKey(branch, res.cseq.method));
    } catch {
      this.stats.dropped++;
      return;
    }
    if (tx !== undefined) {
      tx.receiveResponse(res);
      return;
    }
    this.stats.strayResponses++;
    try {
      this.tu.onStrayResponse(res, source);
    } catch (err) {
      this.callbackFailed(err);
    }
  }

  /**
   * Start a client transaction: INVITE (RFC 3261 §17.1.1) or non-INVITE (§17.1.2), sending `req` to `target`. The top
   * Via must already carry an RFC 3261 branch (the UA's job, §8.1.1.7). Handlers run on later input only, never
   * inside this call. Throws TypeError for an ACK (not a transaction: use `sendStateless`) or a missing branch, and
   * InvalidStateError for a branch already in use or a closed layer.
   */
  sendRequest(req: SipRequest, target: T, handlers: ClientTransactionHandlers<T>): ClientTransaction<T> {
    if (this.closed) throw new InvalidStateError('transaction layer closed');
    const method = req.method;
    if (method === 'ACK') throw new TypeError('ACK is not sent in a client transaction (RFC 3261 §17.1); use sendStateless()');
    let branch: string | undefined;
    try {
      branch = req.via.branch;
    } catch {
      throw new TypeError('request has no readable Via');
    }
    if (!isRfc3261Branch(branch)) throw new TypeError(`top Via branch must start with the magic cookie (RFC 3261 §8.1.1.7), got ${String(branch)}`);
    const key = clientTransactionKey(branch, method);
    if (this.clients.has(key)) throw new InvalidStateError(`a ${method} client transaction with branch ${branch} is in progress`);
    const reliable = this.reliable(target);
    let tx: ClientTransaction<T>;
    if (method === 'INVITE') {
      tx = new InviteClientTransaction<T>(this.host, key, req, target, reliable, handlers);
      this.stats.inviteClient++;
    } else {
      tx = new NonInviteClientTransaction<T>(this.host, key, req, target, reliable, handlers);
      this.stats.nonInviteClient++;
    }
    this.stats.created++;
    this.clients.set(key, tx);
    tx.start();
    return tx;
  }

  /**
   * Send outside any transaction: the ACK for a 2xx (RFC 3261 §13.2.2.4), a 2xx retransmitted by the UAS core after its
   * INVITE transaction ended, stateless replies. Resolves when handed to the transport; rejects on transport error.
   */
  async sendStateless(msg: SipRequest | SipResponse, target: T): Promise<void> {
    if (this.closed) throw new InvalidStateError('transaction layer closed');
    await this.sendFn(msg, target);
  }

  /**
   * RFC 3261 §9.2: the INVITE server transaction a CANCEL targets: the one the CANCEL would match by §17.2.3 were its
   * method INVITE (same branch and sent-by; or, for RFC 2543 peers, same Request-URI, tags, Call-ID, CSeq number and
   * top Via). Undefined if none (the UAS then answers the CANCEL 481).
   */
  findInviteServerTransaction(cancel: SipRequest): InviteServerTransaction<T> | undefined {
    let tx: ServerTransaction<T> | undefined;
    try {
      const via = cancel.via;
      const branch = via.branch;
      tx = this.servers.get(isRfc3261Branch(branch) ? serverTransactionKey(branch, via, 'INVITE') : legacyServerTransactionKey(cancel, 'INVITE', cancel.toTag));
    } catch {
      return undefined;
    }
    return tx instanceof InviteServerTransaction ? tx : undefined;
  }

  /** The client transaction for a branch and method, if in progress (e.g. the INVITE a CANCEL is about). */
  findClientTransaction(branch: string, method: string): ClientTransaction<T> | undefined {
    return this.clients.get(clientTransactionKey(branch, method));
  }

  /**
   * Terminate every transaction (their `onTerminated` handlers run) and stop the timers. Further input is dropped and
   * `sendRequest` throws. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const tx of Array.from(this.clients.values())) tx.terminate();
    for (const tx of Array.from(this.servers.values())) tx.terminate();
    if (this.ownsWheel) this.wheel.clear();
  }

  /**
   * RFC 3261 §17.2.3 for an ACK without the magic cookie: it matches the INVITE transaction with the same Request-URI,
   * From tag, Call-ID, CSeq number and top Via, "and the To tag of the ACK matches the To tag of the response sent by
   * the server transaction". A re-INVITE already had that To tag; an initial INVITE had none.
   */
  private matchLegacyAck(ack: SipRequest): ServerTransaction<T> | undefined {
    const toTag = ack.toTag;
    let tx = toTag === undefined ? undefined : this.servers.get(legacyServerTransactionKey(ack, 'INVITE', toTag));
    if (tx === undefined) tx = this.servers.get(legacyServerTransactionKey(ack, 'INVITE', undefined));
    if (tx === undefined) return undefined;
    return tx.finalStatus >= 200 && tx.finalToTag === toTag ? tx : undefined;
  }

  private transmit(tx: Transaction<T>, msg: SipRequest | SipResponse, target: T): void {
    let result: void | Promise<void>;
    try {
      result = this.sendFn(msg, target);
    } catch (err) {
      // Deferred, so a failure never re-enters the state machine that is sending (nor the caller of sendRequest).
      queueMicrotask(() => tx.transportFailed(err));
      return;
    }
    // A closure per asynchronous send rather than one bound handler kept by every transaction for its lifetime.
    if (result !== undefined && result !== null && typeof result.then === 'function') result.then(undefined, (err: unknown) => tx.transportFailed(err));
  }

  private removed(tx: Transaction<T>): void {
    const s = this.stats;
    switch (tx.kind) {
      case 'ict':
        s.inviteClient--;
        break;
      case 'nict':
        s.nonInviteClient--;
        break;
      case 'ist':
        s.inviteServer--;
        break;
      case 'nist':
        s.nonInviteServer--;
        break;
    }
    const map: Map<string, Transaction<T>> = tx.kind === 'ict' || tx.kind === 'nict' ? this.clients : this.servers;
    if (map.get(tx.key) === tx) map.delete(tx.key);
  }

  private serverFailed(tx: ServerTransaction<T>, reason: TransactionFailureReason, error?: Error): void {
    const cb = this.tu.onTransactionFailure;
    if (cb === undefined) return;
    try {
      cb.call(this.tu, tx, reason, error);
    } catch (err) {
      this.callbackFailed(err);
    }
  }

  private ackToTu(req: SipRequest, source: T): void {
    this.stats.unmatchedAcks++;
    try {
      this.tu.onAck(req, source);
    } catch (err) {
      this.callbackFailed(err);
    }
  }

  private callbackFailed(err: unknown): void {
    this.stats.callbackErrors++;
    if (this.onCallbackError !== undefined) this.onCallbackError(err);
    else TypedEmitter.onListenerError('transaction-user', err);
  }
}

function shallowCopy<T extends TransportTarget>(source: T): T {
  return { ...source };
}

function positive(v: number, name: string): number {
  if (!(v > 0) || !Number.isFinite(v)) throw new TypeError(`${name} must be a positive number of milliseconds`);
  return v;
}

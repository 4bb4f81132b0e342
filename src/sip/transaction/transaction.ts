import type { Clock, TimerHandle } from '../../util';
import { parseMessage, type SipRequest, type SipResponse } from '../message';
import type { SipTimerName, TimerConfig } from './timer-config';
import type { TimerWheel, WheelEntry } from './timer-wheel';
import type { TransactionStats } from './transaction-stats';
import type { TransportTarget } from './transport-target';

/** ict / nict / ist / nist: RFC 3261 §17.1.1, §17.1.2, §17.2.1, §17.2.2. */
export type TransactionKind = 'ict' | 'nict' | 'ist' | 'nist';

/**
 * RFC 3261 §17 states, plus Accepted (RFC 6026 §7.1). INVITE client: Calling, Proceeding, Accepted, Completed,
 * Terminated. Non-INVITE client: Trying, Proceeding, Completed, Terminated. INVITE server: Proceeding, Accepted,
 * Completed, Confirmed, Terminated. Non-INVITE server: Trying, Proceeding, Completed, Terminated.
 */
export type TransactionState = 'Calling' | 'Trying' | 'Proceeding' | 'Completed' | 'Confirmed' | 'Accepted' | 'Terminated';

/** What a transaction needs from the layer that owns it (implemented by TransactionLayer). */
export interface TransactionHost<T extends TransportTarget = TransportTarget> {
  readonly clock: Clock;
  readonly wheel: TimerWheel;
  readonly timers: TimerConfig;
  readonly stats: TransactionStats;
  /** Hand a message to the transport; failures come back through `tx.transportFailed`. */
  transmit(tx: Transaction<T>, msg: SipRequest | SipResponse, target: T): void;
  /** The transaction reached Terminated: forget it now. */
  removed(tx: Transaction<T>): void;
  /** A TU callback threw. */
  callbackFailed(err: unknown): void;
}

const NO_TICK = -1;

/**
 * Common machinery of the four state machines: one short retransmission timer on the clock (A, E, G, or the 100
 * Trying delay) and one long timer on the shared wheel (B, D, F, H, I, J, K, L, M). RFC 3261 §17 never needs two of
 * either kind at once, so each transaction carries exactly two slots and no per-timer closures.
 */
export abstract class Transaction<T extends TransportTarget = TransportTarget> implements WheelEntry {
  abstract readonly kind: TransactionKind;
  /** Key in the layer's transaction map (RFC 3261 §17.1.3 / §17.2.3 matching). */
  readonly key: string;
  /** RFC 3261 §17: timers A/E/G run and D/I/J/K wait only on unreliable transports. */
  readonly reliable: boolean;

  /** @internal wheel bookkeeping */
  wheelTick = NO_TICK;
  /** @internal wheel bookkeeping */
  wheelIndex = -1;

  protected st: TransactionState;
  protected readonly host: TransactionHost<T>;
  private longTimer: SipTimerName | undefined;
  private shortHandle: TimerHandle | undefined;
  private shortTimer: SipTimerName | undefined;
  /** Current interval of the retransmission timer (doubles per RFC 3261 §17.1.1.2 / §17.1.2.2 / §17.2.1). */
  protected interval = 0;
  /** Bound on first use: a transaction that never runs a short timer (most non-INVITE servers) never pays for it. */
  private shortFired: (() => void) | undefined = undefined;
  /** The request, or undefined once only its text is retained (see `retainRequestText`). */
  private req: SipRequest | undefined;
  private reqText: string | undefined = undefined;

  protected constructor(host: TransactionHost<T>, key: string, request: SipRequest, reliable: boolean, initial: TransactionState) {
    this.host = host;
    this.key = key;
    this.req = request;
    this.reliable = reliable;
    this.st = initial;
  }

  /**
   * The request that created the transaction. Once a server transaction has sent its final response it keeps the
   * request as received text only, and this parses it again on each access: a fresh, equal object (read it, do not
   * keep it for identity).
   */
  get request(): SipRequest {
    const r = this.req;
    if (r !== undefined) return r;
    const parsed = parseMessage(Buffer.from(this.reqText as string, 'latin1'), { datagram: true });
    // The text is bytes that parsed before, unchanged: parsing them again cannot fail.
    if (!parsed.ok || !parsed.msg.isRequest) throw new Error('retained request text no longer parses');
    return parsed.msg;
  }

  /**
   * Drop the parsed request, keeping the bytes it was received as (one flat string; usually the parser's own text).
   * Only an unmodified parsed request is dropped: anything else stays as it is.
   */
  protected retainRequestText(): void {
    const r = this.req;
    if (r === undefined) return;
    const text = r.receivedText();
    if (text === undefined) return;
    this.reqText = text;
    this.req = undefined;
  }

  /** Current state. */
  get state(): TransactionState {
    return this.st;
  }

  /** RFC 3261 §17: the INVITE / non-INVITE split. */
  get isInvite(): boolean {
    return this.kind === 'ict' || this.kind === 'ist';
  }

  /** Call-ID of the request (for logging correlation). */
  get callId(): string {
    return this.request.callId;
  }

  /**
   * Move to Terminated now, without notifying the TU: the TU gave up on the transaction (RFC 3261 §9.1: no final
   * response 64*T1 after CANCEL) or the layer is shutting down. Idempotent.
   */
  terminate(): void {
    if (this.enterTerminated()) this.terminated();
  }

  /** @internal a send failed (synchronously or through a rejected promise). RFC 3261 §17.1.4 / §17.2.4. */
  transportFailed(err: unknown): void {
    if (!this.enterTerminated()) return;
    this.host.stats.transportErrors++;
    this.notifyTransportError(err instanceof Error ? err : new Error(String(err)));
    this.terminated();
  }

  /**
   * Stop every timer and leave the layer's maps at once (no leak, RFC 3261 §17.1.1.2 "the client transaction MUST be
   * destroyed the instant it enters the Terminated state"). Returns false if already Terminated. The caller then
   * notifies the TU and finally runs `terminated()`.
   */
  protected enterTerminated(): boolean {
    if (this.st === 'Terminated') return false;
    this.st = 'Terminated';
    this.stopShortTimer();
    this.stopLongTimer();
    this.host.removed(this);
    return true;
  }

  /** @internal */
  onWheelTimer(): void {
    const name = this.longTimer;
    this.longTimer = undefined;
    if (name !== undefined && this.st !== 'Terminated') this.onTimer(name);
  }

  /** Input: a timer fired. */
  protected abstract onTimer(name: SipTimerName): void;
  /** Tell the TU about a transport failure (the transaction is already Terminated). */
  protected abstract notifyTransportError(error: Error): void;
  /** Hook run once on reaching Terminated. */
  protected terminated(): void {}

  protected startShortTimer(name: SipTimerName, ms: number): void {
    if (this.shortHandle !== undefined) this.host.clock.clearTimeout(this.shortHandle);
    this.shortTimer = name;
    this.interval = ms;
    this.shortHandle = this.host.clock.setTimeout((this.shortFired ??= () => this.onShortTimer()), ms);
  }

  private onShortTimer(): void {
    this.shortHandle = undefined;
    const name = this.shortTimer;
    this.shortTimer = undefined;
    if (name !== undefined && this.st !== 'Terminated') this.onTimer(name);
  }

  protected stopShortTimer(): void {
    if (this.shortHandle === undefined) return;
    this.host.clock.clearTimeout(this.shortHandle);
    this.shortHandle = undefined;
    this.shortTimer = undefined;
  }

  protected startLongTimer(name: SipTimerName, ms: number): void {
    this.longTimer = name;
    this.host.wheel.schedule(this, ms);
  }

  protected stopLongTimer(): void {
    if (this.longTimer === undefined) return;
    this.longTimer = undefined;
    this.host.wheel.cancel(this);
  }

  /** Which long timer is pending (for tests and diagnostics). */
  get pendingLongTimer(): SipTimerName | undefined {
    return this.longTimer;
  }

  /** Which retransmission timer is pending (for tests and diagnostics). */
  get pendingShortTimer(): SipTimerName | undefined {
    return this.shortTimer;
  }
}

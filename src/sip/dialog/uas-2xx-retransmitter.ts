import type { Clock, TimerHandle } from '../../util';
import { InvalidStateError } from '../../util';
import { checkTimerValue, DEFAULT_T1_MS, DEFAULT_T2_MS, sixtyFourT1 } from './dialog-timers';

export interface Uas2xxRetransmitterOptions {
  clock: Clock;
  /** RFC 3261 T1 in ms; default 500. */
  t1?: number;
  /** RFC 3261 T2 in ms; default 4000. */
  t2?: number;
  /** Re-sends the same 2xx (same bytes) to the transport. */
  retransmit: () => void;
  /**
   * RFC 3261 §13.3.1.4: no ACK within 64*T1. The UA SHOULD confirm the dialog and then end it with BYE.
   */
  onAckTimeout: () => void;
}

export type Uas2xxRetransmitterState = 'Idle' | 'Retransmitting' | 'Acknowledged' | 'TimedOut' | 'Stopped';

/**
 * RFC 3261 §13.3.1.4: the UAS core, not the transaction, keeps a 2xx to INVITE alive end to end: it re-sends it
 * after T1, then at intervals doubling up to T2 (500, 1000, 2000, 4000, 4000... ms with the defaults), until the
 * ACK arrives; after 64*T1 without ACK it reports the timeout. Applies on every transport, since a later hop
 * may be unreliable. One instance per 2xx; the first transmission is the caller's.
 */
export class Uas2xxRetransmitter {
  private readonly clock: Clock;
  private readonly t1: number;
  private readonly t2: number;
  private readonly retransmitFn: () => void;
  private readonly ackTimeoutFn: () => void;
  private stateValue: Uas2xxRetransmitterState = 'Idle';
  private interval = 0;
  private retransmitTimer: TimerHandle | undefined;
  private deadlineTimer: TimerHandle | undefined;
  private count = 0;

  constructor(opts: Uas2xxRetransmitterOptions) {
    this.clock = opts.clock;
    this.t1 = checkTimerValue('t1', opts.t1 ?? DEFAULT_T1_MS);
    this.t2 = checkTimerValue('t2', opts.t2 ?? DEFAULT_T2_MS);
    this.retransmitFn = opts.retransmit;
    this.ackTimeoutFn = opts.onAckTimeout;
  }

  get state(): Uas2xxRetransmitterState {
    return this.stateValue;
  }
  /** Retransmissions sent so far. */
  get retransmissions(): number {
    return this.count;
  }

  /** Call right after the first transmission of the 2xx. */
  start(): void {
    if (this.stateValue !== 'Idle') throw new InvalidStateError(`retransmitter already ${this.stateValue}`);
    this.stateValue = 'Retransmitting';
    this.interval = Math.min(this.t1, this.t2);
    this.retransmitTimer = this.clock.setTimeout(this.onRetransmit, this.interval);
    this.deadlineTimer = this.clock.setTimeout(this.onDeadline, sixtyFourT1(this.t1));
  }

  /** The ACK for this 2xx arrived: stop. Returns false if the retransmitter was not running (a late or duplicate ACK). */
  ackReceived(): boolean {
    if (this.stateValue !== 'Retransmitting') return false;
    this.stateValue = 'Acknowledged';
    this.clearTimers();
    return true;
  }

  /** Stop without an ACK (dialog torn down, shutdown). Idempotent. */
  stop(): void {
    if (this.stateValue === 'Retransmitting' || this.stateValue === 'Idle') this.stateValue = 'Stopped';
    this.clearTimers();
  }

  private readonly onRetransmit = (): void => {
    if (this.stateValue !== 'Retransmitting') return;
    this.count++;
    this.retransmitFn();
    this.interval = Math.min(this.interval * 2, this.t2);
    this.retransmitTimer = this.clock.setTimeout(this.onRetransmit, this.interval);
  };

  private readonly onDeadline = (): void => {
    if (this.stateValue !== 'Retransmitting') return;
    this.stateValue = 'TimedOut';
    this.deadlineTimer = undefined;
    this.clearTimers();
    this.ackTimeoutFn();
  };

  private clearTimers(): void {
    this.clock.clearTimeout(this.retransmitTimer);
    this.clock.clearTimeout(this.deadlineTimer);
    this.retransmitTimer = undefined;
    this.deadlineTimer = undefined;
  }
}

import type { SipRequest, SipResponse } from '../message';
import type { Clock, TimerHandle } from '../../util';
import { InvalidStateError } from '../../util';
import { checkTimerValue, DEFAULT_T1_MS, sixtyFourT1 } from './dialog-timers';
import { hasOptionTag } from './header-access';
import { OPTION_TAG_100REL, parseRAck, RSeqCounter } from './rack';

export interface ReliableProvisionalSenderOptions {
  clock: Clock;
  /** RFC 3261 T1 in ms; default 500. */
  t1?: number;
  random?: () => number;
  /** Hands a (re)transmission of a reliable provisional response to the server transaction / transport. */
  transmit: (response: SipResponse) => void;
  /**
   * RFC 3262 §3: a reliable provisional response went unacknowledged for 64*T1. The UAS SHOULD reject the
   * INVITE with a 5xx; queued provisionals are dropped.
   */
  onTimeout: (response: SipResponse) => void;
}

/** Result of matching a PRACK (RFC 3262 §3). */
export type PrackMatch =
  | { ok: true; response: SipResponse; rseq: number }
  | { ok: false; status: 481; reason: 'Call/Transaction Does Not Exist' };

/**
 * UAS side of RFC 3262 for one INVITE server transaction: stamps RSeq and `Require: 100rel` on provisional
 * responses, retransmits the unacknowledged one at T1, 2*T1, 4*T1... (no T2 cap, §3) until its PRACK, gives up
 * after 64*T1, and keeps later reliable provisionals queued while one is outstanding (§3: "MUST NOT send a
 * second reliable provisional response until the first is acknowledged").
 */
export class ReliableProvisionalSender {
  private readonly clock: Clock;
  private readonly t1: number;
  private readonly rseqs: RSeqCounter;
  private readonly transmit: (response: SipResponse) => void;
  private readonly onTimeout: (response: SipResponse) => void;
  private readonly queue: { response: SipResponse; rseq: number }[] = [];
  private outstanding: { response: SipResponse; rseq: number; cseq: number; method: string } | undefined;
  private retransmitTimer: TimerHandle | undefined;
  private giveUpTimer: TimerHandle | undefined;
  private interval = 0;
  private stopped = false;
  private retransmitCount = 0;

  constructor(opts: ReliableProvisionalSenderOptions) {
    this.clock = opts.clock;
    this.t1 = checkTimerValue('t1', opts.t1 ?? DEFAULT_T1_MS);
    this.rseqs = new RSeqCounter(opts.random);
    this.transmit = opts.transmit;
    this.onTimeout = opts.onTimeout;
  }

  /** Reliable provisionals waiting behind the outstanding one. */
  get queued(): number {
    return this.queue.length;
  }
  /** The reliable provisional sent and not yet PRACKed. */
  get unacknowledged(): SipResponse | undefined {
    return this.outstanding?.response;
  }
  /** Reliable provisionals sent or queued and not yet PRACKed (the outstanding one plus the queue). */
  get pending(): number {
    return (this.outstanding ? 1 : 0) + this.queue.length;
  }
  /** Retransmissions done so far (all responses). */
  get retransmissions(): number {
    return this.retransmitCount;
  }

  /**
   * Sends `response` (101-199) reliably: adds RSeq and `Require: 100rel`, transmits now or queues it behind the
   * outstanding one. Returns the RSeq given to it.
   * @throws TypeError for 100 or final responses (§3: 100 is never sent reliably); InvalidStateError after stop().
   */
  send(response: SipResponse): number {
    if (response.status <= 100 || response.status >= 200) throw new TypeError(`status ${response.status} cannot be sent reliably (RFC 3262 §3)`);
    if (this.stopped) throw new InvalidStateError('the INVITE transaction already has a final response');
    const rseq = this.rseqs.next();
    response.setHeader('RSeq', String(rseq));
    if (!hasOptionTag(response, 'Require', OPTION_TAG_100REL)) response.appendHeader('Require', OPTION_TAG_100REL);
    if (this.outstanding) this.queue.push({ response, rseq });
    else this.startSending(response, rseq);
    return rseq;
  }

  /**
   * RFC 3262 §3: matches a PRACK's RAck against the unacknowledged reliable provisional (RSeq, CSeq number and
   * method). On a match retransmissions stop and the next queued provisional goes out; otherwise the PRACK gets 481.
   */
  prack(request: SipRequest): PrackMatch {
    const rack = parseRAck(request.getHeader('RAck'));
    const out = this.outstanding;
    if (!rack || !out || rack.rseq !== out.rseq || rack.cseq !== out.cseq || rack.method !== out.method) {
      return { ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' };
    }
    this.clearTimers();
    this.outstanding = undefined;
    const next = this.queue.shift();
    if (next && !this.stopped) this.startSending(next.response, next.rseq);
    return { ok: true, response: out.response, rseq: out.rseq };
  }

  /** The INVITE got its final response (or the transaction ended): stop retransmitting, drop the queue. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.outstanding = undefined;
    this.queue.length = 0;
  }

  private startSending(response: SipResponse, rseq: number): void {
    const cseq = response.cseq;
    this.outstanding = { response, rseq, cseq: cseq.seq, method: cseq.method };
    this.transmit(response);
    this.interval = this.t1;
    this.retransmitTimer = this.clock.setTimeout(this.onRetransmit, this.interval);
    this.giveUpTimer = this.clock.setTimeout(this.onGiveUp, sixtyFourT1(this.t1));
  }

  private readonly onRetransmit = (): void => {
    const out = this.outstanding;
    if (!out) return;
    this.retransmitCount++;
    this.transmit(out.response);
    // §3: the interval starts at T1 and doubles for each retransmission.
    this.interval *= 2;
    this.retransmitTimer = this.clock.setTimeout(this.onRetransmit, this.interval);
  };

  private readonly onGiveUp = (): void => {
    const out = this.outstanding;
    this.giveUpTimer = undefined;
    this.stop();
    if (out) this.onTimeout(out.response);
  };

  private clearTimers(): void {
    this.clock.clearTimeout(this.retransmitTimer);
    this.clock.clearTimeout(this.giveUpTimer);
    this.retransmitTimer = undefined;
    this.giveUpTimer = undefined;
  }
}

import { InvalidStateError, TypedEmitter } from '../util';
import { canTransition, isFinalCallState, type CallState, type FinalCallState } from './call-state';
import type { CdrDirection, HangupSide } from './call-store';
import type { JsonObject } from './json';
import type { RouteSpec } from './route-spec';
import type { DtmfSource, SipLeg } from './sip-leg';

/** How a call ended: cause (`normal-clearing`, `blocked`, `media-timeout`...), who ended it, the SIP code. */
export interface CallEnding {
  state: FinalCallState;
  cause: string;
  side: HangupSide;
  /** Final SIP status of the call (200 once answered, else the failure code sent or received). */
  sipCode: number | undefined;
  /** Refused by policy before routing (blocked caller): the CDR says `rejected`. */
  rejected?: boolean;
}

export type CallEvents = {
  /** Every state change, with what caused it (stored as the call_events row's data). */
  statechange: [from: CallState, to: CallState, data: JsonObject];
  /** A key press from one of the call's parties. */
  dtmf: [digit: string, source: DtmfSource, leg: 'a' | 'b'];
  /** A timeline entry that is not a state change (transfer steps, hold requests, REFER received...). */
  event: [type: string, data: JsonObject];
  /** The call is over (after the final `statechange`). */
  ended: [ending: CallEnding];
};

export interface CallInit {
  id: string;
  direction: CdrDirection;
  from: string;
  to: string;
  fromDisplay?: string;
  /** Wall-clock ms. */
  startedAt: number;
  route: RouteSpec;
  a: SipLeg;
  parentCallId?: string;
  webhookUrl?: string;
  trunkId?: string;
  remoteAddress?: string;
  metadata?: JsonObject;
}

/**
 * One call: the A-leg (the party that called us, or that we called), and what it is connected to: a B-leg (another
 * SIP party: forwarding, transfer) or an application on the A-leg's media (echo, answer, AI, IVR, queue). Holds the
 * state machine of call-state.ts; every change is an event that the CDR tracker persists. Keyed by the A-leg's
 * Call-ID, which is also the CDR's call_id.
 */
export class Call extends TypedEmitter<CallEvents> {
  readonly id: string;
  readonly direction: CdrDirection;
  readonly from: string;
  readonly to: string;
  readonly fromDisplay: string | undefined;
  readonly startedAt: number;
  readonly parentCallId: string | undefined;
  readonly trunkId: string | undefined;
  readonly remoteAddress: string | undefined;
  readonly metadata: JsonObject;
  webhookUrl: string | undefined;
  route: RouteSpec;
  a: SipLeg;
  b: SipLeg | undefined;
  /** The application running on the A-leg's media (`echo`, `ai`, `ivr:<id>`...), if any. */
  app: string | undefined;
  answeredAt: number | undefined;
  endedAt: number | undefined;
  ending: CallEnding | undefined;
  dtmfDigits = '';
  /** Number this call counts against for max_concurrent_calls (inbound: the dialled number). */
  limitKey: string | undefined;
  private st: CallState = 'initiated';

  constructor(init: CallInit) {
    super();
    this.id = init.id;
    this.direction = init.direction;
    this.from = init.from;
    this.to = init.to;
    this.fromDisplay = init.fromDisplay;
    this.startedAt = init.startedAt;
    this.route = init.route;
    this.a = init.a;
    this.parentCallId = init.parentCallId;
    this.webhookUrl = init.webhookUrl;
    this.trunkId = init.trunkId;
    this.remoteAddress = init.remoteAddress;
    this.metadata = init.metadata ?? {};
  }

  get state(): CallState {
    return this.st;
  }
  get isEnded(): boolean {
    return isFinalCallState(this.st);
  }
  get isAnswered(): boolean {
    return this.answeredAt !== undefined;
  }

  /**
   * Move to a non-final state. Returns false (and changes nothing) when the move is not allowed from the current
   * state, e.g. `ringing` after `answered` (a late 180 from a forked leg).
   */
  transition(to: Exclude<CallState, FinalCallState>, data: JsonObject = {}, now = Date.now()): boolean {
    const from = this.st;
    if (from === to || !canTransition(from, to)) return false;
    this.st = to;
    if (to === 'answered' && this.answeredAt === undefined) this.answeredAt = now;
    this.safeEmit('statechange', from, to, data);
    return true;
  }

  /** End the call (once). Legs are the caller's business: this only records the outcome. */
  finish(ending: CallEnding, now = Date.now()): boolean {
    if (this.isEnded) return false;
    const from = this.st;
    // An answered call always completes, whatever stopped it; an unanswered one keeps its failure state.
    const state: FinalCallState = this.answeredAt !== undefined ? 'completed' : ending.state === 'completed' ? 'failed' : ending.state;
    if (!canTransition(from, state)) throw new InvalidStateError(`call ${this.id}: ${from} -> ${state}`);
    const final: CallEnding = { ...ending, state };
    this.st = state;
    this.endedAt = now;
    this.ending = final;
    const data: JsonObject = { cause: final.cause, side: final.side };
    if (final.sipCode !== undefined) data['sip_code'] = final.sipCode;
    this.safeEmit('statechange', from, state, data);
    this.safeEmit('ended', final);
    return true;
  }

  /** Record a key press. */
  dtmf(digit: string, source: DtmfSource, leg: 'a' | 'b'): void {
    if (this.isEnded) return;
    if (this.dtmfDigits.length < 256) this.dtmfDigits += digit;
    this.safeEmit('dtmf', digit, source, leg);
  }

  /** Add a timeline entry. */
  note(type: string, data: JsonObject = {}): void {
    this.safeEmit('event', type, data);
  }

  /** Seconds since answer (0 when never answered). */
  talkSeconds(now = Date.now()): number {
    if (this.answeredAt === undefined) return 0;
    return Math.max(0, ((this.endedAt ?? now) - this.answeredAt) / 1000);
  }
}

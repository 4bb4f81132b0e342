import { TypedEmitter } from '../util';
import type { SipLeg } from './sip-leg';

/** Why no fork answered: the status to relay to the caller and what it means. */
export interface ForkFailure {
  status: number;
  outcome: 'busy' | 'no-answer' | 'canceled' | 'rejected' | 'failed';
}

export type ContactForkEvents = {
  /** A provisional response on one of the forks; `earlyMedia` when it carried an SDP answer. */
  progress: [leg: SipLeg, status: number, earlyMedia: boolean];
  /** The first fork to answer; every other fork has been CANCELed. Emitted at most once. */
  answered: [leg: SipLeg];
  /** Every fork ended without an answer. Emitted at most once, never after `answered`. */
  failed: [failure: ForkFailure];
};

/**
 * Parallel forking to the contacts of a registered user (RFC 3261 §16.6-§16.7, done by a B2BUA): every contact
 * rings at once; the first 2xx wins and the others are CANCELed (a fork answering in the same instant gets a BYE);
 * when every fork failed, the best final response is chosen for the caller.
 */
export class ContactFork extends TypedEmitter<ContactForkEvents> {
  private winnerLeg: SipLeg | undefined;
  private readonly failures: ForkFailure[] = [];
  private pending: number;
  private done = false;

  constructor(readonly legs: readonly SipLeg[]) {
    super();
    this.pending = legs.length;
    for (const leg of legs) this.watch(leg);
  }

  get winner(): SipLeg | undefined {
    return this.winnerLeg;
  }

  /** Stop ringing every fork that has not won (the caller gave up, or the call ended). */
  cancel(): void {
    this.done = true;
    for (const leg of this.legs) if (leg !== this.winnerLeg && !leg.isEnded) leg.hangup();
  }

  private watch(leg: SipLeg): void {
    leg.on('progress', (status, early) => {
      if (!this.done) this.safeEmit('progress', leg, status, early);
    });
    leg.once('answered', () => {
      if (this.done) {
        // Lost the race: RFC 3261 §16.7 step 5 leaves the extra 2xx to the UAC, which ends that dialog with BYE.
        if (leg !== this.winnerLeg) leg.hangup();
        return;
      }
      this.done = true;
      this.winnerLeg = leg;
      for (const other of this.legs) if (other !== leg && !other.isEnded) other.hangup();
      this.safeEmit('answered', leg);
    });
    leg.once('ended', (end) => {
      this.pending--;
      if (leg !== this.winnerLeg) {
        const f = leg.failure;
        this.failures.push({ status: f?.status ?? end.status ?? 480, outcome: f?.outcome ?? 'failed' });
      }
      if (this.pending === 0 && !this.done) {
        this.done = true;
        this.safeEmit('failed', bestFailure(this.failures));
      }
    });
  }
}

/**
 * The response to relay when every fork failed, after RFC 3261 §16.7 step 6: a 6xx wins (the user declined
 * everywhere); then busy (486) over other 4xx, since the user is there but occupied; then the lowest other 4xx; a
 * phone that only timed out or was canceled by our ring timer means no answer (480, §21.4.18); 5xx last.
 */
export function bestFailure(failures: readonly ForkFailure[]): ForkFailure {
  if (failures.length === 0) return { status: 480, outcome: 'no-answer' };
  const global = failures.find((f) => f.status >= 600);
  if (global) return global;
  const busy = failures.find((f) => f.outcome === 'busy');
  if (busy) return busy;
  if (failures.some((f) => f.outcome === 'no-answer')) return { status: 480, outcome: 'no-answer' };
  const clientErrors = failures.filter((f) => f.status >= 400 && f.status < 500 && f.status !== 408 && f.status !== 487);
  if (clientErrors.length > 0) return clientErrors.reduce((a, b) => (b.status < a.status ? b : a));
  if (failures.every((f) => f.outcome === 'canceled')) return { status: 487, outcome: 'canceled' };
  if (failures.some((f) => f.status === 408)) return { status: 480, outcome: 'no-answer' };
  return failures[0] as ForkFailure;
}

import type { CdrFinalStatus, CdrStatus } from './call-store';

/**
 * The life of a call. `initiated` -> `ringing` -> `answered` <-> `held` / `transferring`, ending in one of the final
 * states. A call can end from any non-final state (a CANCEL while ringing, a BYE while held...).
 */
export type CallState =
  | 'initiated'
  | 'ringing'
  | 'answered'
  | 'held'
  | 'transferring'
  | 'completed'
  | 'busy'
  | 'no-answer'
  | 'canceled'
  | 'failed';

export type FinalCallState = 'completed' | 'busy' | 'no-answer' | 'canceled' | 'failed';

export const FINAL_CALL_STATES: readonly FinalCallState[] = ['completed', 'busy', 'no-answer', 'canceled', 'failed'];

export function isFinalCallState(s: CallState): s is FinalCallState {
  return s === 'completed' || s === 'busy' || s === 'no-answer' || s === 'canceled' || s === 'failed';
}

/** Allowed non-final moves; any non-final state may also move to a final one. */
const NEXT: Readonly<Record<CallState, readonly CallState[]>> = {
  initiated: ['ringing', 'answered'],
  ringing: ['answered'],
  answered: ['held', 'transferring'],
  held: ['answered', 'transferring'],
  transferring: ['answered', 'held'],
  completed: [],
  busy: [],
  'no-answer': [],
  canceled: [],
  failed: [],
};

/** Whether `from -> to` is a legal transition. Final states are terminal. */
export function canTransition(from: CallState, to: CallState): boolean {
  if (isFinalCallState(from)) return false;
  if (isFinalCallState(to)) {
    // Only an answered call completes; an unanswered one ends busy, no-answer, canceled or failed.
    if (to === 'completed') return from === 'answered' || from === 'held' || from === 'transferring';
    return true;
  }
  return NEXT[from].includes(to);
}

/**
 * The CDR status column of a state (the schema keeps `held` and `transferring` as `answered`: they are moments of
 * an answered call, recorded in call_events).
 */
export function cdrStatusOf(state: CallState): CdrStatus {
  switch (state) {
    case 'held':
    case 'transferring':
      return 'answered';
    case 'no-answer':
      return 'no_answer';
    case 'canceled':
      return 'cancelled';
    default:
      return state;
  }
}

/** The final CDR status of a final state; a call refused by policy (blocked caller) is `rejected`. */
export function cdrFinalStatusOf(state: FinalCallState, rejected = false): CdrFinalStatus {
  if (rejected) return 'rejected';
  switch (state) {
    case 'no-answer':
      return 'no_answer';
    case 'canceled':
      return 'cancelled';
    default:
      return state;
  }
}

/**
 * The final state of an unanswered call from the SIP final response that ended it: 486/600 busy (RFC 3261
 * §21.4.24, §21.6.1), 408/480 no answer (§21.4.9, §21.4.18), 487 canceled (§21.4.25), anything else failed.
 */
export function finalStateOfStatus(status: number): FinalCallState {
  if (status >= 200 && status < 300) return 'completed';
  if (status === 486 || status === 600) return 'busy';
  if (status === 408 || status === 480) return 'no-answer';
  if (status === 487) return 'canceled';
  return 'failed';
}

import type { SipRequest, SipResponse } from '../message';
import { hasOptionTag } from './header-access';

/** RFC 4028 §10: the option tag of session timers. */
export const OPTION_TAG_TIMER = 'timer';
/** RFC 4028 §4: Min-SE MUST NOT be lower than 90 seconds; it is also the value of an absent Min-SE (§5). */
export const MIN_SE_FLOOR = 90;
/** RFC 4028 §4: the RECOMMENDED session interval, 30 minutes. */
export const DEFAULT_SESSION_INTERVAL = 1800;

export type SessionRefresher = 'uac' | 'uas';

/** RFC 4028 §4: Session-Expires = delta-seconds *(SEMI se-params); refresher-param = "refresher" EQUAL ("uas" / "uac"). */
export interface SessionExpires {
  /** Seconds. */
  interval: number;
  refresher?: SessionRefresher;
}

/** The outcome of a negotiation, from the point of view of the side that holds it. */
export interface NegotiatedSessionTimer {
  /** Session interval in seconds. */
  interval: number;
  refresher: SessionRefresher;
  /** True when this side sends the refreshes. */
  localRefresher: boolean;
}

/** How a UAS answers session timers (RFC 4028 §9). */
export interface SessionTimerPolicy {
  /** The smallest interval we accept, seconds; at least 90 (RFC 4028 §4). */
  minSE: number;
  /** The interval we want, seconds: inserted when the request has none, and the cap for larger requests. */
  interval: number;
  /** Who refreshes when the UAC supports timers and left the choice to us. Default 'uac'. */
  preferredRefresher?: SessionRefresher;
  /** Insert a session timer into the 2xx when the request has none (RFC 4028 §9 allows it). Default true. */
  insertWhenAbsent?: boolean;
  /**
   * The lowest Min-SE anyone may use, seconds: the value `minSE` may not go under and the Min-SE of a request that
   * names none or a smaller one. Default 90 (RFC 4028 §4, §5); only tests lower it, to see session timers expire in
   * seconds.
   */
  minSEFloor?: number;
}

export type UasSessionTimerDecision =
  /** RFC 4028 §9: reject with 422 and these headers (Min-SE). */
  | { kind: 'reject'; status: 422; reason: 'Session Interval Too Small'; headers: [string, string][] }
  /** Answer with these headers added to the 2xx; `timer` undefined when no session timer runs. */
  | { kind: 'accept'; timer: NegotiatedSessionTimer | undefined; headers: [string, string][] };

const MAX_DELTA_SECONDS = 0xffffffff; // RFC 3261 §25.1 delta-seconds, bounded to 32 bits

function parseDeltaSeconds(text: string): number | undefined {
  if (text.length === 0 || text.length > 10) return undefined;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n <= MAX_DELTA_SECONDS ? n : undefined;
}

/**
 * RFC 4028 §4: parses a Session-Expires value (`1800;refresher=uac`). Unknown parameters are ignored; an unknown
 * refresher value or a zero interval makes the header malformed. Undefined when absent or malformed.
 */
export function parseSessionExpires(value: string | undefined): SessionExpires | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(';');
  const interval = parseDeltaSeconds(parts[0].trim());
  if (interval === undefined || interval === 0) return undefined;
  const se: SessionExpires = { interval };
  for (let i = 1; i < parts.length; i++) {
    const param = parts[i];
    const eq = param.indexOf('=');
    const name = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
    if (name !== 'refresher') continue;
    const v = eq < 0 ? '' : param.slice(eq + 1).trim().toLowerCase();
    if (v !== 'uac' && v !== 'uas') return undefined;
    se.refresher = v;
  }
  return se;
}

export function formatSessionExpires(se: SessionExpires): string {
  return se.refresher ? `${se.interval};refresher=${se.refresher}` : String(se.interval);
}

/** RFC 4028 §5: Min-SE = delta-seconds *(SEMI generic-param). Undefined when absent or malformed. */
export function parseMinSE(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const semi = value.indexOf(';');
  return parseDeltaSeconds((semi < 0 ? value : value.slice(0, semi)).trim());
}

/** Session-Expires of a message (compact form `x` included); undefined when absent or malformed. */
export function readSessionExpires(msg: SipRequest | SipResponse): SessionExpires | undefined {
  return parseSessionExpires(msg.getHeader('Session-Expires'));
}

/** Min-SE of a message; undefined when absent or malformed. */
export function readMinSE(msg: SipRequest | SipResponse): number | undefined {
  return parseMinSE(msg.getHeader('Min-SE'));
}

/** RFC 4028 §9: the UAC listed `timer` in Supported (or Require). */
export function supportsSessionTimer(msg: SipRequest | SipResponse): boolean {
  return hasOptionTag(msg, 'Supported', OPTION_TAG_TIMER) || hasOptionTag(msg, 'Require', OPTION_TAG_TIMER);
}

/** Rejects a policy that breaks RFC 4028 §4 (programmer error at the API edge). */
function checkPolicy(policy: SessionTimerPolicy): number {
  const floor = policy.minSEFloor ?? MIN_SE_FLOOR;
  if (!Number.isInteger(floor) || floor < 1) throw new TypeError('minSEFloor must be a positive integer');
  if (!Number.isInteger(policy.minSE) || policy.minSE < floor) throw new TypeError(`minSE must be an integer >= ${floor} (RFC 4028 §4)`);
  if (!Number.isInteger(policy.interval) || policy.interval < policy.minSE) throw new TypeError('interval must be an integer >= minSE');
  return floor;
}

/**
 * RFC 4028 §9: the UAS side of session-timer negotiation for an INVITE or UPDATE.
 * - Session-Expires below our minimum: reject with 422 and our Min-SE.
 * - Otherwise the interval is the requested one, capped at `policy.interval` but never below the request's
 *   Min-SE (90 when absent, or `policy.minSEFloor` when a test lowered it) nor our own minimum.
 * - The refresher is the one the request named; else our preference when the UAC supports timers; else `uas`
 *   (a UAC without timer support cannot refresh).
 * - No Session-Expires in the request: insert ours when `insertWhenAbsent`, under the same refresher rules.
 * - `Require: timer` goes in the 2xx when the UAC is the refresher.
 * A malformed Session-Expires is treated as absent (the request stays answerable).
 */
export function negotiateSessionTimerUas(request: SipRequest, policy: SessionTimerPolicy): UasSessionTimerDecision {
  const rfcFloor = checkPolicy(policy);
  const requested = readSessionExpires(request);
  const requestMinSE = Math.max(readMinSE(request) ?? rfcFloor, rfcFloor);
  const uacSupports = supportsSessionTimer(request);
  if (requested && requested.interval < policy.minSE) {
    return { kind: 'reject', status: 422, reason: 'Session Interval Too Small', headers: [['Min-SE', String(policy.minSE)]] };
  }
  if (!requested && policy.insertWhenAbsent === false) return { kind: 'accept', timer: undefined, headers: [] };
  const floor = Math.max(requestMinSE, policy.minSE);
  const interval = requested ? Math.max(Math.min(requested.interval, policy.interval), floor) : Math.max(policy.interval, floor);
  let refresher: SessionRefresher;
  if (!uacSupports) refresher = 'uas';
  else refresher = requested?.refresher ?? policy.preferredRefresher ?? 'uac';
  const headers: [string, string][] = [['Session-Expires', formatSessionExpires({ interval, refresher })]];
  if (refresher === 'uac') headers.push(['Require', OPTION_TAG_TIMER]);
  return { kind: 'accept', timer: { interval, refresher, localRefresher: refresher === 'uas' }, headers };
}

/**
 * RFC 4028 §7.1: headers for an INVITE/UPDATE that asks for a session timer. `Supported: timer` is left to the
 * UA, which merges all option tags into one header.
 */
export function sessionTimerRequestHeaders(interval: number, minSE: number = MIN_SE_FLOOR, refresher?: SessionRefresher): [string, string][] {
  if (!Number.isInteger(minSE) || minSE < MIN_SE_FLOOR) throw new TypeError(`minSE must be an integer >= ${MIN_SE_FLOOR} (RFC 4028 §4)`);
  if (!Number.isInteger(interval) || interval < minSE) throw new TypeError('interval must be an integer >= minSE');
  const se: SessionExpires = refresher ? { interval, refresher } : { interval };
  const headers: [string, string][] = [['Session-Expires', formatSessionExpires(se)]];
  // §5: an absent Min-SE means 90; write it only when it says more.
  if (minSE !== MIN_SE_FLOOR) headers.push(['Min-SE', String(minSE)]);
  return headers;
}

/**
 * RFC 4028 §7.2: the session timer a UAC runs after a 2xx. The response's Session-Expires decides; a missing
 * refresher means the UAC refreshes (only the UAC is known to support timers then). No Session-Expires in the
 * 2xx means no session timer.
 */
export function negotiateSessionTimerUac(response: SipResponse): NegotiatedSessionTimer | undefined {
  if (response.status < 200 || response.status >= 300) return undefined;
  const se = readSessionExpires(response);
  if (!se) return undefined;
  const refresher = se.refresher ?? 'uac';
  return { interval: se.interval, refresher, localRefresher: refresher === 'uac' };
}

/**
 * RFC 4028 §7.4: after a 422 the UAC may retry with Session-Expires raised to the Min-SE of the 422 and Min-SE
 * set to the largest value seen. Undefined when the 422 has no usable Min-SE, or one that would not raise the
 * interval (retrying would loop).
 */
export function sessionIntervalAfter422(response: SipResponse, current: { interval: number; minSE: number }): { interval: number; minSE: number } | undefined {
  if (response.status !== 422) return undefined;
  const minSE = readMinSE(response);
  if (minSE === undefined || minSE <= current.interval || minSE < MIN_SE_FLOOR) return undefined;
  const nextMinSE = Math.max(current.minSE, minSE);
  return { interval: nextMinSE, minSE: nextMinSE };
}

/**
 * Timer values the dialog layer needs. The transaction layer owns the authoritative T1/T2 configuration; the
 * UA core passes the same values down here (the dialog layer does not import the transaction layer).
 */

/** RFC 3261 §17.1.1.1: T1, the RTT estimate, 500 ms by default. */
export const DEFAULT_T1_MS = 500;
/** RFC 3261 §17.1.2.2: T2, the maximum retransmit interval for non-INVITE requests and INVITE 2xx responses. */
export const DEFAULT_T2_MS = 4000;

/** RFC 3261 §13.3.1.4 / §13.2.2.4: 64*T1, how long a UAS waits for the ACK and a UAC keeps re-ACKing 2xx. */
export function sixtyFourT1(t1: number): number {
  return 64 * t1;
}

/** Rejects non-positive or non-finite timer values at the API edge (a zero T1 would spin the retransmit loop). */
export function checkTimerValue(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number of milliseconds, got ${value}`);
  return value;
}

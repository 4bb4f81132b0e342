/**
 * 16-bit RTP sequence-number and 32-bit timestamp arithmetic. Every comparison of sequence numbers in this
 * folder goes through these helpers so wrap-around (65535 -> 0, RFC 3550 §5.1) is handled in one place.
 */
import { pooledRandomUint16, pooledRandomUint32 } from '../util';

export const SEQ_MOD = 0x10000;
export const SEQ_MASK = 0xffff;
const HALF_SEQ = 0x8000;
const TS_MOD = 0x1_0000_0000;

/** (a + n) mod 2^16. */
export function seqAdd(a: number, n: number): number {
  return (a + n) & SEQ_MASK;
}

/**
 * Signed distance from `b` to `a` in the 16-bit sequence space, in [-32768, 32767]:
 * seqDiff(0, 65535) === 1, seqDiff(65535, 0) === -1.
 */
export function seqDiff(a: number, b: number): number {
  const d = (a - b) & SEQ_MASK;
  return d >= HALF_SEQ ? d - SEQ_MOD : d;
}

/** True when `a` comes strictly before `b` (RFC 1982 serial-number comparison on 16 bits). */
export function seqLt(a: number, b: number): boolean {
  return seqDiff(a, b) < 0;
}

/** True when `a` comes strictly after `b`. */
export function seqGt(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

/** (a + n) mod 2^32 for RTP timestamps; n may be negative or exceed 2^32. */
export function tsAdd(a: number, n: number): number {
  const r = (a + n) % TS_MOD;
  return r < 0 ? r + TS_MOD : r;
}

/** Signed distance from `b` to `a` in the 32-bit timestamp space, in [-2^31, 2^31). */
export function tsDiff(a: number, b: number): number {
  return ((a - b) | 0);
}

/** A uniformly random unsigned 32-bit integer (SSRC, initial timestamp; RFC 3550 §5.1 and §8). */
export function randomUint32(random?: () => number): number {
  return random ? Math.floor(random() * TS_MOD) >>> 0 : pooledRandomUint32();
}

/** A uniformly random 16-bit initial sequence number (RFC 3550 §5.1: "SHOULD be random"). */
export function randomSeq(random?: () => number): number {
  return random ? Math.floor(random() * SEQ_MOD) & SEQ_MASK : pooledRandomUint16();
}

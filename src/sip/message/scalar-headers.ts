/** Single-valued essential headers: CSeq, Call-ID, Max-Forwards, Content-Length (RFC 3261 §20). */
import { TOKEN, WORD, inClass } from './char-class';
import { skipWs, skipWsTo, trimEnd } from './lexer';

export interface CSeq {
  seq: number;
  method: string;
}

/** RFC 3261 §8.1.1.5: the sequence number MUST be expressible as a 32-bit unsigned integer and less than 2**31. */
export const MAX_CSEQ = 0x7fffffff;

/** CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16). Undefined when malformed or out of range. */
export function parseCSeq(s: string): CSeq | undefined {
  const len = s.length;
  let i = skipWs(s, 0);
  const ds = i;
  let seq = 0;
  while (i < len) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    seq = seq * 10 + (c - 48);
    if (seq > MAX_CSEQ) return undefined;
    i++;
  }
  if (i === ds) return undefined;
  const ms = skipWs(s, i);
  if (ms === i) return undefined;
  let me = ms;
  while (me < len && inClass(TOKEN, s.charCodeAt(me))) me++;
  if (me === ms || trimEnd(s, me, len) !== me) return undefined;
  return { seq, method: s.slice(ms, me) };
}

/** callid = word [ "@" word ] (RFC 3261 §25.1). */
export function isValidCallId(s: string): boolean {
  return isValidCallIdAt(s, 0, s.length);
}

/** isValidCallId on s[start,end). */
export function isValidCallIdAt(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  let at = -1;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 64) {
      if (at >= 0 || i === start || i === end - 1) return false;
      at = i;
    } else if (c >= 256 || WORD[c] !== 1) return false;
  }
  return true;
}

/**
 * Max-Forwards = 1*DIGIT, 0..255 (RFC 3261 §20.22 "an integer in the range 0-255"). Returns -1 when malformed.
 */
export function parseMaxForwards(s: string): number {
  return parseBoundedInt(s, 255);
}

/** Content-Length = 1*DIGIT (RFC 3261 §20.14). Bounded to 2**31-1. Returns -1 when malformed. */
export function parseContentLength(s: string): number {
  return parseBoundedInt(s, 0x7fffffff);
}

/** parseMaxForwards on s[start,end). */
export function parseMaxForwardsAt(s: string, start: number, end: number): number {
  return parseBoundedInt(s, 255, start, end);
}

/** parseContentLength on s[start,end). */
export function parseContentLengthAt(s: string, start: number, end: number): number {
  return parseBoundedInt(s, 0x7fffffff, start, end);
}

function parseBoundedInt(s: string, max: number, from = 0, to = s.length): number {
  const start = skipWsTo(s, from, to);
  const end = trimEnd(s, start, to);
  if (end === start) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
    if (v > max) return -1;
  }
  return v;
}

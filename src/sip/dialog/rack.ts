import type { SipMessage, SipResponse } from '../message';
import { hasOptionTag } from './header-access';

/** RFC 3262 §10: the option tag of reliable provisional responses. */
export const OPTION_TAG_100REL = '100rel';

/** RFC 3262 §7.2: RAck = response-num LWS CSeq-num LWS Method. */
export interface RAck {
  rseq: number;
  cseq: number;
  method: string;
}

const MAX_SEQ = 0xffffffff; // RFC 3262 §7.1 / RFC 3261 §8.1.1.5: 1*DIGIT, 32-bit unsigned
/** RFC 3262 §3: the initial RSeq lies between 1 and 2**31 - 1. */
const MAX_INITIAL_RSEQ = 0x7fffffff;

/** Parses a decimal sequence number (1*DIGIT, at most 2^32 - 1); undefined on anything else. */
function parseSeq(text: string): number | undefined {
  if (text.length === 0 || text.length > 10) return undefined;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n <= MAX_SEQ ? n : undefined;
}

/** RFC 3262 §7.1: RSeq = 1*DIGIT. Undefined when absent or malformed. */
export function parseRSeq(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = parseSeq(value.trim());
  return n !== undefined && n > 0 ? n : undefined;
}

/** RFC 3262 §7.2: parses `RAck: 776656 1 INVITE`. Undefined when malformed. */
export function parseRAck(value: string | undefined): RAck | undefined {
  if (value === undefined) return undefined;
  const parts = value.trim().split(/[ \t]+/);
  if (parts.length !== 3) return undefined;
  const rseq = parseSeq(parts[0]);
  const cseq = parseSeq(parts[1]);
  const method = parts[2];
  if (rseq === undefined || rseq === 0 || cseq === undefined || !/^[A-Za-z0-9\-.!%*_+`'~]+$/.test(method)) return undefined;
  return { rseq, cseq, method };
}

export function formatRAck(r: RAck): string {
  return `${r.rseq} ${r.cseq} ${r.method}`;
}

/** RFC 3262 §3: a random initial RSeq in [1, 2^31 - 1]. */
export function initialRSeq(random: () => number = Math.random): number {
  const n = 1 + Math.floor(random() * MAX_INITIAL_RSEQ);
  return n > MAX_INITIAL_RSEQ ? MAX_INITIAL_RSEQ : n;
}

/** RFC 3262 §3: the RSeq space of one INVITE transaction: a random start, then +1 per reliable provisional. */
export class RSeqCounter {
  private value: number | undefined;
  constructor(private readonly random: () => number = Math.random) {}
  /** The RSeq for the next reliable provisional response. */
  next(): number {
    this.value = this.value === undefined ? initialRSeq(this.random) : this.value + 1;
    return this.value;
  }
  /** The last RSeq handed out, if any. */
  get last(): number | undefined {
    return this.value;
  }
}

/** RFC 3262 §4: the request (or response) demands reliable provisional responses. */
export function requires100rel(msg: SipMessage): boolean {
  return hasOptionTag(msg, 'Require', OPTION_TAG_100REL);
}

/** RFC 3262 §3: the peer accepts reliable provisional responses (Supported or Require lists 100rel). */
export function supports100rel(msg: SipMessage): boolean {
  return hasOptionTag(msg, 'Supported', OPTION_TAG_100REL) || requires100rel(msg);
}

/** RFC 3262 §4: a provisional response sent reliably (1xx other than 100 with Require: 100rel and an RSeq). */
export function isReliableProvisional(msg: SipResponse): boolean {
  return msg.status > 100 && msg.status < 200 && requires100rel(msg) && parseRSeq(msg.getHeader('RSeq')) !== undefined;
}

/**
 * Header convention for SMS concatenation over SIP MESSAGE.
 *
 * RFC 3428 carries one text per MESSAGE and has no notion of SMS parts, so trunks that map each MESSAGE to one
 * SMS PDU need the concatenation information of 3GPP TS 23.040 §9.2.3.24.1/§9.2.3.24.8 (information elements 00
 * and 08: reference number, total parts, sequence number) beside the text. We carry it in one header field:
 *
 *   X-SMS-Concat: ref=<0-65535>;seq=<1-total>;total=<2-255>
 *
 * `ref` is the same on every part of one message (we derive it from the message id, so a retry reuses it), `seq`
 * is 1-based. Parameters may come in any order with optional whitespace. Inbound parts carrying this header are
 * stored until all `total` parts from the same sender to the same number with the same `ref` have arrived, then
 * stored and forwarded as one message.
 */

export const CONCAT_HEADER = 'X-SMS-Concat';

export interface ConcatInfo {
  /** Concatenation reference, 0-65535 (16-bit, IE 08). */
  readonly ref: number;
  /** 1-based part number. */
  readonly seq: number;
  /** Number of parts, 2-255. */
  readonly total: number;
}

export type ConcatParse = { ok: true; info: ConcatInfo } | { ok: false; reason: string };

export function formatConcatHeader(info: ConcatInfo): string {
  return `ref=${info.ref};seq=${info.seq};total=${info.total}`;
}

function intParam(v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined || !/^\d{1,5}$/.test(v)) return undefined;
  const n = Number(v);
  return n >= min && n <= max ? n : undefined;
}

/** Parse an X-SMS-Concat value. Network input: never throws, a bad value is a typed refusal. */
export function parseConcatHeader(value: string): ConcatParse {
  const params = new Map<string, string>();
  for (const piece of value.split(';')) {
    const eq = piece.indexOf('=');
    if (eq < 0) continue;
    params.set(piece.slice(0, eq).trim().toLowerCase(), piece.slice(eq + 1).trim());
  }
  const ref = intParam(params.get('ref'), 0, 0xffff);
  const total = intParam(params.get('total'), 1, 255);
  const seq = intParam(params.get('seq'), 1, 255);
  if (ref === undefined) return { ok: false, reason: 'ref must be 0-65535' };
  if (total === undefined) return { ok: false, reason: 'total must be 1-255' };
  if (seq === undefined || seq > total) return { ok: false, reason: 'seq must be 1-total' };
  return { ok: true, info: { ref, seq, total } };
}

/** The concatenation reference of an outbound message: 16 bits of its id, stable across retries. */
export function concatRefOf(messageId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < messageId.length; i++) {
    h ^= messageId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h ^ (h >>> 16)) & 0xffff;
}

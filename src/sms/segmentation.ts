/**
 * SMS segment counting and splitting (3GPP TS 23.038 §6.2.1 alphabet, TS 23.040 §9.2.3.24.1 concatenation).
 *
 * A text that fits the GSM 7-bit default alphabet (with its extension table) is sent as GSM-7: 160 septets in a
 * single message, 153 per part when concatenated (the 6-octet user data header takes 7 septets). Extension
 * characters are an escape (0x1B) plus a code, so they count two and never straddle a part boundary.
 * Anything else is UCS-2: 70 UTF-16 code units alone, 67 per part; characters outside the Basic Multilingual Plane
 * are a surrogate pair (two units) and are never split across parts either.
 */

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SegmentInfo {
  encoding: SmsEncoding;
  /** Number of SMS the text takes (at least 1, for an empty text too). */
  segments: number;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text. */
  units: number;
  /** Capacity of one segment for this text: 160/70 alone, 153/67 when concatenated. */
  perSegment: number;
  /** Units still free in the last segment. */
  remaining: number;
}

export const GSM7_SINGLE = 160;
export const GSM7_PART = 153;
export const UCS2_SINGLE = 70;
export const UCS2_PART = 67;

// 3GPP TS 23.038 §6.2.1 default alphabet, in code order (0x1B, the escape, is not a character of its own).
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
// §6.2.1.1 extension table: reached through the escape, so each costs two septets.
const GSM7_EXTENSION = '\f^{}\\[~]|€';

/** Septets per BMP code unit: 1 basic, 2 extension, 0 = not in the GSM alphabet. Built once. */
const SEPTETS = new Uint8Array(0x10000);
for (const ch of GSM7_BASIC) if (ch !== '\u001b') SEPTETS[ch.charCodeAt(0)] = 1;
for (const ch of GSM7_EXTENSION) SEPTETS[ch.charCodeAt(0)] = 2;

/** True when every character of `text` is in the GSM 7-bit alphabet (basic or extension table). */
export function isGsm7(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (SEPTETS[text.charCodeAt(i)] === 0) return false;
  return true;
}

/** The alphabet a text is sent in. */
export function smsEncodingOf(text: string): SmsEncoding {
  return isGsm7(text) ? 'GSM-7' : 'UCS-2';
}

/** Cost of the character starting at `i` in the given encoding, and its length in UTF-16 units. */
function unitCost(text: string, i: number, gsm: boolean): number {
  if (gsm) return SEPTETS[text.charCodeAt(i)];
  const c = text.charCodeAt(i);
  // A high surrogate followed by a low one is one character of two code units.
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

/** Character boundaries of a multi-part text: the UTF-16 offsets where each part starts (greedy packing). */
function partStarts(text: string, gsm: boolean, capacity: number): number[] {
  const starts = [0];
  let used = 0;
  for (let i = 0; i < text.length; ) {
    const cost = unitCost(text, i, gsm);
    const len = gsm ? 1 : cost;
    if (used + cost > capacity) {
      starts.push(i);
      used = 0;
    }
    used += cost;
    i += len;
  }
  return starts;
}

/**
 * How many SMS `text` takes and in which alphabet. Multi-part counts pack greedily without splitting an escape
 * sequence or a surrogate pair, as handsets and SMSCs do, so the count can exceed ceil(units / 153) by one when
 * an extension character would straddle a boundary.
 */
export function countSegments(text: string): SegmentInfo {
  const gsm = isGsm7(text);
  let units = 0;
  if (gsm) for (let i = 0; i < text.length; i++) units += SEPTETS[text.charCodeAt(i)];
  else units = text.length;
  const single = gsm ? GSM7_SINGLE : UCS2_SINGLE;
  const encoding: SmsEncoding = gsm ? 'GSM-7' : 'UCS-2';
  if (units <= single) return { encoding, segments: 1, units, perSegment: single, remaining: single - units };
  const part = gsm ? GSM7_PART : UCS2_PART;
  const starts = partStarts(text, gsm, part);
  let lastUnits = 0;
  for (let i = starts[starts.length - 1]; i < text.length; i++) lastUnits += gsm ? SEPTETS[text.charCodeAt(i)] : 1;
  return { encoding, segments: starts.length, units, perSegment: part, remaining: part - lastUnits };
}

/**
 * The texts of the parts `text` is sent as, one per SMS (a single element when it fits one message). Joined,
 * the parts give back `text` exactly; no part splits an extension character or a surrogate pair.
 */
export function splitSegments(text: string): string[] {
  const gsm = isGsm7(text);
  const units = gsm ? countSegments(text).units : text.length;
  if (units <= (gsm ? GSM7_SINGLE : UCS2_SINGLE)) return [text];
  const starts = partStarts(text, gsm, gsm ? GSM7_PART : UCS2_PART);
  const parts: string[] = new Array<string>(starts.length);
  for (let k = 0; k < starts.length; k++) parts[k] = text.slice(starts[k], k + 1 < starts.length ? starts[k + 1] : text.length);
  return parts;
}

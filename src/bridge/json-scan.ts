/**
 * Fast path for the AI's audio messages: read the few fields a decoder needs straight from the WebSocket frame's
 * bytes, without building a string, a JSON object graph or a base64 string. It accepts only a strict subset of JSON
 * (RFC 8259) and says "not handled" for anything else, so the caller falls back to JSON.parse and gets exactly the
 * answer the general path gives (including its error messages). Accepted:
 *
 * - one object; values are strings, numbers, or (one level down, under one named key, at most once) an object of
 *   the same kind; JSON whitespace between tokens; nothing but whitespace after the closing brace;
 * - strings of printable ASCII without escapes (no `\`, no control characters, no bytes >= 0x80), keys likewise.
 *
 * `true`, `false`, `null`, arrays, escapes, non-ASCII text, deeper nesting: not handled (fall back).
 */

/** What {@link JsonFieldScanner.kind} holds for a slot. */
export const FieldKind = { Absent: 0, String: 1, Number: 2 } as const;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isWhitespace(b: number): boolean {
  // RFC 8259 §2: space, horizontal tab, line feed, carriage return.
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/**
 * Scans messages for a fixed set of wanted keys, at the top level and inside one nested object. Field `i` of the
 * top level is slot `i`; inside the nested object, slot `keys.length + i`. After a successful {@link scan}, each
 * slot's kind says what was found; strings are byte ranges of the scanned buffer, numbers are parsed. A key seen
 * twice keeps the last value, as JSON.parse does. Values of other keys are checked and skipped.
 *
 * One instance per codec (per call): scanning allocates nothing.
 */
export class JsonFieldScanner {
  readonly kind: Uint8Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly num: Float64Array;
  /** True when the nested object was present in the last scanned message. */
  nestedSeen = false;
  private readonly keyBytes: Uint8Array[];
  private readonly nestedKey: Uint8Array;
  private readonly rawSlots: Uint8Array;

  /**
   * @param keys wanted keys (ASCII)
   * @param nestedKey the one top-level key whose value may be an object (scanned for the same keys)
   * @param rawKeys keys whose string values are not checked character by character here because the caller
   *   validates every byte itself (base64 payloads: anything outside the alphabet is refused there)
   */
  constructor(keys: readonly string[], nestedKey: string, rawKeys: readonly string[] = []) {
    this.keyBytes = keys.map((k) => Buffer.from(k, 'latin1'));
    this.nestedKey = Buffer.from(nestedKey, 'latin1');
    const slots = keys.length * 2;
    this.kind = new Uint8Array(slots);
    this.start = new Int32Array(slots);
    this.end = new Int32Array(slots);
    this.num = new Float64Array(slots);
    this.rawSlots = new Uint8Array(keys.length);
    for (const k of rawKeys) {
      const i = keys.indexOf(k);
      if (i >= 0) this.rawSlots[i] = 1;
    }
  }

  /** Scan `buf`; false when the message is outside the subset (use the general path). */
  scan(buf: Buffer): boolean {
    this.kind.fill(0);
    this.nestedSeen = false;
    const len = buf.length;
    let p = this.object(buf, 0, 0, true);
    if (p < 0) return false;
    while (p < len && isWhitespace(buf[p])) p++;
    return p === len;
  }

  /** Whether the string in `slot` equals `expected` byte for byte. */
  stringEquals(buf: Buffer, slot: number, expected: Uint8Array): boolean {
    const s = this.start[slot];
    const n = this.end[slot] - s;
    if (n !== expected.length) return false;
    for (let i = 0; i < n; i++) if (buf[s + i] !== expected[i]) return false;
    return true;
  }

  /** Parse an object at `p` (after leading whitespace); returns the index after `}` or -1. */
  private object(buf: Buffer, p: number, base: number, top: boolean): number {
    const len = buf.length;
    while (p < len && isWhitespace(buf[p])) p++;
    if (p >= len || buf[p] !== 0x7b) return -1; // {
    p++;
    while (p < len && isWhitespace(buf[p])) p++;
    if (p < len && buf[p] === 0x7d) return p + 1; // }
    for (;;) {
      // key
      if (p >= len || buf[p] !== QUOTE) return -1;
      const ks = p + 1;
      const ke = this.plainString(buf, ks);
      if (ke < 0) return -1;
      p = ke + 1;
      while (p < len && isWhitespace(buf[p])) p++;
      if (p >= len || buf[p] !== 0x3a) return -1; // :
      p++;
      while (p < len && isWhitespace(buf[p])) p++;
      if (p >= len) return -1;
      const slot = this.slotOf(buf, ks, ke);
      const nested = top && this.isNestedKey(buf, ks, ke);
      const b = buf[p];
      if (nested !== (b === 0x7b)) return -1; // an object under any other key, or the named key holding no object
      if (nested) {
        if (this.nestedSeen) return -1; // JSON.parse would keep only the last one

        this.nestedSeen = true;
        p = this.object(buf, p, this.keyBytes.length, false);
        if (p < 0) return -1;
      } else if (b === QUOTE) {
        const vs = p + 1;
        const ve = slot >= 0 && this.rawSlots[slot] === 1 ? this.rawString(buf, vs) : this.plainString(buf, vs);
        if (ve < 0) return -1;
        if (slot >= 0) {
          this.kind[base + slot] = FieldKind.String;
          this.start[base + slot] = vs;
          this.end[base + slot] = ve;
        }
        p = ve + 1;
      } else if (b === 0x2d || isDigit(b)) {
        const ne = this.number(buf, p);
        if (ne < 0) return -1;
        if (slot >= 0) {
          this.kind[base + slot] = FieldKind.Number;
          this.num[base + slot] = Number(buf.toString('latin1', p, ne));
        }
        p = ne;
      } else {
        return -1;
      }
      while (p < len && isWhitespace(buf[p])) p++;
      if (p >= len) return -1;
      if (buf[p] === 0x2c) {
        p++;
        while (p < len && isWhitespace(buf[p])) p++;
        continue;
      }
      if (buf[p] === 0x7d) return p + 1;
      return -1;
    }
  }

  /** End (index of the closing quote) of a string of printable ASCII without escapes starting at `p`, or -1. */
  private plainString(buf: Buffer, p: number): number {
    const len = buf.length;
    for (; p < len; p++) {
      const b = buf[p];
      if (b === QUOTE) return p;
      if (b < 0x20 || b >= 0x7f || b === BACKSLASH) return -1;
    }
    return -1;
  }

  /**
   * End of a string whose bytes the caller validates: the first quote, which ends the string unless a backslash
   * precedes it (an escape: not handled).
   */
  private rawString(buf: Buffer, p: number): number {
    const q = buf.indexOf(QUOTE, p);
    if (q < 0 || buf[q - 1] === BACKSLASH) return -1;
    return q;
  }

  /** RFC 8259 §6 number grammar; returns the index after it or -1. */
  private number(buf: Buffer, p: number): number {
    const len = buf.length;
    if (buf[p] === 0x2d) p++;
    if (p >= len) return -1;
    if (buf[p] === 0x30) p++;
    else if (isDigit(buf[p])) while (p < len && isDigit(buf[p])) p++;
    else return -1;
    if (p < len && buf[p] === 0x2e) {
      p++;
      if (p >= len || !isDigit(buf[p])) return -1;
      while (p < len && isDigit(buf[p])) p++;
    }
    if (p < len && (buf[p] === 0x65 || buf[p] === 0x45)) {
      p++;
      if (p < len && (buf[p] === 0x2b || buf[p] === 0x2d)) p++;
      if (p >= len || !isDigit(buf[p])) return -1;
      while (p < len && isDigit(buf[p])) p++;
    }
    return p;
  }

  private slotOf(buf: Buffer, s: number, e: number): number {
    const keys = this.keyBytes;
    const n = e - s;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (key.length !== n) continue;
      let i = 0;
      while (i < n && buf[s + i] === key[i]) i++;
      if (i === n) return k;
    }
    return -1;
  }

  private isNestedKey(buf: Buffer, s: number, e: number): boolean {
    const key = this.nestedKey;
    if (key.length !== e - s) return false;
    for (let i = 0; i < key.length; i++) if (buf[s + i] !== key[i]) return false;
    return true;
  }
}

/** Base64 alphabet (RFC 4648 §4) -> 6-bit value; -1 for every other byte. */
const B64_VALUE = (() => {
  const t = new Int8Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
})();

const PAD = 0x3d;

/**
 * Decode padded standard base64 (RFC 4648 §4) from `src[start, end)` into `dst`; returns the byte count, or -1 when
 * the text is not canonical padded base64 (length not a multiple of 4, a byte outside the alphabet, `=` anywhere but
 * the last two places) or `dst` is too small. Callers fall back to the general decoder, which also takes unpadded
 * text. Bits past the last whole byte are ignored, as Buffer's decoder does.
 */
export function decodeBase64Bytes(src: Uint8Array, start: number, end: number, dst: Uint8Array): number {
  const n = end - start;
  if (n === 0) return 0;
  if ((n & 3) !== 0) return -1;
  let pad = 0;
  if (src[end - 1] === PAD) pad = src[end - 2] === PAD ? 2 : 1;
  const out = (n >> 2) * 3 - pad;
  if (out > dst.length) return -1;
  const t = B64_VALUE;
  const fullEnd = pad === 0 ? end : end - 4;
  let o = 0;
  let p = start;
  for (; p < fullEnd; p += 4) {
    const a = t[src[p]];
    const b = t[src[p + 1]];
    const c = t[src[p + 2]];
    const d = t[src[p + 3]];
    if ((a | b | c | d) < 0) return -1;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    dst[o] = v >> 16;
    dst[o + 1] = (v >> 8) & 0xff;
    dst[o + 2] = v & 0xff;
    o += 3;
  }
  if (pad > 0) {
    const a = t[src[p]];
    const b = t[src[p + 1]];
    if ((a | b) < 0) return -1;
    dst[o++] = ((a << 2) | (b >> 4)) & 0xff;
    if (pad === 1) {
      const c = t[src[p + 2]];
      if (c < 0) return -1;
      dst[o++] = ((b << 4) | (c >> 2)) & 0xff;
    }
  }
  return o;
}

/**
 * Small string scanners shared by the header parsers: LWS skipping, quoted strings, generic parameters and
 * top-level comma splitting (RFC 3261 §25.1). They work on already-unfolded header values and never throw:
 * failures are reported as -1 / undefined.
 */
import { CH_HT, CH_SP, TOKEN, inClass } from './char-class';

const CH_DQUOTE = 34;
const CH_BACKSLASH = 92;
const CH_SEMI = 59;
const CH_EQ = 61;
const CH_COMMA = 44;
const CH_LT = 60;
const CH_GT = 62;

/** Index of the first non-SP/HT at or after `i`. */
export function skipWs(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== CH_SP && c !== CH_HT) break;
    i++;
  }
  return i;
}

/** Index just past the last non-SP/HT before `end`. */
export function trimEnd(s: string, start: number, end: number): number {
  while (end > start) {
    const c = s.charCodeAt(end - 1);
    if (c !== CH_SP && c !== CH_HT) break;
    end--;
  }
  return end;
}

/** Index just past a run of token characters starting at `i` (== i when none). */
export function scanToken(s: string, i: number): number {
  while (i < s.length && inClass(TOKEN, s.charCodeAt(i))) i++;
  return i;
}

/** Result slot reused by readQuoted to avoid an allocation per call. */
export interface QuotedOut {
  value: string;
}

/**
 * Reads a quoted-string whose opening DQUOTE is at `i` (RFC 3261 §25.1: quoted-pair = "\" (%x00-09 / %x0B-0C /
 * %x0E-7F)). Stores the unescaped content in `out.value`; returns the index after the closing quote, or -1
 * when unterminated or when an escape targets CR/LF.
 */
export function readQuoted(s: string, i: number, out: QuotedOut): number {
  let j = i + 1;
  let plainStart = j;
  let result = '';
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === CH_DQUOTE) {
      out.value = result + s.slice(plainStart, j);
      return j + 1;
    }
    if (c === CH_BACKSLASH) {
      if (j + 1 >= s.length) return -1;
      const n = s.charCodeAt(j + 1);
      if (n === 10 || n === 13 || n > 0x7f) return -1;
      result += s.slice(plainStart, j) + s[j + 1];
      j += 2;
      plainStart = j;
      continue;
    }
    // Bare CR/LF cannot appear once folding is undone; other controls are not qdtext but are tolerated.
    if (c === 10 || c === 13) return -1;
    j++;
  }
  return -1;
}

/**
 * Validates a quoted-string whose opening DQUOTE is at `i` by the rules of readQuoted, without decoding it.
 * Returns the index after the closing quote, or -1.
 */
export function skipQuoted(s: string, i: number, end: number = s.length): number {
  const len = end;
  let j = i + 1;
  while (j < len) {
    const c = s.charCodeAt(j);
    if (c === CH_DQUOTE) return j + 1;
    if (c === CH_BACKSLASH) {
      if (j + 1 >= len) return -1;
      const n = s.charCodeAt(j + 1);
      if (n === 10 || n === 13 || n > 0x7f) return -1;
      j += 2;
      continue;
    }
    if (c === 10 || c === 13) return -1;
    j++;
  }
  return -1;
}

/** Writes `value` as a quoted-string, escaping '"', '\' and control characters (RFC 3261 §25.1 quoted-pair). */
export function quote(value: string): string {
  let needs = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === CH_DQUOTE || c === CH_BACKSLASH || c < 0x20 || c === 0x7f) {
      needs = true;
      break;
    }
  }
  if (!needs) return `"${value}"`;
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 10 || c === 13) out += ' '; // CR and LF cannot be escaped in a quoted-string
    else if (c === CH_DQUOTE || c === CH_BACKSLASH || (c < 0x20 && c !== CH_HT) || c === 0x7f) out += '\\' + value[i];
    else out += value[i];
  }
  return out + '"';
}

function isParamValueChar(c: number): boolean {
  // gen-value = token / host / quoted-string; host adds ':' '[' ']' (IPv6). RFC 5118 §4.5: received may hold
  // a bare IPv6 address, hence ':'.
  return inClass(TOKEN, c) || c === 58 || c === 91 || c === 93;
}

/** isParamValueChar as a table, for the scanners. */
const PARAMVAL = new Uint8Array(256);
for (let c = 0; c < 256; c++) PARAMVAL[c] = isParamValueChar(c) ? 1 : 0;

/** skipWs bounded by `end`. */
export function skipWsTo(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c !== CH_SP && c !== CH_HT) break;
    i++;
  }
  return i;
}

/** scanToken bounded by `end`. */
export function scanTokenTo(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c >= 256 || TOKEN[c] !== 1) break;
    i++;
  }
  return i;
}

/** String.prototype.trim's whitespace (ECMA-262 WhiteSpace and LineTerminator), so ranges trim like strings do. */
export function isJsSpace(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f ||
    c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

const scratch: QuotedOut = { value: '' };

/**
 * Parses `*( SEMI generic-param )` starting at `i` (RFC 3261 §25.1, with SWS around ';' and '=').
 * Keys are lower-cased; a quoted value is kept WITH its quotes so it is written back unchanged; a parameter
 * without value maps to null. Stops at the end of string or at the first character that cannot continue the
 * list (',' for list headers). Returns the stop index, or -1 on a syntax error.
 */
export function parseGenericParams(s: string, i: number, out: Map<string, string | null>): number {
  const len = s.length;
  for (;;) {
    i = skipWs(s, i);
    if (i >= len || s.charCodeAt(i) !== CH_SEMI) return i;
    i = skipWs(s, i + 1);
    const nameEnd = scanToken(s, i);
    if (nameEnd === i) return -1;
    const name = s.slice(i, nameEnd).toLowerCase();
    i = skipWs(s, nameEnd);
    if (i < len && s.charCodeAt(i) === CH_EQ) {
      i = skipWs(s, i + 1);
      if (i < len && s.charCodeAt(i) === CH_DQUOTE) {
        const end = readQuoted(s, i, scratch);
        if (end < 0) return -1;
        out.set(name, s.slice(i, end));
        i = end;
      } else {
        const start = i;
        while (i < len && isParamValueChar(s.charCodeAt(i))) i++;
        if (i === start) return -1;
        out.set(name, s.slice(start, i));
      }
    } else {
      out.set(name, null);
    }
  }
}

/** ParamWatch slot value: the parameter is absent. */
export const PARAM_ABSENT = -1;
/** ParamWatch slot value: the parameter is present without a value (a flag, e.g. `;rport`). */
export const PARAM_FLAG = -2;

/**
 * The parameters scanParams reports: for each watched (lower-case) name, the value range of its last occurrence
 * (the one a Map built by parseGenericParams would keep). `start[k]` is PARAM_ABSENT, PARAM_FLAG, or the offset of
 * the value (quoted values include their quotes), `end[k]` its end.
 */
export class ParamWatch {
  readonly start: Int32Array;
  readonly end: Int32Array;

  constructor(readonly names: readonly string[]) {
    this.start = new Int32Array(names.length);
    this.end = new Int32Array(names.length);
  }
}

/** Index of the watched name equal (ASCII case-insensitively) to the token s[start, end), or -1. */
function watchedSlot(w: ParamWatch, s: string, start: number, end: number): number {
  const names = w.names;
  const n = end - start;
  const c0 = s.charCodeAt(start) | 0x20;
  for (let k = 0; k < names.length; k++) {
    const name = names[k];
    if (name.length !== n || name.charCodeAt(0) !== c0) continue;
    let i = 1;
    // Token characters only: `| 0x20` lower-cases letters and maps nothing else onto a letter.
    while (i < n && (s.charCodeAt(start + i) | 0x20) === name.charCodeAt(i)) i++;
    if (i === n) return k;
  }
  return -1;
}

/**
 * parseGenericParams over s[i, end) without the Map: the same grammar and stop rules, accepting exactly the same
 * input, but only the watched parameters are reported (in `watch`). Allocates nothing.
 */
export function scanParams(s: string, i: number, end: number, watch: ParamWatch): number {
  const ws = watch.start;
  for (let k = 0; k < ws.length; k++) ws[k] = PARAM_ABSENT;
  for (;;) {
    i = skipWsTo(s, i, end);
    if (i >= end || s.charCodeAt(i) !== CH_SEMI) return i;
    i = skipWsTo(s, i + 1, end);
    const nameEnd = scanTokenTo(s, i, end);
    if (nameEnd === i) return -1;
    const slot = watchedSlot(watch, s, i, nameEnd);
    i = skipWsTo(s, nameEnd, end);
    let vs = PARAM_FLAG;
    let ve = 0;
    if (i < end && s.charCodeAt(i) === CH_EQ) {
      i = skipWsTo(s, i + 1, end);
      if (i < end && s.charCodeAt(i) === CH_DQUOTE) {
        const qe = skipQuoted(s, i, end);
        if (qe < 0) return -1;
        vs = i;
        ve = qe;
        i = qe;
      } else {
        const start = i;
        while (i < end) {
          const c = s.charCodeAt(i);
          if (c >= 256 || PARAMVAL[c] !== 1) break;
          i++;
        }
        if (i === start) return -1;
        vs = start;
        ve = i;
      }
    }
    if (slot >= 0) {
      ws[slot] = vs;
      watch.end[slot] = ve;
    }
  }
}

/** Writes a parameter map as `;k=v;flag`. */
export function formatParams(params: Map<string, string | null>): string {
  let out = '';
  for (const [k, v] of params) out += v === null ? `;${k}` : `;${k}=${v}`;
  return out;
}

/**
 * Splits a header value on commas that are outside quoted strings and <...> (RFC 3261 §7.3.1), trimming
 * each element. Empty elements are kept (as '') so that callers validating syntax can reject them.
 */
export function splitTopLevel(s: string): string[] {
  // Fast path: no comma at all.
  if (s.indexOf(',') < 0) return [s.trim()];
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inQuote) {
      if (c === CH_BACKSLASH) i++;
      else if (c === CH_DQUOTE) inQuote = false;
    } else if (c === CH_DQUOTE) inQuote = true;
    else if (c === CH_LT) inAngle = true;
    else if (c === CH_GT) inAngle = false;
    else if (c === CH_COMMA && !inAngle) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(s.slice(start).trim());
  return out;
}

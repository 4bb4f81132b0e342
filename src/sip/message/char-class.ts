/**
 * 256-entry character-class tables for the RFC 3261 §25.1 grammar (pjsip `pj_cis` style).
 * A byte (or UTF-16 code unit below 256) indexes the table; non-zero means "member of the class".
 * Code units >= 256 are never members: callers test `c < 256 && TABLE[c] === 1` through the helpers.
 */

function makeTable(chars: string, ranges: Array<[number, number]> = []): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  for (const [a, b] of ranges) for (let c = a; c <= b; c++) t[c] = 1;
  return t;
}

const ALNUM_RANGES: Array<[number, number]> = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
];

/** alphanum (RFC 3261 §25.1). */
export const ALNUM = makeTable('', ALNUM_RANGES);
/** DIGIT. */
export const DIGIT = makeTable('', [[0x30, 0x39]]);
/** HEXDIG, both cases (RFC 3261 §25.1 is case-insensitive for hex). */
export const HEX = makeTable('abcdefABCDEF', [[0x30, 0x39]]);
/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") — RFC 3261 §25.1. */
export const TOKEN = makeTable("-.!%*_+`'~", ALNUM_RANGES);
/** word: the Call-ID alphabet — RFC 3261 §25.1 `word`. */
export const WORD = makeTable('-.!%*_+`\'~()<>:\\"/[]?{}', ALNUM_RANGES);
/** unreserved = alphanum / mark — RFC 3261 §25.1. */
export const UNRESERVED = makeTable("-_.!~*'()", ALNUM_RANGES);
/** user = 1*( unreserved / escaped / user-unreserved ), user-unreserved = & = + $ , ; ? / */
export const USER = makeTable("-_.!~*'()&=+$,;?/", ALNUM_RANGES);
/** password = *( unreserved / escaped / & = + $ , ) */
export const PASSWORD = makeTable("-_.!~*'()&=+$,", ALNUM_RANGES);
/** paramchar = param-unreserved / unreserved / escaped; param-unreserved = [ ] / : & + $ */
export const PARAMCHAR = makeTable("-_.!~*'()[]/:&+$", ALNUM_RANGES);
/** hname/hvalue chars: hnv-unreserved = [ ] / ? : + $, plus unreserved. */
export const HNVCHAR = makeTable("-_.!~*'()[]/?:+$", ALNUM_RANGES);
/** Hostname characters. '_' is not in RFC 3261 hostname but occurs in the wild; accepted. */
export const HOSTCHAR = makeTable('-._', ALNUM_RANGES);
/** uric for absoluteURI opaque parts (RFC 2396 as referenced by RFC 3261 §25.1), plus '%'. */
export const URIC = makeTable(";/?:@&=+$,-_.!~*'()%[]#", ALNUM_RANGES);
/** Scheme characters after the first ALPHA. */
export const SCHEME = makeTable('+-.', ALNUM_RANGES);
/** tel: URI characters (RFC 3966 §3): phonedigits, visual separators, params. */
export const TELCHAR = makeTable("-_.!~*'()[]/:&+$;=%", ALNUM_RANGES);

export const CH_CR = 13;
export const CH_LF = 10;
export const CH_SP = 32;
export const CH_HT = 9;
export const CH_COLON = 58;

/** True when code unit `c` belongs to `table`. */
export function inClass(table: Uint8Array, c: number): boolean {
  return c < 256 && table[c] === 1;
}

/** True when every code unit of s[start, end) belongs to `table` and the range is non-empty. */
export function allInClass(table: Uint8Array, s: string, start = 0, end = s.length): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 256 || table[c] !== 1) return false;
  }
  return true;
}

/** True when s is a non-empty RFC 3261 token. */
export function isToken(s: string): boolean {
  return allInClass(TOKEN, s);
}

export function isWs(c: number): boolean {
  return c === CH_SP || c === CH_HT;
}

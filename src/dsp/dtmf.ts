/**
 * DTMF signalling frequencies (ITU-T Q.23 §2, Table 1): a key sends one low-group (row) and one
 * high-group (column) sine at the same time.
 *
 *            1209   1336   1477   1633 Hz
 *    697      1      2      3      A
 *    770      4      5      6      B
 *    852      7      8      9      C
 *    941      *      0      #      D
 */
export type DtmfDigit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';

/** Low group (row) frequencies in Hz, ITU-T Q.23. */
export const DTMF_ROW_FREQUENCIES: readonly number[] = [697, 770, 852, 941];
/** High group (column) frequencies in Hz, ITU-T Q.23. */
export const DTMF_COLUMN_FREQUENCIES: readonly number[] = [1209, 1336, 1477, 1633];

/** Keypad layout, row-major: index = row * 4 + column. */
export const DTMF_KEYPAD: readonly DtmfDigit[] = ['1', '2', '3', 'A', '4', '5', '6', 'B', '7', '8', '9', 'C', '*', '0', '#', 'D'];

/** All sixteen digits in dialling order. */
export const DTMF_DIGITS: readonly DtmfDigit[] = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#', 'A', 'B', 'C', 'D'];

/** True when `c` is one of the sixteen DTMF digits (upper-case letters only). */
export function isDtmfDigit(c: string): c is DtmfDigit {
  return c.length === 1 && DTMF_KEYPAD.includes(c as DtmfDigit);
}

/** The [low, high] frequency pair of a digit, in Hz. */
export function dtmfFrequencies(digit: DtmfDigit): [number, number] {
  const index = DTMF_KEYPAD.indexOf(digit);
  if (index < 0) throw new TypeError(`not a DTMF digit: ${JSON.stringify(digit)}`);
  return [DTMF_ROW_FREQUENCIES[index >> 2], DTMF_COLUMN_FREQUENCIES[index & 3]];
}

/** RFC 4733 §3.2 event code of a DTMF digit (0-9 -> 0-9, * -> 10, # -> 11, A-D -> 12-15). */
export function dtmfEventCode(digit: DtmfDigit): number {
  if (digit === '*') return 10;
  if (digit === '#') return 11;
  const c = digit.charCodeAt(0);
  return c >= 0x41 ? c - 0x41 + 12 : c - 0x30;
}

/** The digit for an RFC 4733 §3.2 event code 0-15, or undefined for other events. */
export function dtmfDigitFromEventCode(code: number): DtmfDigit | undefined {
  if (!Number.isInteger(code) || code < 0 || code > 15) return undefined;
  if (code <= 9) return String.fromCharCode(0x30 + code) as DtmfDigit;
  if (code === 10) return '*';
  if (code === 11) return '#';
  return String.fromCharCode(0x41 + code - 12) as DtmfDigit;
}

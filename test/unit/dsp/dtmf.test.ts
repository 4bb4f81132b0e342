import {
  DBM0_PEAK,
  DTMF_DIGITS,
  dbm0ToPeak,
  dbm0ToPower,
  dtmfDigitFromEventCode,
  dtmfEventCode,
  dtmfFrequencies,
  isDtmfDigit,
  measureDbm0,
  powerToDbm0,
} from '../../../src/dsp';

describe('DTMF tables', () => {
  test('Q.23 frequency pairs', () => {
    expect(dtmfFrequencies('1')).toEqual([697, 1209]);
    expect(dtmfFrequencies('0')).toEqual([941, 1336]);
    expect(dtmfFrequencies('#')).toEqual([941, 1477]);
    expect(dtmfFrequencies('D')).toEqual([941, 1633]);
    expect(dtmfFrequencies('B')).toEqual([770, 1633]);
    expect(new Set(DTMF_DIGITS.map((d) => dtmfFrequencies(d).join('+'))).size).toBe(16);
  });

  test('RFC 4733 event codes map both ways', () => {
    expect(DTMF_DIGITS.map(dtmfEventCode)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 11, 12, 13, 14, 15]);
    for (const d of DTMF_DIGITS) expect(dtmfDigitFromEventCode(dtmfEventCode(d))).toBe(d);
    expect(dtmfDigitFromEventCode(16)).toBeUndefined();
    expect(dtmfDigitFromEventCode(-1)).toBeUndefined();
    expect(dtmfDigitFromEventCode(1.5)).toBeUndefined();
  });

  test('isDtmfDigit accepts exactly the 16 digits', () => {
    for (const d of DTMF_DIGITS) expect(isDtmfDigit(d)).toBe(true);
    for (const c of ['a', 'E', '', '12', ' ']) expect(isDtmfDigit(c)).toBe(false);
    expect(() => dtmfFrequencies('x' as never)).toThrow(TypeError);
  });
});

describe('dBm0 level convention', () => {
  test('a full-scale sine is +3.17 dBm0 (G.711)', () => {
    expect(DBM0_PEAK).toBeCloseTo(32767 * Math.pow(10, -3.17 / 20), 6);
    expect(powerToDbm0((32767 * 32767) / 2)).toBeCloseTo(3.17, 6);
    expect(dbm0ToPeak(-20)).toBeCloseTo(DBM0_PEAK / 10, 6);
    expect(powerToDbm0(dbm0ToPower(-30))).toBeCloseTo(-30, 9);
    expect(powerToDbm0(0)).toBe(-Infinity);
  });

  test('measureDbm0 of a sine and of silence', () => {
    const x = Int16Array.from({ length: 8000 }, (_, i) => Math.round(dbm0ToPeak(-10) * Math.sin((2 * Math.PI * 1000 * i) / 8000)));
    expect(measureDbm0(x)).toBeCloseTo(-10, 1);
    expect(measureDbm0(new Int16Array(10))).toBe(-Infinity);
    expect(measureDbm0(new Int16Array(0))).toBe(-Infinity);
  });
});

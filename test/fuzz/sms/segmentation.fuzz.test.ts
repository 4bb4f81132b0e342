import fc from 'fast-check';
import { GSM7_PART, GSM7_SINGLE, UCS2_PART, UCS2_SINGLE, countSegments, parseConcatHeader, splitSegments } from '../../../src/sms';

// Properties of SMS segmentation over arbitrary text, GSM-heavy text and emoji; time-boxed runs.

const gsmChars = fc.constantFrom(...'abcXYZ0123 @£$èéΔ_!?.\n^{}\\[~]|€'.split(''));
const gsmText = fc.array(gsmChars, { maxLength: 700 }).map((a) => a.join(''));
const anyText = fc.string({ unit: 'grapheme', maxLength: 400 });
const mixed = fc.oneof(gsmText, anyText, fc.string({ unit: 'binary', maxLength: 300 }));

function units(text: string, gsm: boolean): number {
  return gsm ? countSegments(text).units : text.length;
}

describe('segmentation properties', () => {
  it('parts join back to the text, respect their capacity and match the segment count', () => {
    fc.assert(
      fc.property(mixed, (text) => {
        const info = countSegments(text);
        const parts = splitSegments(text);
        expect(parts.join('')).toBe(text);
        expect(parts.length).toBe(info.segments);
        const gsm = info.encoding === 'GSM-7';
        if (parts.length > 1) {
          for (const p of parts) expect(units(p, gsm)).toBeLessThanOrEqual(gsm ? GSM7_PART : UCS2_PART);
        } else {
          expect(info.units).toBeLessThanOrEqual(gsm ? GSM7_SINGLE : UCS2_SINGLE);
        }
      }),
      { numRuns: 250 },
    );
  });

  it('never splits a surrogate pair', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 60, maxLength: 300 }), (text) => {
        const parts = splitSegments(text);
        for (let i = 1; i < parts.length; i++) {
          const before = parts[i - 1].charCodeAt(parts[i - 1].length - 1);
          const after = parts[i].charCodeAt(0);
          const splitPair = before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
          expect(splitPair).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('parses any X-SMS-Concat value without throwing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (v) => {
        const r = parseConcatHeader(v);
        if (r.ok) expect(r.info.seq).toBeLessThanOrEqual(r.info.total);
      }),
      { numRuns: 500 },
    );
  });
});

import { concatRefOf, formatConcatHeader, parseConcatHeader } from '../../../src/sms';

describe('X-SMS-Concat', () => {
  it('round-trips through format and parse', () => {
    const info = { ref: 4242, seq: 2, total: 3 };
    expect(parseConcatHeader(formatConcatHeader(info))).toEqual({ ok: true, info });
  });

  it('accepts parameters in any order with whitespace and upper-case names', () => {
    expect(parseConcatHeader(' TOTAL=4 ; Seq = 4; ref=0')).toEqual({ ok: true, info: { ref: 0, seq: 4, total: 4 } });
  });

  it.each([
    ['missing ref', 'seq=1;total=2'],
    ['ref too large', 'ref=65536;seq=1;total=2'],
    ['seq above total', 'ref=1;seq=3;total=2'],
    ['seq zero', 'ref=1;seq=0;total=2'],
    ['total too large', 'ref=1;seq=1;total=256'],
    ['non-numeric', 'ref=ab;seq=1;total=2'],
    ['negative', 'ref=-1;seq=1;total=2'],
    ['empty', ''],
  ])('refuses %s', (_name, value) => {
    expect(parseConcatHeader(value).ok).toBe(false);
  });

  it('derives a stable 16-bit reference from the message id', () => {
    const id = '7d3c8f2e-1b2a-4c5d-8e9f-0a1b2c3d4e5f';
    const ref = concatRefOf(id);
    expect(ref).toBe(concatRefOf(id));
    expect(ref).toBeGreaterThanOrEqual(0);
    expect(ref).toBeLessThanOrEqual(0xffff);
    expect(concatRefOf('7d3c8f2e-1b2a-4c5d-8e9f-0a1b2c3d4e60')).not.toBe(ref);
  });
});

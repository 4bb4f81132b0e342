import { pooledRandomBytes, pooledRandomUint16, pooledRandomUint32 } from '../../../src/util';

describe('pooled CSPRNG bytes', () => {
  it('hands out each pooled byte once, across refills of the 4 KiB pool', () => {
    // 64-byte draws over 3 pools: any byte handed out twice would make two draws equal (probability 2^-512 otherwise).
    const seen = new Set<string>();
    for (let i = 0; i < 3 * 64 + 5; i++) seen.add(pooledRandomBytes(64).toString('hex'));
    expect(seen.size).toBe(3 * 64 + 5);
  });

  it('draws across a refill boundary with odd sizes and keeps every view the asked length', () => {
    for (let i = 0; i < 2000; i++) expect(pooledRandomBytes(7)).toHaveLength(7);
    expect(pooledRandomBytes(0)).toHaveLength(0);
  });

  it('gives 32- and 16-bit integers over their whole range', () => {
    let high32 = false;
    let high16 = false;
    for (let i = 0; i < 2000; i++) {
      const a = pooledRandomUint32();
      const b = pooledRandomUint16();
      expect(Number.isInteger(a) && a >= 0 && a <= 0xffffffff).toBe(true);
      expect(Number.isInteger(b) && b >= 0 && b <= 0xffff).toBe(true);
      high32 ||= a >= 0x80000000;
      high16 ||= b >= 0x8000;
    }
    expect(high32 && high16).toBe(true);
  });

  it('refuses sizes it does not pool', () => {
    expect(() => pooledRandomBytes(65)).toThrow(RangeError);
    expect(() => pooledRandomBytes(-1)).toThrow(RangeError);
    expect(() => pooledRandomBytes(1.5)).toThrow(RangeError);
  });
});

import { MAX_DROPOUT, RtpSequenceValidator, seqAdd, seqDiff, seqGt, seqLt, tsAdd, tsDiff } from '../../../src/rtp';

describe('16-bit sequence helpers', () => {
  it.each([
    [0, 65535, 1],
    [65535, 0, -1],
    [5, 65530, 11],
    [100, 50, 50],
    [50, 100, -50],
    [32767, 0, 32767],
    [32768, 0, -32768],
  ])('seqDiff(%i, %i) = %i', (a, b, d) => {
    expect(seqDiff(a, b)).toBe(d);
  });

  it('seqAdd wraps 65535 -> 0', () => {
    expect(seqAdd(65535, 1)).toBe(0);
    expect(seqAdd(65534, 3)).toBe(1);
    expect(seqAdd(0, -1)).toBe(65535);
  });

  it('orders across the wrap', () => {
    expect(seqLt(65535, 0)).toBe(true);
    expect(seqGt(0, 65535)).toBe(true);
    expect(seqLt(0, 65535)).toBe(false);
    expect(seqLt(7, 7)).toBe(false);
  });

  it('32-bit timestamp helpers wrap', () => {
    expect(tsAdd(0xffffffff, 1)).toBe(0);
    expect(tsAdd(0xffffff00, 0x200)).toBe(0x100);
    expect(tsAdd(5, -10)).toBe(0xfffffffb);
    expect(tsDiff(0x100, 0xffffff00)).toBe(0x200);
    expect(tsDiff(0xffffff00, 0x100)).toBe(-0x200);
  });
});

describe('RtpSequenceValidator (RFC 3550 A.1)', () => {
  function feed(v: RtpSequenceValidator, seqs: number[]): string[] {
    return seqs.map((s) => v.update(s));
  }

  it('needs MIN_SEQUENTIAL packets in sequence before the source is valid', () => {
    const v = new RtpSequenceValidator();
    expect(feed(v, [1000, 1001, 1002])).toEqual(['probation', 'ok', 'ok']);
    expect(v.received).toBe(2);
    expect(v.expected).toBe(2);
    expect(v.lost).toBe(0);
  });

  it('restarts probation on a non-sequential packet', () => {
    const v = new RtpSequenceValidator();
    expect(feed(v, [10, 20, 21, 22])).toEqual(['probation', 'probation', 'ok', 'ok']);
  });

  it('extends the sequence number across 65535 -> 0', () => {
    const v = new RtpSequenceValidator();
    expect(feed(v, [65533, 65534, 65535, 0, 1])).toEqual(['probation', 'ok', 'ok', 'ok', 'ok']);
    expect(v.cycles).toBe(65536);
    expect(v.extendedMax).toBe(65536 + 1);
    expect(v.expected).toBe(4);
    expect(v.lost).toBe(0);
  });

  it('counts a gap as loss and a late packet as misordered', () => {
    const v = new RtpSequenceValidator();
    feed(v, [1, 2, 3, 6]);
    expect(v.lost).toBe(2);
    expect(v.update(4)).toBe('misordered');
    expect(v.lost).toBe(1);
  });

  it('drops one large jump and re-syncs when the next packet confirms it', () => {
    const v = new RtpSequenceValidator();
    feed(v, [1, 2, 3]);
    const jump = 3 + MAX_DROPOUT + 10;
    expect(v.update(jump)).toBe('bad');
    expect(v.update(jump + 1)).toBe('restarted');
    expect(v.update(jump + 2)).toBe('ok');
    expect(v.baseSeq).toBe(jump + 1);
  });

  it('computes the fraction lost per interval (A.3)', () => {
    const v = new RtpSequenceValidator();
    feed(v, [0, 1, 2, 3]);
    expect(v.takeFractionLost()).toBe(0);
    // 8 expected, 6 received: 2/8 lost = 64/256.
    feed(v, [4, 5, 7, 8, 10, 11]);
    expect(v.takeFractionLost()).toBe(64);
    feed(v, [12]);
    expect(v.takeFractionLost()).toBe(0);
  });
});

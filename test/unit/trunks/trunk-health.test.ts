import { TrunkHealth } from '../../../src/trunks';

describe('TrunkHealth', () => {
  it('goes up on the first answer, down after N consecutive misses, up after M consecutive answers', () => {
    const h = new TrunkHealth({ downAfter: 3, upAfter: 2 });
    expect(h.status).toBe('unknown');
    expect(h.observe(true)).toBe('up');
    expect(h.observe(false)).toBeUndefined();
    expect(h.observe(false)).toBeUndefined();
    expect(h.observe(true)).toBeUndefined(); // an answer resets the miss count
    expect(h.observe(false)).toBeUndefined();
    expect(h.observe(false)).toBeUndefined();
    expect(h.observe(false)).toBe('down');
    expect(h.observe(true)).toBeUndefined();
    expect(h.observe(false)).toBeUndefined(); // a miss resets the answer count
    expect(h.observe(true)).toBeUndefined();
    expect(h.observe(true)).toBe('up');
    expect(h.status).toBe('up');
  });
  it('marks an unknown trunk down after N misses', () => {
    const h = new TrunkHealth({ downAfter: 2, upAfter: 1 });
    h.observe(false);
    expect(h.observe(false)).toBe('down');
    expect(h.observe(true)).toBe('up');
  });
  it('rejects thresholds below 1', () => {
    expect(() => new TrunkHealth({ downAfter: 0, upAfter: 1 })).toThrow(TypeError);
  });
});

import { FrameRing, SampleRing } from '../../../src/media';

function ramp(n: number, from = 1): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => from + i);
}

describe('SampleRing', () => {
  it('is a FIFO across the wrap point, whatever the chunk sizes', () => {
    const ring = new SampleRing(16);
    const out: number[] = [];
    const dst = new Int16Array(5);
    let next = 1;
    // Writes of 7 and reads of 5 walk head and tail around the 16-sample ring many times.
    for (let round = 0; round < 40; round++) {
      if (ring.free >= 7) {
        expect(ring.write(ramp(7, next), false)).toBe(7);
        next += 7;
      }
      const n = ring.read(dst);
      out.push(...dst.subarray(0, n));
      expect(ring.lastConcealed).toBe(0);
    }
    expect(out).toEqual(Array.from({ length: out.length }, (_, i) => i + 1));
    expect(out.length).toBeGreaterThan(150);
  });

  it('writes only what fits, and a prefix of src when asked', () => {
    const ring = new SampleRing(8);
    expect(ring.write(ramp(6), false, 4)).toBe(4);
    expect(ring.write(ramp(6, 100), false)).toBe(4);
    expect(ring.free).toBe(0);
    expect(ring.write(ramp(1), false)).toBe(0);
    const dst = new Int16Array(10);
    expect(ring.read(dst)).toBe(8);
    expect([...dst.subarray(0, 8)]).toEqual([1, 2, 3, 4, 100, 101, 102, 103]);
  });

  it('reports how many of the samples read were concealment, across the wrap', () => {
    const ring = new SampleRing(16);
    const dst = new Int16Array(6);
    ring.write(ramp(10), false);
    ring.read(new Int16Array(10)); // head at 10
    ring.write(ramp(4, 50), false);
    ring.writeSilence(5, true); // positions 14..15 and 0..2: across the wrap
    ring.write(ramp(3, 70), true);
    expect(ring.read(dst)).toBe(6);
    expect([...dst]).toEqual([50, 51, 52, 53, 0, 0]);
    expect(ring.lastConcealed).toBe(2);
    expect(ring.read(dst)).toBe(6);
    expect([...dst]).toEqual([0, 0, 0, 70, 71, 72]);
    expect(ring.lastConcealed).toBe(6);
    // Clean audio after the concealment reads as clean.
    ring.write(ramp(6, 90), false);
    ring.read(dst);
    expect(ring.lastConcealed).toBe(0);
  });

  it('forgets the concealment of skipped and cleared samples', () => {
    const ring = new SampleRing(8);
    const dst = new Int16Array(4);
    ring.writeSilence(4, true);
    ring.write(ramp(4), false);
    expect(ring.skip(5)).toBe(5);
    ring.read(dst);
    expect(ring.lastConcealed).toBe(0);
    expect([...dst.subarray(0, 3)]).toEqual([2, 3, 4]);
    ring.writeSilence(3, true);
    ring.clear();
    ring.write(ramp(4), false);
    ring.read(dst);
    expect(ring.lastConcealed).toBe(0);
    expect(ring.size).toBe(0);
  });
});

describe('FrameRing', () => {
  it('moves whole frames first in, first out, across the wrap', () => {
    const ring = new FrameRing(4, 3);
    const dst = new Int16Array(4);
    const out: number[] = [];
    for (let f = 0; f < 10; f++) {
      expect(ring.write(ramp(4, f * 10))).toBe(4);
      if (f % 2 === 1) {
        while (ring.size > 0) {
          expect(ring.read(dst)).toBe(4);
          out.push(dst[0]);
        }
      }
    }
    expect(out).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(ring.read(dst)).toBe(0);
  });

  it('refuses a frame when full, drops the oldest on skip, pads a short frame', () => {
    const ring = new FrameRing(4, 2);
    ring.write(ramp(4, 1));
    ring.write(ramp(4, 5));
    expect(ring.write(ramp(4, 9))).toBe(0);
    expect(ring.size).toBe(8);
    expect(ring.skip(4)).toBe(4);
    ring.write(ramp(2, 20));
    const dst = new Int16Array(4);
    ring.read(dst);
    expect([...dst]).toEqual([5, 6, 7, 8]);
    ring.read(dst);
    expect([...dst]).toEqual([20, 21, 0, 0]);
    ring.write(ramp(4));
    ring.clear();
    expect(ring.size).toBe(0);
  });
});

import { Resampler, resample } from '../../../src/dsp';
import { UnsupportedError } from '../../../src/util';
import { amplitudeAt, power, prng, tones } from './signal-helpers';

/** Stream `x` through `r` in frames of `frame` input samples; returns the concatenated output. */
function stream(r: Resampler, x: Int16Array, frame: number | (() => number)): Int16Array {
  const out: number[] = [];
  const dst = new Int16Array(r.maxOutputLength(x.length));
  for (let i = 0; i < x.length; ) {
    const n = Math.min(x.length - i, typeof frame === 'number' ? frame : frame());
    const w = r.processInto(x.subarray(i, i + n), dst);
    for (let k = 0; k < w; k++) out.push(dst[k]);
    i += n;
  }
  return Int16Array.from(out);
}

function db(ratio: number): number {
  return 20 * Math.log10(ratio);
}

const PAIRS: [number, number][] = [
  [8000, 16000],
  [16000, 8000],
  [8000, 24000],
  [24000, 8000],
];

describe('Resampler', () => {
  test('reduces the ratio and produces fixed 20 ms frames for integer ratios', () => {
    for (const [from, to] of PAIRS) {
      const r = new Resampler(from, to);
      const inFrame = from / 50;
      const outFrame = to / 50;
      const dst = new Int16Array(r.maxOutputLength(inFrame));
      for (let i = 0; i < 20; i++) expect(r.processInto(new Int16Array(inFrame), dst)).toBe(outFrame);
    }
    const r = new Resampler(44100, 8000);
    expect([r.upFactor, r.downFactor]).toEqual([80, 441]);
  });

  test.each(PAIRS)('%i -> %i Hz keeps passband tones within 1 dB (300 Hz .. 3.4 kHz sweep)', (from, to) => {
    for (const f of [300, 500, 1000, 1500, 2000, 2500, 3000, 3400]) {
      const r = new Resampler(from, to);
      const x = tones([{ f, dbm0: -10 }], 300, from);
      const y = stream(r, x, from / 50);
      // Skip the filter's start-up (its delay plus margin), measure over whole 10 ms periods.
      const start = Math.ceil(r.delay) + to / 50;
      const len = Math.floor((y.length - start) / (to / 100)) * (to / 100);
      const gain = amplitudeAt(y, f, to, start, start + len) / amplitudeAt(x, f, from, 0, Math.floor(x.length / (from / 100)) * (from / 100));
      expect(Math.abs(db(gain))).toBeLessThan(1);
    }
  });

  test.each([
    [16000, 8000, [4200, 4500, 5000, 6000, 7000, 7900]],
    [24000, 8000, [4300, 5000, 6000, 8000, 10000, 11900]],
  ] as [number, number, number[]][])('%i -> %i Hz attenuates tones above the output Nyquist by more than 40 dB', (from, to, freqs) => {
    for (const f of freqs) {
      const r = new Resampler(from, to);
      const x = tones([{ f, dbm0: 0 }], 300, from);
      const y = stream(r, x, from / 50);
      const start = Math.ceil(r.delay) + 10;
      expect(db(Math.sqrt(power(y, start) / power(x)))).toBeLessThan(-40);
    }
  });

  test.each([
    [8000, 16000],
    [8000, 24000],
  ])('%i -> %i Hz suppresses the spectral images of upsampling by more than 40 dB', (from, to) => {
    for (const f of [500, 1000, 3000]) {
      const r = new Resampler(from, to);
      const y = stream(r, tones([{ f, dbm0: -3 }], 300, from), from / 50);
      const start = Math.ceil(r.delay) + 10;
      const wanted = amplitudeAt(y, f, to, start, y.length);
      for (let image = from - f; image < to / 2; image += from) {
        expect(db(amplitudeAt(y, image, to, start, y.length) / wanted)).toBeLessThan(-40);
        if (image + 2 * f < to / 2) expect(db(amplitudeAt(y, image + 2 * f, to, start, y.length) / wanted)).toBeLessThan(-40);
      }
    }
  });

  test('streaming in 20 ms frames or odd-sized chunks equals one call on the whole buffer', () => {
    const rand = prng(3);
    const x = Int16Array.from({ length: 8000 }, () => Math.round((rand() - 0.5) * 20000));
    for (const [from, to] of [...PAIRS, [44100, 8000] as [number, number], [8000, 11025] as [number, number]]) {
      const whole = stream(new Resampler(from, to), x, x.length);
      expect(stream(new Resampler(from, to), x, 160)).toEqual(whole);
      expect(stream(new Resampler(from, to), x, () => 1 + Math.floor(rand() * 400))).toEqual(whole);
    }
  });

  test('reset() forgets the history (barge-in)', () => {
    const r = new Resampler(8000, 16000);
    const dst = new Int16Array(r.maxOutputLength(160));
    r.processInto(tones([{ f: 1000, dbm0: 0 }], 20), dst);
    r.reset();
    const n = r.processInto(new Int16Array(160), dst);
    expect(Array.from(dst.subarray(0, n)).every((v) => v === 0)).toBe(true);
    // After reset, the output is the same as a fresh instance's.
    const x = tones([{ f: 700, dbm0: -6 }], 40);
    r.reset();
    expect(stream(r, x, 160)).toEqual(stream(new Resampler(8000, 16000), x, 160));
  });

  test('rejects bad rates and too-small output buffers', () => {
    expect(() => new Resampler(0, 8000)).toThrow(TypeError);
    expect(() => new Resampler(8000, 8000.5)).toThrow(TypeError);
    expect(() => new Resampler(8000, 7919)).toThrow(UnsupportedError);
    const r = new Resampler(8000, 16000);
    expect(() => r.processInto(new Int16Array(160), new Int16Array(100))).toThrow(RangeError);
  });

  test('same rate passes samples through unchanged', () => {
    const x = tones([{ f: 440, dbm0: -3 }], 50);
    expect(stream(new Resampler(8000, 8000), x, 160)).toEqual(x);
    expect(resample(x, 8000, 8000)).toEqual(x);
  });
});

describe('resample (one-shot)', () => {
  test('compensates the filter delay: output lines up with an ideal sine at the new rate', () => {
    const x = tones([{ f: 1000, dbm0: -3 }], 200, 8000);
    const y = resample(x, 8000, 16000);
    expect(y.length).toBe(x.length * 2);
    const ideal = tones([{ f: 1000, dbm0: -3 }], 200, 16000);
    let maxErr = 0;
    for (let i = 400; i < y.length - 400; i++) maxErr = Math.max(maxErr, Math.abs(y[i] - ideal[i]));
    expect(maxErr).toBeLessThan(0.01 * 22767 * Math.pow(10, -3 / 20) + 2);
  });

  test.each([
    [44100, 8000],
    [22050, 8000],
    [48000, 8000],
    [11025, 8000],
    [44100, 16000],
  ])('%i -> %i Hz: arbitrary ratio keeps 1 kHz and removes content above 4 kHz', (from, to) => {
    const x = tones([{ f: 1000, dbm0: -6 }], 250, from);
    const y = resample(x, from, to);
    expect(y.length).toBe(Math.round((x.length * to) / from));
    const gain = amplitudeAt(y, 1000, to, 100, y.length - 100) / amplitudeAt(x, 1000, from);
    expect(Math.abs(db(gain))).toBeLessThan(1);
    const high = Math.min(from / 2 - 500, 10000);
    if (high > to / 2 + 200) {
      const h = resample(tones([{ f: high, dbm0: -6 }], 250, from), from, to);
      expect(db(Math.sqrt(power(h, 100, h.length - 100) / power(x)))).toBeLessThan(-40);
    }
  });
});

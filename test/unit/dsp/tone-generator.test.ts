import {
  BUSY_NORTH_AMERICA,
  RINGBACK_UK,
  ToneGenerator,
  busySequence,
  callProgressSequence,
  dtmfSequence,
  dualToneSequence,
  measureDbm0,
  powerToDbm0,
  ringbackSequence,
} from '../../../src/dsp';
import { amplitudeAt, power, prng } from './signal-helpers';

/** Run a generator for `ms` in 20 ms frames, copying each frame out. */
function render(gen: ToneGenerator, ms: number): Int16Array {
  const frames = Math.round(ms / 20);
  const out = new Int16Array(frames * gen.frameSize);
  for (let i = 0; i < frames; i++) out.set(gen.nextFrame(), i * gen.frameSize);
  return out;
}

function levelOf(x: Int16Array, f: number, from: number, to: number): number {
  const a = amplitudeAt(x, f, 8000, from, to);
  return powerToDbm0((a * a) / 2);
}

describe('ToneGenerator', () => {
  test('a 0 dBm0 sine has the level convention of levels.ts', () => {
    const gen = new ToneGenerator(callProgressSequence({ frequencies: [1004], levelDbm0: 0, cadenceMs: [] }));
    expect(measureDbm0(render(gen, 1000))).toBeCloseTo(0, 1);
  });

  test('DTMF digits carry the Q.23 frequency pair at the configured levels and twist', () => {
    const gen = new ToneGenerator(dtmfSequence('1D', { durationMs: 100, pauseMs: 100, levelDbm0: -10, twistDb: 3 }));
    const x = render(gen, 400);
    // Digit 1 = 697 + 1209 Hz, from 0 to 800 samples; D = 941 + 1633 Hz from 1600 to 2400.
    expect(levelOf(x, 697, 0, 800)).toBeCloseTo(-10, 0);
    expect(levelOf(x, 1209, 0, 800)).toBeCloseTo(-7, 0);
    expect(levelOf(x, 941, 1600, 2400)).toBeCloseTo(-10, 0);
    expect(levelOf(x, 1633, 1600, 2400)).toBeCloseTo(-7, 0);
    expect(levelOf(x, 941, 0, 800)).toBeLessThan(-40);
    expect(power(x, 800, 1600)).toBe(0);
    expect(gen.done).toBe(true);
  });

  test('frames join phase-continuously: any frame size gives the same samples', () => {
    const seq = ringbackSequence();
    const whole = new Int16Array(8000 * 7);
    new ToneGenerator(seq).fill(whole);
    expect(render(new ToneGenerator(seq), 7000)).toEqual(whole);
    const rand = prng(11);
    const gen = new ToneGenerator(seq);
    const pieces = new Int16Array(whole.length);
    for (let i = 0; i < pieces.length; ) {
      const n = Math.min(pieces.length - i, 1 + Math.floor(rand() * 500));
      gen.fill(pieces.subarray(i, i + n));
      i += n;
    }
    expect(pieces).toEqual(whole);
  });

  test('no discontinuity at frame boundaries inside a tone', () => {
    const gen = new ToneGenerator(dualToneSequence(440, 480, 1000, 0, -6));
    const x = render(gen, 1000);
    let maxStep = 0;
    for (let i = 1; i < x.length; i++) maxStep = Math.max(maxStep, Math.abs(x[i] - x[i - 1]));
    // The steepest slope of the sum is about 2 * pi * (440 + 480) / 8000 * peak.
    expect(maxStep).toBeLessThan(((2 * Math.PI * 920) / 8000) * 11400 * 1.05);
  });

  test('North American ringback: 440 + 480 Hz, 2 s on, 4 s off, repeating', () => {
    const x = render(new ToneGenerator(ringbackSequence()), 13000);
    const on = (fromMs: number) => levelOf(x, 440, fromMs * 8, fromMs * 8 + 800);
    expect(on(100)).toBeCloseTo(-19, 0);
    expect(levelOf(x, 480, 800, 1600)).toBeCloseTo(-19, 0);
    expect(on(1800)).toBeCloseTo(-19, 0);
    expect(power(x, 2000 * 8, 6000 * 8)).toBe(0);
    expect(on(6100)).toBeCloseTo(-19, 0);
    expect(power(x, 8000 * 8, 12000 * 8)).toBe(0);
    expect(on(12100)).toBeCloseTo(-19, 0);
  });

  test('busy: 480 + 620 Hz, 0.5 s on / 0.5 s off; other cadences are configurable', () => {
    const x = render(new ToneGenerator(busySequence()), 2000);
    expect(levelOf(x, 620, 0, 4000)).toBeCloseTo(BUSY_NORTH_AMERICA.levelDbm0, 0);
    expect(power(x, 4000, 8000)).toBe(0);
    expect(levelOf(x, 480, 8000, 12000)).toBeCloseTo(-24, 0);
    const uk = render(new ToneGenerator(ringbackSequence(RINGBACK_UK)), 3000);
    expect(power(uk, 3200, 4800)).toBe(0); // 400-600 ms: the short pause of the UK double ring
    expect(levelOf(uk, 450, 4800, 8000)).toBeCloseTo(-19, 0);
  });

  test('fill() reports how much of a finite sequence was left and zero-fills the rest', () => {
    const gen = new ToneGenerator(dtmfSequence('5', { durationMs: 30, pauseMs: 0 }));
    expect(gen.lengthSamples).toBe(240);
    const dst = new Int16Array(160).fill(1);
    expect(gen.fill(dst)).toBe(160);
    expect(gen.fill(dst)).toBe(80);
    expect(Array.from(dst.subarray(80)).every((v) => v === 0)).toBe(true);
    expect(gen.done).toBe(true);
    expect(gen.fill(dst)).toBe(0);
    gen.reset();
    expect(gen.done).toBe(false);
  });

  test('nextFrame() reuses one buffer of 20 ms', () => {
    const gen = new ToneGenerator(ringbackSequence(), { sampleRate: 16000 });
    const a = gen.nextFrame();
    expect(a.length).toBe(320);
    expect(gen.nextFrame()).toBe(a);
  });

  test('rejects invalid input', () => {
    expect(() => dtmfSequence('12x')).toThrow(TypeError);
    expect(() => dtmfSequence('1', { durationMs: 0 })).toThrow(TypeError);
    expect(dtmfSequence('abcd').segments[0].frequencies).toEqual([697, 1633]);
    expect(() => new ToneGenerator(dualToneSequence(440, 5000, 100))).toThrow(TypeError);
    expect(() => new ToneGenerator({ segments: [{ frequencies: [440, 480], levelsDbm0: [1, 2, 3], durationMs: 10 }], repeat: false })).toThrow(TypeError);
  });
});

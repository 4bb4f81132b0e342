/** Signal synthesis and measurement helpers shared by the dsp tests. */
import { dbm0ToPeak, dtmfFrequencies, DtmfDigit, DtmfDigitEvent, GoertzelDtmfDetector, GoertzelDtmfDetectorOptions } from '../../../src/dsp';

/** Deterministic PRNG (mulberry32) so noise tests are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples from a seeded PRNG (Box-Muller). */
export function gaussian(seed: number): () => number {
  const rand = prng(seed);
  return () => {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

export function clamp16(v: number): number {
  return v >= 32767 ? 32767 : v <= -32768 ? -32768 : Math.round(v);
}

/** Sum of sines (frequency Hz, level dBm0, phase rad) for `ms` milliseconds. */
export function tones(parts: { f: number; dbm0: number; phase?: number }[], ms: number, rate = 8000): Int16Array {
  const n = Math.round((ms * rate) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (const p of parts) acc += dbm0ToPeak(p.dbm0) * Math.sin((2 * Math.PI * p.f * i) / rate + (p.phase ?? 0));
    out[i] = clamp16(acc);
  }
  return out;
}

export interface DtmfToneSpec {
  ms?: number;
  /** Low-group level, dBm0 (default -10). */
  dbm0?: number;
  /** High-group level minus low-group level, dB (default 0). */
  twistDb?: number;
  /** Relative frequency offsets of the row and column tones. */
  rowOffset?: number;
  colOffset?: number;
  rate?: number;
  phase?: number;
}

/** One DTMF tone pair, synthesised independently of ToneGenerator. */
export function dtmfTone(digit: DtmfDigit, spec: DtmfToneSpec = {}): Int16Array {
  const [low, high] = dtmfFrequencies(digit);
  const level = spec.dbm0 ?? -10;
  return tones(
    [
      { f: low * (1 + (spec.rowOffset ?? 0)), dbm0: level, phase: spec.phase ?? 0 },
      { f: high * (1 + (spec.colOffset ?? 0)), dbm0: level + (spec.twistDb ?? 0), phase: (spec.phase ?? 0) * 1.7 },
    ],
    spec.ms ?? 80,
    spec.rate ?? 8000,
  );
}

export function silence(ms: number, rate = 8000): Int16Array {
  return new Int16Array(Math.round((ms * rate) / 1000));
}

export function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Mean power of a range of samples. */
export function power(x: ArrayLike<number>, from = 0, to = x.length): number {
  let acc = 0;
  for (let i = from; i < to; i++) acc += x[i] * x[i];
  return to > from ? acc / (to - from) : 0;
}

/** Add white Gaussian noise at `snrDb` below the mean power of `x` (computed over the non-silent samples). */
export function addNoise(x: Int16Array, snrDb: number, seed: number, referencePower?: number): Int16Array {
  const ref = referencePower ?? power(x);
  const sigma = Math.sqrt(ref / Math.pow(10, snrDb / 10));
  const g = gaussian(seed);
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = clamp16(x[i] + sigma * g());
  return out;
}

/** Amplitude of the component at `f` Hz (single-bin DFT over the range). */
export function amplitudeAt(x: ArrayLike<number>, f: number, rate: number, from = 0, to = x.length): number {
  let re = 0;
  let im = 0;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * f * i) / rate;
    re += x[i] * Math.cos(w);
    im -= x[i] * Math.sin(w);
  }
  return (2 * Math.sqrt(re * re + im * im)) / (to - from);
}

/** Run a detector over `x` in frames of `frame` samples (default 20 ms) and collect the digit events. */
export function detect(x: Int16Array, options: GoertzelDtmfDetectorOptions = {}, frame = 160): DtmfDigitEvent[] {
  const events: DtmfDigitEvent[] = [];
  const det = new GoertzelDtmfDetector({ ...options, onDigit: (e) => events.push(e) });
  for (let i = 0; i < x.length; i += frame) det.process(x.subarray(i, Math.min(x.length, i + frame)));
  det.flush();
  return events;
}

export function digitsOf(events: DtmfDigitEvent[]): string {
  return events.map((e) => e.digit).join('');
}

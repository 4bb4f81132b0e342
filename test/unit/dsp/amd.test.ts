import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AnsweringMachineDetector, loadWavAs8kMono, type AmdBeep, type AmdOptions, type AmdResult } from '../../../src/dsp';
import { gaussian, tones } from './signal-helpers';

const FIXTURES = join(__dirname, '../../fixtures/audio');

function fixture(name: string): Int16Array {
  return loadWavAs8kMono(readFileSync(join(FIXTURES, name)));
}

interface Run {
  results: AmdResult[];
  beeps: AmdBeep[];
}

/** Feed `pcm` in frames of `frame` samples, collecting every verdict and beep. */
function run(pcm: Int16Array, options: AmdOptions = {}, frame = 160): Run {
  const d = new AnsweringMachineDetector(options);
  const beeps: AmdBeep[] = [];
  d.onBeep((b) => beeps.push(b));
  const results: AmdResult[] = [];
  for (let i = 0; i < pcm.length; i += frame) {
    const r = d.push(pcm.subarray(i, Math.min(i + frame, pcm.length)));
    if (r) results.push(r);
  }
  return { results, beeps };
}

function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const silence = (ms: number): Int16Array => new Int16Array((ms * 8000) / 1000);

/** Noise bursts shaped like words: `count` bursts of `wordMs` with `gapMs` between. */
function words(count: number, wordMs: number, gapMs: number, seed = 1): Int16Array {
  const g = gaussian(seed);
  const parts: Int16Array[] = [];
  for (let w = 0; w < count; w++) {
    const burst = new Int16Array((wordMs * 8000) / 1000);
    for (let i = 0; i < burst.length; i++) burst[i] = Math.round(g() * 3000);
    parts.push(burst);
    if (w < count - 1) parts.push(silence(gapMs));
  }
  return concat(...parts);
}

describe('AnsweringMachineDetector', () => {
  it('classifies a long spoken greeting as a machine and then reports the 1 kHz beep', () => {
    const { results, beeps } = run(fixture('amd/machine-greeting-beep.wav'));
    expect(results).toHaveLength(1);
    expect(results[0].result).toBe('machine');
    expect(['long-greeting', 'max-words', 'long-word']).toContain(results[0].reason);
    expect(beeps).toHaveLength(1);
    expect(Math.abs(beeps[0].frequencyHz - 1000)).toBeLessThanOrEqual(30);
    expect(beeps[0].durationMs).toBeGreaterThanOrEqual(150);
    // The beep comes after the greeting (fixture: greeting ends ~9.2 s, beep starts ~9.7 s).
    expect(beeps[0].afterMs).toBeGreaterThan(results[0].afterMs);
    expect(beeps[0].afterMs).toBeGreaterThan(9000);
  });

  it('classifies a short "hello?" followed by silence as a human, without a beep', () => {
    const { results, beeps } = run(fixture('amd/human-hello.wav'));
    expect(results).toEqual([expect.objectContaining({ result: 'human', reason: 'short-greeting', words: 1 })]);
    expect(results[0].speechMs).toBeLessThan(1000);
    expect(beeps).toHaveLength(0);
  });

  it('gives the same verdict whatever the frame size', () => {
    const pcm = fixture('amd/machine-greeting-beep.wav');
    const a = run(pcm, {}, 160);
    const b = run(pcm, {}, 37);
    const c = run(pcm, {}, 4000);
    expect(b.results[0]).toEqual(a.results[0]);
    expect(c.results[0]).toEqual(a.results[0]);
    expect(b.beeps).toEqual(a.beeps);
  });

  it('never mistakes continuous speech for a beep', () => {
    const { results, beeps } = run(fixture('speech-8k-mono.wav'));
    expect(results[0].result).toBe('machine');
    expect(beeps).toHaveLength(0);
  });

  it('reports notsure after the initial silence', () => {
    const { results } = run(silence(4000));
    expect(results).toEqual([expect.objectContaining({ result: 'notsure', reason: 'initial-silence', afterMs: 2500, words: 0 })]);
  });

  it('counts words: more than maxWords short words is a machine', () => {
    const { results } = run(concat(silence(200), words(5, 300, 150), silence(1000)));
    expect(results).toEqual([expect.objectContaining({ result: 'machine', reason: 'max-words', words: 4 })]);
  });

  it('takes two short words then silence as a human', () => {
    const { results } = run(concat(silence(200), words(2, 300, 150), silence(1000)));
    expect(results).toEqual([expect.objectContaining({ result: 'human', reason: 'short-greeting', words: 2 })]);
  });

  it('calls near-continuous speech past greetingMs a long greeting', () => {
    const { results } = run(concat(words(1, 3000, 0), silence(1000)), { maxWordMs: 10_000 });
    expect(results).toEqual([expect.objectContaining({ result: 'machine', reason: 'long-greeting' })]);
    expect(results[0].afterMs).toBe(2500);
  });

  it('ignores a click shorter than a word in the initial silence', () => {
    const { results } = run(concat(silence(500), words(1, 40, 0), silence(3000)));
    expect(results).toEqual([expect.objectContaining({ result: 'notsure', reason: 'initial-silence' })]);
  });

  it('stops at totalAnalysisMs when speech and pauses keep alternating', () => {
    // Words separated by pauses too short to mean "waiting" but too few to reach maxWords or greetingMs.
    const { results } = run(concat(words(3, 300, 600), silence(3000)), { afterGreetingSilenceMs: 4000, totalAnalysisMs: 2000 });
    expect(results).toEqual([expect.objectContaining({ result: 'notsure', reason: 'max-analysis-time', afterMs: 2000 })]);
  });

  it('detects a synthetic beep in the configured band and rejects one outside it', () => {
    const pcm = concat(words(1, 3000, 0), silence(300), tones([{ f: 1400, dbm0: -10 }], 300), silence(300));
    expect(run(pcm).beeps).toEqual([expect.objectContaining({ frequencyHz: expect.any(Number) })]);
    expect(Math.abs(run(pcm).beeps[0].frequencyHz - 1400)).toBeLessThanOrEqual(30);
    expect(run(pcm, { beepMaxHz: 1200 }).beeps).toHaveLength(0);
  });

  it('wants the tone to last beepMinMs', () => {
    const short = concat(silence(200), tones([{ f: 1000, dbm0: -10 }], 100), silence(500));
    expect(run(short).beeps).toHaveLength(0);
    const long = concat(silence(200), tones([{ f: 1000, dbm0: -10 }], 200), silence(500));
    expect(run(long).beeps).toHaveLength(1);
  });

  it('rejects a dual tone (DTMF is not a beep)', () => {
    const dtmf = concat(silence(200), tones([{ f: 770, dbm0: -10 }, { f: 1336, dbm0: -8 }], 400), silence(500));
    expect(run(dtmf).beeps).toHaveLength(0);
  });

  it('stops listening for a beep after beepWindowMs', () => {
    const pcm = concat(silence(3000), tones([{ f: 1000, dbm0: -10 }], 400));
    expect(run(pcm, { beepWindowMs: 2000 }).beeps).toHaveLength(0);
    expect(run(pcm, { beepWindowMs: 5000 }).beeps).toHaveLength(1);
  });

  it('reports the verdict once and starts over after reset()', () => {
    const d = new AnsweringMachineDetector();
    const hello = fixture('amd/human-hello.wav');
    const first = d.push(hello);
    expect(first?.result).toBe('human');
    expect(d.result).toEqual(first);
    expect(d.push(hello)).toBeUndefined();
    d.reset();
    expect(d.result).toBeUndefined();
    expect(d.push(hello)).toEqual(first);
  });

  it('rejects nonsensical options', () => {
    expect(() => new AnsweringMachineDetector({ greetingMs: 0 })).toThrow(TypeError);
    expect(() => new AnsweringMachineDetector({ beepMinHz: 2000, beepMaxHz: 1000 })).toThrow(TypeError);
    expect(() => new AnsweringMachineDetector({ beepPurity: 1.5 })).toThrow(TypeError);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DTMF_DIGITS,
  DtmfDigit,
  DtmfDigitEvent,
  GoertzelDtmfDetector,
  PCMU,
  PCMA,
  ToneGenerator,
  dtmfSequence,
  loadWavAs8kMono,
  resample,
} from '../../../src/dsp';
import { addNoise, clamp16, concat, detect, digitsOf, dtmfTone, gaussian, prng, silence, tones } from './signal-helpers';

const SPEECH = join(__dirname, '../../fixtures/audio/speech-8k-mono.wav');

/** Silence, tone, silence: the usual shape of one key press. */
function press(digit: DtmfDigit, spec: Parameters<typeof dtmfTone>[1] = {}, leadSamples = 0): Int16Array {
  return concat(new Int16Array(leadSamples), dtmfTone(digit, spec), silence(100));
}

describe('GoertzelDtmfDetector', () => {
  test('detects each of the 16 digits once, with its timing', () => {
    for (const digit of DTMF_DIGITS) {
      const events = detect(concat(silence(60), dtmfTone(digit, { ms: 100 }), silence(100)));
      expect(digitsOf(events)).toBe(digit);
      expect(Math.abs(events[0].startMs - 60)).toBeLessThanOrEqual(10);
      expect(Math.abs(events[0].durationMs - 100)).toBeLessThanOrEqual(15);
      expect(events[0].endMs - events[0].startMs).toBe(events[0].durationMs);
    }
  });

  test('detects all 16 digits sent back to back by the tone generator (60 ms on / 60 ms off)', () => {
    const gen = new ToneGenerator(dtmfSequence(DTMF_DIGITS.join(''), { durationMs: 60, pauseMs: 60 }));
    const events: DtmfDigitEvent[] = [];
    const det = new GoertzelDtmfDetector({ onDigit: (e) => events.push(e) });
    while (!gen.done) det.process(gen.nextFrame());
    det.process(new Int16Array(800));
    expect(digitsOf(events)).toBe(DTMF_DIGITS.join(''));
  });

  test('detects digits at +-1.5% frequency offset on both tones', () => {
    for (const digit of DTMF_DIGITS) {
      for (const [rowOffset, colOffset] of [[0.015, 0.015], [-0.015, -0.015], [0.015, -0.015], [-0.015, 0.015]]) {
        expect(digitsOf(detect(press(digit, { rowOffset, colOffset })))).toBe(digit);
      }
    }
  });

  test('rejects a tone +-3.5% or further off its nominal frequency', () => {
    for (const digit of DTMF_DIGITS) {
      // Up to about +-5%: further out a shifted tone approaches the neighbouring DTMF frequency.
      for (const off of [0.035, -0.035, 0.045, -0.05]) {
        expect(digitsOf(detect(press(digit, { rowOffset: off })))).toBe('');
        expect(digitsOf(detect(press(digit, { colOffset: off })))).toBe('');
      }
    }
  });

  test('accepts 4 dB normal twist and 8 dB reverse twist', () => {
    for (const digit of DTMF_DIGITS) {
      expect(digitsOf(detect(press(digit, { dbm0: -12, twistDb: 4 })))).toBe(digit);
      expect(digitsOf(detect(press(digit, { dbm0: -6, twistDb: -8 })))).toBe(digit);
    }
  });

  test('rejects 10 dB or more of twist in either direction', () => {
    for (const digit of DTMF_DIGITS) {
      expect(digitsOf(detect(press(digit, { dbm0: -14, twistDb: 10 })))).toBe('');
      expect(digitsOf(detect(press(digit, { dbm0: -4, twistDb: -10 })))).toBe('');
      expect(digitsOf(detect(press(digit, { dbm0: -3, twistDb: -14 })))).toBe('');
    }
  });

  test('detects a 40 ms tone whatever its alignment to the analysis windows', () => {
    for (let lead = 0; lead < 102; lead += 7) {
      for (const digit of ['1', '5', '9', 'D'] as DtmfDigit[]) {
        expect(digitsOf(detect(press(digit, { ms: 40 }, lead)))).toBe(digit);
      }
    }
  });

  test('rejects 20 ms and 25 ms bursts whatever their alignment', () => {
    for (let lead = 0; lead < 102; lead += 7) {
      for (const ms of [20, 25]) {
        for (const digit of ['1', '5', '9', 'D'] as DtmfDigit[]) {
          expect(digitsOf(detect(press(digit, { ms }, lead)))).toBe('');
        }
      }
    }
  });

  test('two presses of the same key separated by a 40 ms pause give two digits', () => {
    for (let lead = 0; lead < 102; lead += 17) {
      const x = concat(new Int16Array(lead), dtmfTone('5', { ms: 60 }), silence(40), dtmfTone('5', { ms: 60 }), silence(100));
      expect(digitsOf(detect(x))).toBe('55');
    }
  });

  test('a 10 ms drop-out inside a press does not split it', () => {
    for (let lead = 0; lead < 102; lead += 17) {
      const x = concat(new Int16Array(lead), dtmfTone('7', { ms: 60 }), silence(10), dtmfTone('7', { ms: 60 }), silence(100));
      const events = detect(x);
      expect(digitsOf(events)).toBe('7');
      expect(events[0].durationMs).toBeGreaterThanOrEqual(110);
    }
  });

  test('detects tones at -30 dBm0 each and ignores tones at -45 dBm0', () => {
    for (const digit of DTMF_DIGITS) {
      expect(digitsOf(detect(press(digit, { dbm0: -30 })))).toBe(digit);
      expect(digitsOf(detect(press(digit, { dbm0: -45 })))).toBe('');
    }
  });

  test('detects every digit in white noise at 15 dB SNR', () => {
    DTMF_DIGITS.forEach((digit, i) => {
      const tone = dtmfTone(digit, { ms: 80, dbm0: -20 });
      let tonePower = 0;
      for (let k = 0; k < tone.length; k++) tonePower += tone[k] * tone[k];
      tonePower /= tone.length;
      const x = addNoise(concat(silence(100), tone, silence(100)), 15, 1000 + i, tonePower);
      expect(digitsOf(detect(x))).toBe(digit);
    });
  });

  test('reports no digit in white noise alone', () => {
    const x = addNoise(new Int16Array(8000 * 5), 0, 7, 2000 * 2000);
    expect(digitsOf(detect(x))).toBe('');
  });

  test('talk-off: speech yields no digit (linear and through G.711)', () => {
    const speech = loadWavAs8kMono(readFileSync(SPEECH));
    expect(speech.length).toBeGreaterThan(8000 * 10);
    expect(digitsOf(detect(speech))).toBe('');
    expect(digitsOf(detect(PCMU.decode(PCMU.encode(speech))))).toBe('');
    expect(digitsOf(detect(PCMA.decode(PCMA.encode(speech))))).toBe('');
    // Louder speech (+6 dB) as well: level alone must not decide.
    const loud = speech.map((s) => clamp16(s * 2));
    expect(digitsOf(detect(loud))).toBe('');
  });

  test('talk-off: music (chords with harmonics and vibrato) yields no digit', () => {
    // Equal-tempered chords that put notes within a few % of DTMF frequencies (F5 = 698 Hz, E6 = 1319 Hz ...).
    const chords = [
      [349.23, 440, 523.25, 698.46],
      [329.63, 415.3, 493.88, 659.26, 1318.5],
      [392, 493.88, 587.33, 783.99, 1174.66],
      [440, 554.37, 659.26, 880, 1396.91],
      [466.16, 587.33, 698.46, 932.33, 1479.98],
      [523.25, 659.26, 783.99, 1046.5, 1567.98],
    ];
    const rate = 8000;
    const rand = prng(42);
    const parts: Int16Array[] = [];
    for (let rep = 0; rep < 2; rep++) {
      for (const chord of chords) {
        const n = Math.round(rate * (0.35 + rand() * 0.3));
        const out = new Int16Array(n);
        const vibRate = 4.5 + rand() * 2;
        for (let i = 0; i < n; i++) {
          const t = i / rate;
          const env = Math.min(1, i / 200) * Math.exp(-t * 1.5);
          const vib = 1 + 0.006 * Math.sin(2 * Math.PI * vibRate * t);
          let acc = 0;
          for (const f of chord) {
            for (let h = 1; h <= 4; h++) {
              if (f * h >= rate / 2) break;
              acc += (2500 / h) * Math.sin(2 * Math.PI * f * h * vib * t + h);
            }
          }
          out[i] = clamp16(acc * env);
        }
        parts.push(out);
      }
    }
    expect(digitsOf(detect(concat(...parts)))).toBe('');
  });

  test('digits survive G.711 coding at low level', () => {
    for (const digit of DTMF_DIGITS) {
      const x = press(digit, { dbm0: -28 });
      expect(digitsOf(detect(PCMU.decode(PCMU.encode(x))))).toBe(digit);
      expect(digitsOf(detect(PCMA.decode(PCMA.encode(x))))).toBe(digit);
    }
  });

  test('frame size does not change the result', () => {
    const x = concat(press('1'), press('#', { ms: 45 }, 33), press('A', { dbm0: -25 }, 5));
    const reference = detect(x, {}, 160);
    expect(digitsOf(reference)).toBe('1#A');
    for (const frame of [1, 7, 80, 102, 333, x.length]) expect(detect(x, {}, frame)).toEqual(reference);
  });

  test('reports key down once, before key up', () => {
    const log: string[] = [];
    const det = new GoertzelDtmfDetector({
      onDigitStart: (d) => log.push(`down ${d}`),
      onDigit: (e) => log.push(`up ${e.digit}`),
    });
    det.process(concat(dtmfTone('3', { ms: 300 })));
    expect(log).toEqual(['down 3']);
    expect(det.activeDigit).toBe('3');
    det.process(silence(100));
    expect(log).toEqual(['down 3', 'up 3']);
    expect(det.activeDigit).toBeUndefined();
  });

  test('flush() ends a press in progress; reset() drops it silently', () => {
    const events: DtmfDigitEvent[] = [];
    const det = new GoertzelDtmfDetector({ onDigit: (e) => events.push(e) });
    det.process(dtmfTone('8', { ms: 100 }));
    det.flush();
    expect(digitsOf(events)).toBe('8');
    det.process(dtmfTone('9', { ms: 100 }));
    det.reset();
    det.flush();
    expect(digitsOf(events)).toBe('8');
    det.process(concat(dtmfTone('0', { ms: 100 }), silence(100)));
    expect(digitsOf(events)).toBe('80');
    expect(events[1].startMs).toBeLessThanOrEqual(10);
  });

  test('a throwing callback does not break detection', () => {
    const seen: string[] = [];
    const det = new GoertzelDtmfDetector({
      onDigit: (e) => {
        seen.push(e.digit);
        throw new Error('listener bug');
      },
    });
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      det.process(concat(press('1'), press('2')));
    } finally {
      warn.mockRestore();
    }
    expect(seen).toEqual(['1', '2']);
  });

  test('works at 16 kHz with its own coefficients', () => {
    const x = concat(silence(50, 16000), dtmfTone('6', { rate: 16000, ms: 60 }), silence(50, 16000), dtmfTone('*', { rate: 16000, ms: 60 }), silence(100, 16000));
    expect(digitsOf(detect(x, { sampleRate: 16000 }, 320))).toBe('6*');
    // The same audio resampled to 8 kHz gives the same digits.
    expect(digitsOf(detect(resample(x, 16000, 8000)))).toBe('6*');
  });

  test('a digit change without pause reports both digits', () => {
    expect(digitsOf(detect(concat(dtmfTone('1', { ms: 100 }), dtmfTone('2', { ms: 100 }), silence(100))))).toBe('12');
  });

  test('rejects a single tone and a third simultaneous tone', () => {
    expect(digitsOf(detect(concat(tones([{ f: 697, dbm0: -10 }], 200), silence(100))))).toBe('');
    expect(digitsOf(detect(concat(tones([{ f: 1336, dbm0: -10 }], 200), silence(100))))).toBe('');
    const three = tones([{ f: 770, dbm0: -10 }, { f: 1336, dbm0: -10 }, { f: 852, dbm0: -10 }], 200);
    expect(digitsOf(detect(concat(three, silence(100))))).toBe('');
  });

  test('rejects a dual tone with a strong second harmonic (talk-off guard)', () => {
    const x = tones([{ f: 941, dbm0: -12 }, { f: 1336, dbm0: -12 }, { f: 2672, dbm0: -16 }], 200);
    expect(digitsOf(detect(concat(x, silence(100))))).toBe('');
    const clean = tones([{ f: 941, dbm0: -12 }, { f: 1336, dbm0: -12 }, { f: 2672, dbm0: -40 }], 200);
    expect(digitsOf(detect(concat(clean, silence(100))))).toBe('0');
  });

  test('validates its options', () => {
    expect(() => new GoertzelDtmfDetector({ sampleRate: 7000 })).toThrow(TypeError);
    expect(() => new GoertzelDtmfDetector({ minToneMs: 0 })).toThrow(TypeError);
    expect(new GoertzelDtmfDetector().toneWindows).toBe(5);
    expect(new GoertzelDtmfDetector().pauseWindows).toBe(4);
  });

  test('random noise bursts and random tone pairs never produce a wrong digit', () => {
    const rand = prng(99);
    const g = gaussian(5);
    for (let trial = 0; trial < 40; trial++) {
      const digit = DTMF_DIGITS[Math.floor(rand() * 16)];
      const x = concat(dtmfTone(digit, { ms: 50 + rand() * 100, dbm0: -25 + rand() * 20, phase: rand() * 6 }), silence(60));
      const noisy = x.map((s) => clamp16(s + g() * 30));
      const got = digitsOf(detect(noisy));
      expect(got).toBe(digit);
    }
  });
});

import { DtmfDigit, dtmfFrequencies, isDtmfDigit } from './dtmf';
import { dbm0ToPeak } from './levels';

/**
 * Tone synthesis for DTMF, call-progress tones (ringback, busy, reorder) and arbitrary multi-frequency cadences.
 * Levels follow the convention of levels.ts (0 dBm0 = 3.17 dB below a full-scale PCM16 sine).
 */

/** One step of a cadence: the listed frequencies summed for `durationMs` (no frequency = silence). */
export interface ToneSegment {
  /** Frequencies in Hz; empty for a pause. */
  readonly frequencies: readonly number[];
  /** Level of each frequency in dBm0: one value for all, or one per frequency. */
  readonly levelsDbm0: readonly number[];
  /** Duration in ms; Infinity for a steady tone. */
  readonly durationMs: number;
}

/** A cadence of segments, played once or repeated forever. */
export interface ToneSequence {
  readonly segments: readonly ToneSegment[];
  readonly repeat: boolean;
}

/** A call-progress tone: frequencies, level and an on/off cadence (on, off, on, off, ... in ms). */
export interface CallProgressToneSpec {
  readonly frequencies: readonly number[];
  /** Level of each frequency, dBm0. */
  readonly levelDbm0: number;
  /** Alternating on/off durations in ms starting with "on"; an empty list or [Infinity] is a steady tone. */
  readonly cadenceMs: readonly number[];
}

/** North American ringback: 440 + 480 Hz, 2 s on, 4 s off, -19 dBm0 per tone (ANSI T1.401 precise tones). */
export const RINGBACK_NORTH_AMERICA: CallProgressToneSpec = { frequencies: [440, 480], levelDbm0: -19, cadenceMs: [2000, 4000] };
/** UK ringback: 400 + 450 Hz, 0.4 on 0.2 off 0.4 on 2 off. */
export const RINGBACK_UK: CallProgressToneSpec = { frequencies: [400, 450], levelDbm0: -19, cadenceMs: [400, 200, 400, 2000] };
/** CEPT / most of Europe ringback: 425 Hz, 1 s on, 4 s off (ETSI TR 101 041). */
export const RINGBACK_EUROPE: CallProgressToneSpec = { frequencies: [425], levelDbm0: -19, cadenceMs: [1000, 4000] };
/** North American busy: 480 + 620 Hz, 0.5 s on, 0.5 s off, -24 dBm0 per tone. */
export const BUSY_NORTH_AMERICA: CallProgressToneSpec = { frequencies: [480, 620], levelDbm0: -24, cadenceMs: [500, 500] };
/** North American reorder (fast busy): 480 + 620 Hz, 0.25 s on, 0.25 s off. */
export const REORDER_NORTH_AMERICA: CallProgressToneSpec = { frequencies: [480, 620], levelDbm0: -24, cadenceMs: [250, 250] };
/** CEPT / Europe busy: 425 Hz, 0.5 s on, 0.5 s off. */
export const BUSY_EUROPE: CallProgressToneSpec = { frequencies: [425], levelDbm0: -19, cadenceMs: [500, 500] };
/** UK busy: 400 Hz, 0.375 s on, 0.375 s off. */
export const BUSY_UK: CallProgressToneSpec = { frequencies: [400], levelDbm0: -19, cadenceMs: [375, 375] };

export interface DtmfToneOptions {
  /** Tone duration per digit, ms (default 100; ITU-T Q.24 receivers need at least 40). */
  durationMs?: number;
  /** Silence after each digit, ms (default 100). */
  pauseMs?: number;
  /** Low-group (row) level per tone, dBm0 (default -8). */
  levelDbm0?: number;
  /** High-group level minus low-group level, dB (default +2: senders pre-emphasise the high group, Q.23 "normal twist"). */
  twistDb?: number;
}

/** The cadence sending `digits` (characters of 0-9 * # A-D, case-insensitive letters) once. */
export function dtmfSequence(digits: string, options: DtmfToneOptions = {}): ToneSequence {
  const durationMs = options.durationMs ?? 100;
  const pauseMs = options.pauseMs ?? 100;
  const low = options.levelDbm0 ?? -8;
  const high = low + (options.twistDb ?? 2);
  checkDuration('durationMs', durationMs);
  if (!(pauseMs >= 0 && Number.isFinite(pauseMs))) throw new TypeError(`pauseMs must be >= 0, got ${pauseMs}`);
  const segments: ToneSegment[] = [];
  for (const raw of digits) {
    const c = raw.toUpperCase();
    if (!isDtmfDigit(c)) throw new TypeError(`not a DTMF digit: ${JSON.stringify(raw)}`);
    segments.push({ frequencies: dtmfFrequencies(c as DtmfDigit), levelsDbm0: [low, high], durationMs });
    if (pauseMs > 0) segments.push({ frequencies: [], levelsDbm0: [], durationMs: pauseMs });
  }
  return { segments, repeat: false };
}

/** A repeating (or steady) call-progress tone from its spec. */
export function callProgressSequence(spec: CallProgressToneSpec): ToneSequence {
  const cadence = spec.cadenceMs.length === 0 ? [Infinity] : spec.cadenceMs;
  const segments: ToneSegment[] = [];
  cadence.forEach((ms, i) => {
    checkDuration('cadenceMs', ms);
    segments.push(i % 2 === 0 ? { frequencies: spec.frequencies, levelsDbm0: [spec.levelDbm0], durationMs: ms } : { frequencies: [], levelsDbm0: [], durationMs: ms });
  });
  return { segments, repeat: cadence[0] !== Infinity };
}

/** Ringback (default: North America 440 + 480 Hz, 2 s on / 4 s off). */
export function ringbackSequence(spec: CallProgressToneSpec = RINGBACK_NORTH_AMERICA): ToneSequence {
  return callProgressSequence(spec);
}

/** Busy (default: North America 480 + 620 Hz, 0.5 s on / 0.5 s off). */
export function busySequence(spec: CallProgressToneSpec = BUSY_NORTH_AMERICA): ToneSequence {
  return callProgressSequence(spec);
}

/** A generic dual tone `f1 + f2` with an on/off cadence (offMs 0 = steady tone of onMs, played once unless repeat). */
export function dualToneSequence(f1: number, f2: number, onMs: number, offMs = 0, levelDbm0 = -13, repeat = offMs > 0): ToneSequence {
  checkDuration('onMs', onMs);
  const segments: ToneSegment[] = [{ frequencies: [f1, f2], levelsDbm0: [levelDbm0], durationMs: onMs }];
  if (offMs > 0) segments.push({ frequencies: [], levelsDbm0: [], durationMs: offMs });
  return { segments, repeat };
}

function checkDuration(name: string, ms: number): void {
  if (!(ms > 0)) throw new TypeError(`${name} must be > 0, got ${ms}`);
}

const TWO_PI = 2 * Math.PI;
/** At most this many simultaneous frequencies per segment (call-progress tones use 1-3). */
const MAX_FREQUENCIES = 8;

export interface ToneGeneratorOptions {
  /** Output sample rate (default 8000). */
  sampleRate?: number;
  /** Samples per `nextFrame()` (default 20 ms). */
  frameSize?: number;
}

/**
 * Plays a ToneSequence as PCM16, frame by frame. Oscillator phases and the position inside the cadence are
 * kept between calls, so consecutive frames join without discontinuity. Each segment starts at phase 0
 * (sin(0) = 0, so tone onsets do not click).
 */
export class ToneGenerator {
  readonly sampleRate: number;
  readonly frameSize: number;
  private readonly frame: Int16Array;
  private readonly amps = new Float64Array(MAX_FREQUENCIES);
  private readonly incs = new Float64Array(MAX_FREQUENCIES);
  private readonly phases = new Float64Array(MAX_FREQUENCIES);
  private readonly segmentSamples: number[];
  private voices = 0;
  private segment = 0;
  private remaining = 0;
  private finished = false;

  constructor(
    private readonly sequence: ToneSequence,
    options: ToneGeneratorOptions = {},
  ) {
    this.sampleRate = options.sampleRate ?? 8000;
    if (!Number.isInteger(this.sampleRate) || this.sampleRate < 1000) throw new TypeError(`sampleRate must be an integer >= 1000, got ${this.sampleRate}`);
    this.frameSize = options.frameSize ?? Math.round(this.sampleRate / 50);
    if (!Number.isInteger(this.frameSize) || this.frameSize <= 0) throw new TypeError(`frameSize must be a positive integer, got ${this.frameSize}`);
    this.frame = new Int16Array(this.frameSize);
    const nyquist = this.sampleRate / 2;
    this.segmentSamples = sequence.segments.map((s) => {
      if (s.frequencies.length > MAX_FREQUENCIES) throw new TypeError(`at most ${MAX_FREQUENCIES} frequencies per segment`);
      for (const f of s.frequencies) if (!(f > 0 && f < nyquist)) throw new TypeError(`frequency ${f} Hz outside 0..${nyquist} Hz`);
      if (s.frequencies.length > 0 && s.levelsDbm0.length !== 1 && s.levelsDbm0.length !== s.frequencies.length) {
        throw new TypeError('levelsDbm0 needs one value, or one per frequency');
      }
      if (!(s.durationMs > 0)) throw new TypeError(`segment durationMs must be > 0, got ${s.durationMs}`);
      return s.durationMs === Infinity ? Infinity : Math.max(1, Math.round((s.durationMs * this.sampleRate) / 1000));
    });
    this.reset();
  }

  /** True once a non-repeating sequence has been played to its end. */
  get done(): boolean {
    return this.finished;
  }

  /** Total samples of one pass through the sequence (Infinity for steady tones). */
  get lengthSamples(): number {
    return this.segmentSamples.reduce((a, b) => a + b, 0);
  }

  /** Restart from the first segment. */
  reset(): void {
    this.finished = this.segmentSamples.length === 0;
    this.segment = 0;
    if (!this.finished) this.enterSegment(0);
  }

  /**
   * Fill `dst` with the next samples. Returns how many belong to the sequence: less than `dst.length` only
   * when a non-repeating sequence ends inside `dst` (the rest is zero-filled). Allocates nothing.
   */
  fill(dst: Int16Array): number {
    let i = 0;
    const len = dst.length;
    while (i < len && !this.finished) {
      const n = Math.min(len - i, this.remaining);
      const voices = this.voices;
      if (voices === 0) {
        dst.fill(0, i, i + n);
      } else {
        const amps = this.amps;
        const incs = this.incs;
        const phases = this.phases;
        for (let k = 0; k < n; k++) {
          let acc = 0;
          for (let v = 0; v < voices; v++) {
            acc += amps[v] * Math.sin(phases[v]);
            let ph = phases[v] + incs[v];
            if (ph >= TWO_PI) ph -= TWO_PI;
            phases[v] = ph;
          }
          dst[i + k] = acc >= 32767 ? 32767 : acc <= -32768 ? -32768 : Math.round(acc);
        }
      }
      i += n;
      this.remaining -= n;
      if (this.remaining <= 0) this.advanceSegment();
    }
    if (i < len) dst.fill(0, i);
    return i;
  }

  /**
   * The next frame of `frameSize` samples in a buffer owned by the generator (overwritten by the next call;
   * copy it before keeping it). Silence once a non-repeating sequence is done.
   */
  nextFrame(): Int16Array {
    this.fill(this.frame);
    return this.frame;
  }

  private advanceSegment(): void {
    let next = this.segment + 1;
    if (next >= this.segmentSamples.length) {
      if (!this.sequence.repeat) {
        this.finished = true;
        return;
      }
      next = 0;
    }
    this.enterSegment(next);
  }

  private enterSegment(index: number): void {
    const seg = this.sequence.segments[index];
    this.segment = index;
    this.remaining = this.segmentSamples[index];
    this.voices = seg.frequencies.length;
    for (let v = 0; v < this.voices; v++) {
      const level = seg.levelsDbm0.length === 1 ? seg.levelsDbm0[0] : seg.levelsDbm0[v];
      this.amps[v] = dbm0ToPeak(level);
      this.incs[v] = (TWO_PI * seg.frequencies[v]) / this.sampleRate;
      this.phases[v] = 0;
    }
  }
}

import { UnsupportedError } from '../util';

/**
 * Streaming rational-ratio resampler (polyphase windowed-sinc FIR), PCM16 in and out.
 *
 * The ratio out/in is reduced to L/M. Conceptually the input is zero-stuffed by L, low-pass filtered at the
 * lower of the two Nyquist frequencies and decimated by M; the polyphase form only evaluates the K taps of the
 * one phase that lands on each output sample (K = taps / L), so the cost is K multiply-adds per output sample.
 *
 *   x[n] --(up L)--> h[k] (Kaiser-windowed sinc, cutoff min(fin, fout)/2) --(down M)--> y[m]
 *   y[m] = sum_j bank[p][j] * x[i - j],  with i = floor(m*M / L), p = (m*M) mod L
 *
 * History (K - 1 input samples) is kept between calls, so 20 ms frames resample exactly like one long buffer;
 * `reset()` drops it (barge-in, stream restart). Filter banks are designed once per (L, M, design) and
 * shared by every instance. `processInto` allocates nothing once its work buffer has grown to the frame size.
 */

export interface ResamplerOptions {
  /** Stopband attenuation the Kaiser design targets, in dB (default 70). */
  stopbandDb?: number;
  /**
   * Passband edge as a fraction of the lower Nyquist frequency (default 0.85: 3.4 kHz at 8 kHz, the
   * telephone channel). The stopband starts at that Nyquist frequency, so nothing above it can alias.
   */
  passbandFraction?: number;
  /**
   * Start the stream one filter delay late, so output sample m lines up with input time m / outputRate
   * (the first outputs appear once that much input has arrived). Used for whole files; live audio wants false.
   */
  compensateDelay?: boolean;
}

/** Highest number of polyphase branches (the reduced L) we design a filter for. */
export const MAX_RESAMPLER_PHASES = 1024;
const MAX_RATE = 384_000;

interface FilterBank {
  /** Phase-major coefficients: bank[p * taps + j]. */
  readonly coeffs: Float64Array;
  readonly taps: number;
  /** Centre tap of the (odd-length, linear-phase) prototype: the group delay in upsampled samples. */
  readonly centre: number;
}

const bankCache = new Map<string, FilterBank>();

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for the betas we use). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

function designBank(up: number, down: number, inputRate: number, outputRate: number, stopbandDb: number, passbandFraction: number): FilterBank {
  const key = `${up}/${down}/${inputRate}/${stopbandDb}/${passbandFraction}`;
  const cached = bankCache.get(key);
  if (cached) return cached;

  const highRate = inputRate * up; // rate of the zero-stuffed signal
  const nyquist = Math.min(inputRate, outputRate) / 2;
  const passEdge = nyquist * passbandFraction;
  const stopEdge = nyquist;
  const cutoff = (passEdge + stopEdge) / 2;
  // Kaiser's formulas (Oppenheim & Schafer 7.6): length from attenuation and transition width, beta from attenuation.
  const transition = (2 * Math.PI * (stopEdge - passEdge)) / highRate;
  const estimate = Math.ceil((stopbandDb - 8) / (2.285 * transition)) + 1;
  const taps = Math.max(2, Math.ceil(estimate / up));
  const length = taps * up;
  // An odd length puts the centre on a sample, so the delay is a whole number of upsampled samples and
  // `compensateDelay` can align output exactly; with an even bank size the last tap stays zero.
  const designLength = length % 2 === 0 ? length - 1 : length;
  const beta = stopbandDb > 50 ? 0.1102 * (stopbandDb - 8.7) : stopbandDb >= 21 ? 0.5842 * Math.pow(stopbandDb - 21, 0.4) + 0.07886 * (stopbandDb - 21) : 0;
  const i0beta = besselI0(beta);
  const fc = cutoff / highRate; // cycles per upsampled sample
  const centre = (designLength - 1) / 2;
  const proto = new Float64Array(length);
  let sum = 0;
  for (let k = 0; k < designLength; k++) {
    const t = k - centre;
    const sinc = t === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * t) / (Math.PI * t);
    const r = (2 * k) / (designLength - 1) - 1;
    const w = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0beta;
    proto[k] = sinc * w;
    sum += proto[k];
  }
  // Unity DC gain at the output: zero stuffing divides the level by L, so the whole filter sums to L.
  const scale = up / sum;
  const coeffs = new Float64Array(length);
  for (let p = 0; p < up; p++) {
    for (let j = 0; j < taps; j++) coeffs[p * taps + j] = proto[p + j * up] * scale;
  }
  const bank: FilterBank = { coeffs, taps, centre };
  bankCache.set(key, bank);
  return bank;
}

function checkRate(name: string, rate: number): void {
  if (!Number.isInteger(rate) || rate <= 0 || rate > MAX_RATE) {
    throw new TypeError(`${name} must be an integer between 1 and ${MAX_RATE} Hz, got ${rate}`);
  }
}

export class Resampler {
  readonly inputRate: number;
  readonly outputRate: number;
  /** Interpolation factor L of the reduced ratio L/M. */
  readonly upFactor: number;
  /** Decimation factor M of the reduced ratio L/M. */
  readonly downFactor: number;
  /** FIR taps evaluated per output sample. */
  readonly tapsPerPhase: number;
  /** Group delay of the filter in output samples (0 with `compensateDelay`, which absorbs it). */
  readonly delay: number;

  private readonly coeffs: Float64Array;
  /** [history (taps - 1) | current input]; the history part carries over between calls. */
  private work: Float64Array;
  /** Input index (relative to the current call's first sample) of the next output sample. */
  private nextInput = 0;
  /** Polyphase branch of the next output sample. */
  private phase = 0;
  /** Upsampled time of the first output sample. */
  private readonly start: number;

  constructor(inputRate: number, outputRate: number, options: ResamplerOptions = {}) {
    checkRate('inputRate', inputRate);
    checkRate('outputRate', outputRate);
    const stopbandDb = options.stopbandDb ?? 70;
    const passbandFraction = options.passbandFraction ?? 0.85;
    if (!(stopbandDb >= 20 && stopbandDb <= 140)) throw new TypeError(`stopbandDb must be within 20..140, got ${stopbandDb}`);
    if (!(passbandFraction > 0.1 && passbandFraction < 0.99)) throw new TypeError(`passbandFraction must be within 0.1..0.99, got ${passbandFraction}`);
    const g = gcd(inputRate, outputRate);
    this.inputRate = inputRate;
    this.outputRate = outputRate;
    this.upFactor = outputRate / g;
    this.downFactor = inputRate / g;
    if (this.upFactor > MAX_RESAMPLER_PHASES) {
      throw new UnsupportedError(`resampling ${inputRate} Hz -> ${outputRate} Hz needs ${this.upFactor} polyphase branches (max ${MAX_RESAMPLER_PHASES})`);
    }
    let centre = 0;
    if (inputRate === outputRate) {
      this.coeffs = new Float64Array([1]);
      this.tapsPerPhase = 1;
    } else {
      const bank = designBank(this.upFactor, this.downFactor, inputRate, outputRate, stopbandDb, passbandFraction);
      this.coeffs = bank.coeffs;
      this.tapsPerPhase = bank.taps;
      centre = bank.centre;
    }
    // Output m sits at upsampled time m * M + start; starting at the centre tap cancels the group delay.
    this.start = options.compensateDelay ? centre : 0;
    this.delay = options.compensateDelay ? 0 : centre / this.downFactor;
    this.work = new Float64Array(this.tapsPerPhase - 1 + 512);
    this.reset();
  }

  /** Upper bound of the samples one `processInto` call can produce from `inputLength` input samples. */
  maxOutputLength(inputLength: number): number {
    return Math.ceil((inputLength * this.upFactor) / this.downFactor) + 1;
  }

  /**
   * Resample `src` (continuing the stream of previous calls) into `dst`; returns the number of samples written.
   * `dst` must hold `maxOutputLength(src.length)` samples. Integer ratios give fixed counts (160 -> 320 for 8 -> 16 kHz).
   */
  processInto(src: Int16Array, dst: Int16Array): number {
    const len = src.length;
    if (dst.length < this.maxOutputLength(len)) {
      throw new RangeError(`output buffer too small: ${dst.length} < ${this.maxOutputLength(len)}`);
    }
    const taps = this.tapsPerPhase;
    const hist = taps - 1;
    if (this.work.length < hist + len) {
      const grown = new Float64Array(hist + len);
      grown.set(this.work.subarray(0, hist));
      this.work = grown;
    }
    const work = this.work;
    for (let i = 0; i < len; i++) work[hist + i] = src[i];

    const coeffs = this.coeffs;
    const up = this.upFactor;
    const down = this.downFactor;
    let n = this.nextInput;
    let p = this.phase;
    let out = 0;
    while (n < len) {
      let ci = p * taps;
      let wi = hist + n;
      const ce = ci + taps;
      let acc = 0;
      while (ci < ce) acc += coeffs[ci++] * work[wi--];
      dst[out++] = acc >= 32767 ? 32767 : acc <= -32768 ? -32768 : Math.round(acc);
      p += down;
      if (p >= up) {
        const steps = (p / up) | 0;
        n += steps;
        p -= steps * up;
      }
    }
    this.nextInput = n - len;
    this.phase = p;
    // Keep the last (taps - 1) input samples as history for the next call.
    if (hist > 0) work.copyWithin(0, len, len + hist);
    return out;
  }

  /** Allocating convenience around `processInto`. */
  process(src: Int16Array): Int16Array {
    const dst = new Int16Array(this.maxOutputLength(src.length));
    const n = this.processInto(src, dst);
    return n === dst.length ? dst : dst.slice(0, n);
  }

  /** Forget the history (barge-in, new stream): the next sample starts from silence. */
  reset(): void {
    this.work.fill(0);
    this.nextInput = Math.floor(this.start / this.upFactor);
    this.phase = this.start % this.upFactor;
  }
}

/**
 * One-shot resampling of a whole buffer with the filter delay removed: output sample m is aligned with input
 * time m / outputRate, and the length is round(src.length * outputRate / inputRate).
 */
export function resample(src: Int16Array, inputRate: number, outputRate: number, options?: ResamplerOptions): Int16Array {
  if (inputRate === outputRate) {
    checkRate('inputRate', inputRate);
    return src.slice();
  }
  const r = new Resampler(inputRate, outputRate, { ...options, compensateDelay: true });
  const outLength = Math.round((src.length * r.upFactor) / r.downFactor);
  // Trailing silence flushes the filter tail of the last samples (the delay plus one filter span).
  const pad = new Int16Array(r.tapsPerPhase * 2 + 2);
  const tmp = new Int16Array(r.maxOutputLength(src.length) + r.maxOutputLength(pad.length));
  let written = r.processInto(src, tmp);
  written += r.processInto(pad, tmp.subarray(written));
  return tmp.slice(0, Math.min(written, outLength));
}

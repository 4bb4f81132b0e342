import { TypedEmitter } from '../util';
import { dbm0ToPower } from './levels';

/**
 * Answering-machine detection (AMD) on the first seconds of the answered party's audio, PCM16 8 kHz mono.
 *
 * The classifier follows the energy/cadence method telephone systems use (Asterisk app_amd, dialer AMD):
 * people answer with a short word ("Hello?") and then wait; machines play a long, near-continuous greeting.
 * Audio is cut into 20 ms blocks, each voiced or silent by level, and the greeting is measured:
 *
 *   silence >= initialSilenceMs before any speech   -> notsure  (dead air is no evidence either way)
 *   speech totalling >= greetingMs                   -> machine  (long greeting)
 *   more than maxWords words                         -> machine  (a person says one or two words)
 *   one word lasting >= maxWordMs                    -> machine
 *   speech, then silence >= afterGreetingSilenceMs   -> human    (short greeting, waiting for us)
 *   no decision within totalAnalysisMs               -> notsure
 *
 * After the greeting a machine usually beeps: a steady single tone (ITU-T E.180 style, typically 440..2000 Hz,
 * most often ~1 kHz) of 150 ms or more. The beep detector runs on the same blocks: zero crossings estimate
 * the frequency, a Goertzel filter at that frequency measures how much of the block's power it holds, and
 * enough consecutive pure, stable blocks report a `beep`, so call control can wait for it before speaking
 * (leaving a message over the greeting loses its start).
 */

export type AmdClassification = 'human' | 'machine' | 'notsure';

export type AmdReason = 'initial-silence' | 'long-greeting' | 'max-words' | 'long-word' | 'short-greeting' | 'max-analysis-time';

/** The verdict, reported once. */
export interface AmdResult {
  readonly result: AmdClassification;
  readonly reason: AmdReason;
  /** Audio time analysed when the verdict was reached, ms from the first pushed sample. */
  readonly afterMs: number;
  /** Words counted in the greeting. */
  readonly words: number;
  /** Voiced time of the greeting, ms. */
  readonly speechMs: number;
}

/** A detected answering-machine beep. */
export interface AmdBeep {
  /** Audio time at which the beep was confirmed, ms from the first pushed sample. */
  readonly afterMs: number;
  /** Estimated tone frequency, Hz. */
  readonly frequencyHz: number;
  /** Tone duration observed when it was confirmed, ms. */
  readonly durationMs: number;
}

export interface AmdOptions {
  /** Silence before any speech that ends the analysis as `notsure`, ms (default 2500). */
  initialSilenceMs?: number;
  /** Voiced time of the greeting from which it is a machine's, ms (default 2500). */
  greetingMs?: number;
  /** Silence after speech that makes the greeting a person's, ms (default 800). */
  afterGreetingSilenceMs?: number;
  /** Longest analysis; `notsure` after it, ms (default 5000). */
  totalAnalysisMs?: number;
  /** Shortest voiced run counted as a word, ms (default 100). */
  minWordMs?: number;
  /** Silence that separates two words, ms (default 50). */
  betweenWordsSilenceMs?: number;
  /** More words than this is a machine (default 3). */
  maxWords?: number;
  /** One word this long is a machine, ms (default 5000). */
  maxWordMs?: number;
  /** Blocks above this level are voiced, dBm0 (default -38, about Asterisk's silence threshold of 256). */
  silenceThresholdDbm0?: number;
  /** Lowest beep frequency, Hz (default 400). */
  beepMinHz?: number;
  /** Highest beep frequency, Hz (default 2500). */
  beepMaxHz?: number;
  /** Shortest steady tone reported as a beep, ms (default 150). */
  beepMinMs?: number;
  /** Share of a block's power that must sit at the tone frequency, 0..1 (default 0.7). */
  beepPurity?: number;
  /** Quietest beep, dBm0 (default -30). */
  beepMinLevelDbm0?: number;
  /** How long to listen for a beep, ms from the first sample (default 30000). */
  beepWindowMs?: number;
}

const SAMPLE_RATE = 8000;
/** Analysis block: 20 ms at 8 kHz, the RTP packetisation of G.711 (RFC 3551 §4.5.14). */
const BLOCK = 160;
const BLOCK_MS = (BLOCK * 1000) / SAMPLE_RATE;
/** Largest frequency change between consecutive blocks of one beep, Hz (zero-crossing resolution is 25 Hz). */
const BEEP_DRIFT_HZ = 60;

type Phase = 'initial' | 'greeting' | 'done';

interface AmdEvents {
  [event: string]: unknown[];
  beep: [AmdBeep];
}

function positive(name: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) throw new TypeError(`${name} must be a positive number, got ${v}`);
  return v;
}

/**
 * Streaming answering-machine detector. Push the answered leg's audio as it arrives (any frame length);
 * `push` returns the verdict once, on the frame that decides it, and `undefined` otherwise. Beep detection
 * goes on after the verdict; a beep is reported once through `onBeep`. Allocates nothing per frame.
 */
export class AnsweringMachineDetector {
  private readonly initialSilenceMs: number;
  private readonly greetingMs: number;
  private readonly afterGreetingSilenceMs: number;
  private readonly totalAnalysisMs: number;
  private readonly minWordMs: number;
  private readonly betweenWordsSilenceMs: number;
  private readonly maxWords: number;
  private readonly maxWordMs: number;
  private readonly voicePower: number;
  private readonly beepMinHz: number;
  private readonly beepMaxHz: number;
  private readonly beepMinMs: number;
  private readonly beepPurity: number;
  private readonly beepMinPower: number;
  private readonly beepWindowMs: number;

  private readonly emitter = new TypedEmitter<AmdEvents>();
  private readonly block = new Int16Array(BLOCK);
  private fill = 0;

  private elapsedMs = 0;
  private phase: Phase = 'initial';
  private verdict: AmdResult | undefined;
  private silenceRunMs = 0;
  private voicedRunMs = 0;
  private inWord = false;
  private words = 0;
  private speechMs = 0;

  private beepDone = false;
  private toneMs = 0;
  private toneHzSum = 0;
  private toneHzLast = 0;

  constructor(options: AmdOptions = {}) {
    this.initialSilenceMs = positive('initialSilenceMs', options.initialSilenceMs ?? 2500);
    this.greetingMs = positive('greetingMs', options.greetingMs ?? 2500);
    this.afterGreetingSilenceMs = positive('afterGreetingSilenceMs', options.afterGreetingSilenceMs ?? 800);
    this.totalAnalysisMs = positive('totalAnalysisMs', options.totalAnalysisMs ?? 5000);
    this.minWordMs = positive('minWordMs', options.minWordMs ?? 100);
    this.betweenWordsSilenceMs = positive('betweenWordsSilenceMs', options.betweenWordsSilenceMs ?? 50);
    this.maxWords = positive('maxWords', options.maxWords ?? 3);
    this.maxWordMs = positive('maxWordMs', options.maxWordMs ?? 5000);
    this.voicePower = dbm0ToPower(options.silenceThresholdDbm0 ?? -38);
    this.beepMinHz = positive('beepMinHz', options.beepMinHz ?? 400);
    this.beepMaxHz = positive('beepMaxHz', options.beepMaxHz ?? 2500);
    if (this.beepMaxHz >= SAMPLE_RATE / 2 || this.beepMinHz >= this.beepMaxHz) {
      throw new TypeError(`beep band ${this.beepMinHz}..${this.beepMaxHz} Hz must lie below ${SAMPLE_RATE / 2} Hz`);
    }
    this.beepMinMs = positive('beepMinMs', options.beepMinMs ?? 150);
    const purity = options.beepPurity ?? 0.7;
    if (!(purity > 0 && purity <= 1)) throw new TypeError(`beepPurity must be in (0, 1], got ${purity}`);
    this.beepPurity = purity;
    this.beepMinPower = dbm0ToPower(options.beepMinLevelDbm0 ?? -30);
    this.beepWindowMs = positive('beepWindowMs', options.beepWindowMs ?? 30_000);
  }

  /** The verdict, once reached. */
  get result(): AmdResult | undefined {
    return this.verdict;
  }

  /** Audio analysed so far, ms. */
  get analysedMs(): number {
    return this.elapsedMs;
  }

  /** True while pushing more audio can still produce a verdict or a beep. */
  get listening(): boolean {
    return this.verdict === undefined || (!this.beepDone && this.elapsedMs < this.beepWindowMs);
  }

  /** Call `listener` when a beep is detected. Returns a function that removes it. */
  onBeep(listener: (beep: AmdBeep) => void): () => void {
    this.emitter.on('beep', listener);
    return () => this.emitter.off('beep', listener);
  }

  /**
   * Analyse the next samples (PCM16, 8 kHz mono). Returns the verdict on the push that reaches it, and
   * `undefined` before and after.
   */
  push(frame: Int16Array): AmdResult | undefined {
    if (!this.listening) return undefined;
    let decided: AmdResult | undefined;
    const block = this.block;
    for (let i = 0; i < frame.length; i++) {
      block[this.fill++] = frame[i];
      if (this.fill === BLOCK) {
        this.fill = 0;
        const r = this.analyseBlock();
        if (r !== undefined) decided = r;
        if (!this.listening) break;
      }
    }
    return decided;
  }

  /** Forget everything and start a new analysis (listeners stay). */
  reset(): void {
    this.fill = 0;
    this.elapsedMs = 0;
    this.phase = 'initial';
    this.verdict = undefined;
    this.silenceRunMs = 0;
    this.voicedRunMs = 0;
    this.inWord = false;
    this.words = 0;
    this.speechMs = 0;
    this.beepDone = false;
    this.resetTone();
  }

  private analyseBlock(): AmdResult | undefined {
    const block = this.block;
    let energy = 0;
    let crossings = 0;
    let prev = block[0];
    for (let i = 0; i < BLOCK; i++) {
      const s = block[i];
      energy += s * s;
      if ((s >= 0) !== (prev >= 0)) crossings++;
      prev = s;
    }
    const power = energy / BLOCK;
    this.elapsedMs += BLOCK_MS;
    if (!this.beepDone && this.elapsedMs <= this.beepWindowMs) this.detectBeep(power, crossings);
    if (this.phase === 'done') return undefined;
    return this.classify(power > this.voicePower);
  }

  private classify(voiced: boolean): AmdResult | undefined {
    if (this.phase === 'initial') {
      if (voiced) {
        this.voicedRunMs += BLOCK_MS;
        this.silenceRunMs = 0;
        // A click or a burst of line noise is not a greeting: speech starts with a full word.
        if (this.voicedRunMs >= this.minWordMs) {
          this.phase = 'greeting';
          this.words = 1;
          this.inWord = true;
          this.speechMs = this.voicedRunMs;
        }
      } else {
        this.voicedRunMs = 0;
        this.silenceRunMs += BLOCK_MS;
        if (this.silenceRunMs >= this.initialSilenceMs) return this.decide('notsure', 'initial-silence');
      }
    } else if (voiced) {
      this.silenceRunMs = 0;
      this.voicedRunMs += BLOCK_MS;
      this.speechMs += BLOCK_MS;
      if (!this.inWord && this.voicedRunMs >= this.minWordMs) {
        this.inWord = true;
        this.words++;
        if (this.words > this.maxWords) return this.decide('machine', 'max-words');
      }
      if (this.voicedRunMs >= this.maxWordMs) return this.decide('machine', 'long-word');
      if (this.speechMs >= this.greetingMs) return this.decide('machine', 'long-greeting');
    } else {
      this.silenceRunMs += BLOCK_MS;
      if (this.silenceRunMs >= this.betweenWordsSilenceMs) {
        this.inWord = false;
        this.voicedRunMs = 0;
      }
      if (this.silenceRunMs >= this.afterGreetingSilenceMs) return this.decide('human', 'short-greeting');
    }
    if (this.elapsedMs >= this.totalAnalysisMs) return this.decide('notsure', 'max-analysis-time');
    return undefined;
  }

  private decide(result: AmdClassification, reason: AmdReason): AmdResult {
    this.phase = 'done';
    this.verdict = { result, reason, afterMs: this.elapsedMs, words: this.words, speechMs: this.speechMs };
    return this.verdict;
  }

  private detectBeep(power: number, crossings: number): void {
    // A sine crosses zero twice per period: f = crossings * rate / (2 * N), 25 Hz resolution at N = 160.
    const hz = (crossings * SAMPLE_RATE) / (2 * BLOCK);
    if (power < this.beepMinPower || hz < this.beepMinHz || hz > this.beepMaxHz) {
      this.resetTone();
      return;
    }
    // Probe around the estimate so the Goertzel bin sits within a few Hz of the tone.
    const purity = Math.max(this.purityAt(hz, power), this.purityAt(hz - 12.5, power), this.purityAt(hz + 12.5, power));
    if (purity < this.beepPurity || (this.toneMs > 0 && Math.abs(hz - this.toneHzLast) > BEEP_DRIFT_HZ)) {
      this.resetTone();
      if (purity < this.beepPurity) return;
    }
    this.toneMs += BLOCK_MS;
    this.toneHzSum += hz;
    this.toneHzLast = hz;
    if (this.toneMs >= this.beepMinMs) {
      this.beepDone = true;
      const beep: AmdBeep = { afterMs: this.elapsedMs, frequencyHz: Math.round(this.toneHzSum / (this.toneMs / BLOCK_MS)), durationMs: this.toneMs };
      this.emitter.safeEmit('beep', beep);
    }
  }

  /**
   * Share of the block's mean power found at `hz` by a Goertzel filter. For a pure sine of amplitude A the
   * filter's |X|^2 is (A N / 2)^2 and the block's mean power A^2 / 2, so 2 |X|^2 / (N^2 power) is 1.
   */
  private purityAt(hz: number, power: number): number {
    const coeff = 2 * Math.cos((2 * Math.PI * hz) / SAMPLE_RATE);
    const block = this.block;
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < BLOCK; i++) {
      const s0 = block[i] + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const mag2 = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    return (2 * mag2) / (BLOCK * BLOCK * power);
  }

  private resetTone(): void {
    this.toneMs = 0;
    this.toneHzSum = 0;
    this.toneHzLast = 0;
  }
}

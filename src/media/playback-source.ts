import { ToneGenerator, ToneSequence } from '../dsp';

/** Audio played to a leg by play(): pulled one 20 ms frame at a time by the session's send clock. */
export interface PlaybackSource {
  /**
   * Fill `dst` with the next samples; returns how many belong to the source. Less than `dst.length` means the
   * source ended inside this frame (the session pads the rest with silence).
   */
  fill(dst: Int16Array): number;
  /** True once everything has been produced (so play() resolves with the last frame, not a tick later). */
  readonly ended: boolean;
}

/**
 * Decoded PCM (a prompt or music on hold), played once or looped. Looping wraps inside the frame, so the loop
 * point has no gap and no click beyond what the audio itself has.
 */
export class BufferPlaybackSource implements PlaybackSource {
  private position = 0;

  constructor(
    private readonly samples: Int16Array,
    private readonly loop: boolean,
  ) {}

  get ended(): boolean {
    return !this.loop && this.position >= this.samples.length;
  }

  fill(dst: Int16Array): number {
    const src = this.samples;
    const total = src.length;
    if (total === 0) return 0;
    let n = 0;
    while (n < dst.length) {
      if (this.position >= total) {
        if (!this.loop) break;
        this.position = 0;
      }
      const take = Math.min(dst.length - n, total - this.position);
      dst.set(src.subarray(this.position, this.position + take), n);
      this.position += take;
      n += take;
    }
    return n;
  }
}

/** A tone cadence (ringback, busy, in-band DTMF) from the tone generator. */
export class TonePlaybackSource implements PlaybackSource {
  private readonly generator: ToneGenerator;

  constructor(sequence: ToneSequence) {
    this.generator = new ToneGenerator(sequence, { sampleRate: 8000 });
  }

  get ended(): boolean {
    return this.generator.done;
  }

  fill(dst: Int16Array): number {
    if (this.generator.done) return 0;
    return this.generator.fill(dst);
  }
}

import { Resampler } from '../dsp';
import { pcm16ToLeBytes } from './pcm-bytes';

const FRAME_8K = 160;

/**
 * Caller audio (PCM16 8 kHz, 20 ms frames) to little-endian PCM16 bytes at the wire rate. Wideband AI numbers get
 * 16 or 24 kHz through the streaming polyphase resampler (integer ratios: exactly 320 or 480 samples per frame).
 * Every buffer is allocated once; the returned bytes are valid until the next call.
 */
export class UplinkConverter {
  private readonly resampler: Resampler | null;
  private readonly out: Int16Array;
  private readonly scratch: Buffer;

  constructor(readonly wireRate: number) {
    this.resampler = wireRate === 8000 ? null : new Resampler(8000, wireRate);
    const maxOut = this.resampler ? this.resampler.maxOutputLength(FRAME_8K) : FRAME_8K;
    this.out = new Int16Array(maxOut);
    this.scratch = Buffer.allocUnsafe(maxOut * 2);
  }

  /** PCM16 LE bytes of one frame at the wire rate. */
  convert(frame: Int16Array): Buffer {
    if (!this.resampler) return pcm16ToLeBytes(frame, this.scratch);
    const n = this.resampler.processInto(frame, this.out);
    return pcm16ToLeBytes(this.out.subarray(0, n), this.scratch);
  }

  /** Forget filter history (new stream). */
  reset(): void {
    this.resampler?.reset();
  }
}

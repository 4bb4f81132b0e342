import { loadWavAs8kMono, PCMU, Resampler } from '../dsp';
import type { AiAudioCommand } from './ai-command';
import { readPcm16Le } from './pcm-bytes';

export type DownlinkResult = { ok: true; pcm: Int16Array } | { ok: false; message: string };

/**
 * AI audio (PCM16 at any supported rate, mu-law, or WAV) to PCM16 8 kHz for the caller.
 *
 * Streaming PCM arrives in chunks of any size, so an odd trailing byte is carried into the next chunk (jambonz's
 * mod_audio_fork does the same). One streaming resampler per input rate keeps its history across chunks so chunk
 * boundaries are inaudible; `reset()` (barge-in) drops history and the carried byte. The returned array is a view of
 * a reused buffer, valid until the next call: the port copies what it queues.
 */
export class DownlinkConverter {
  private readonly resamplers = new Map<number, Resampler>();
  private input = new Int16Array(960);
  private output = new Int16Array(960);
  private carry = -1;

  convert(cmd: AiAudioCommand): DownlinkResult {
    switch (cmd.encoding) {
      case 'wav':
        try {
          return { ok: true, pcm: loadWavAs8kMono(cmd.bytes) };
        } catch (err) {
          return { ok: false, message: `unusable WAV audio: ${err instanceof Error ? err.message : String(err)}` };
        }
      case 'mulaw': {
        const n = cmd.bytes.length;
        const input = this.inputOf(n);
        PCMU.decodeInto(cmd.bytes, input);
        return this.toNarrowband(input, cmd.sampleRate);
      }
      case 'pcm16':
        return this.fromPcm16(cmd.bytes, cmd.sampleRate);
    }
  }

  private fromPcm16(bytes: Uint8Array, rate: number): DownlinkResult {
    let offset = 0;
    let produced = 0;
    const total = bytes.length + (this.carry >= 0 ? 1 : 0);
    const samples = total >> 1;
    const input = this.inputOf(samples);
    if (this.carry >= 0 && bytes.length > 0) {
      const v = this.carry | (bytes[0] << 8);
      input[0] = (v << 16) >> 16;
      offset = 1;
      produced = 1;
      this.carry = -1;
    }
    const rest = samples - produced;
    readPcm16Le(bytes, offset, rest, input, produced);
    const used = offset + rest * 2;
    if (used < bytes.length) this.carry = bytes[used];
    return this.toNarrowband(input, rate);
  }

  private toNarrowband(input: Int16Array, rate: number): DownlinkResult {
    if (rate === 8000) return { ok: true, pcm: input };
    let r = this.resamplers.get(rate);
    if (!r) {
      try {
        r = new Resampler(rate, 8000);
      } catch (err) {
        return { ok: false, message: `cannot resample ${rate} Hz: ${err instanceof Error ? err.message : String(err)}` };
      }
      this.resamplers.set(rate, r);
    }
    const need = r.maxOutputLength(input.length);
    if (this.output.length < need) this.output = new Int16Array(Math.max(need, this.output.length * 2));
    const n = r.processInto(input, this.output);
    return { ok: true, pcm: this.output.subarray(0, n) };
  }

  /** A view of `n` samples of the reused input buffer, grown when needed. */
  private inputOf(n: number): Int16Array {
    if (this.input.length < n) this.input = new Int16Array(Math.max(n, this.input.length * 2));
    return this.input.subarray(0, n);
  }

  /** Barge-in: forget resampler history and any carried byte so new audio starts clean. */
  reset(): void {
    for (const r of this.resamplers.values()) r.reset();
    this.carry = -1;
  }
}

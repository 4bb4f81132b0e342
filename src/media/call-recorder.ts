import { openWavFile, WavStreamWriter, WavWriteSummary } from '../dsp';

/** How a leg is recorded: two channels (left = received from the peer, right = sent to it) or one mixed channel. */
export type RecordingMode = 'stereo' | 'mixed';

export interface RecordOptions {
  mode?: RecordingMode;
}

const FRAME = 160;

/**
 * A recording of one leg at 8 kHz PCM16, written by the streaming WAV writer (buffered, asynchronous, one write in
 * flight): the media tick only interleaves 20 ms into a preallocated buffer, never waits for the disk. Both
 * directions are written on the same tick, so the channels stay aligned even through silence and hold.
 */
export class CallRecorder {
  private readonly out: Int16Array;
  private closing: Promise<WavWriteSummary> | null = null;

  private constructor(
    private readonly writer: WavStreamWriter,
    readonly mode: RecordingMode,
    readonly path: string,
  ) {
    this.out = new Int16Array(mode === 'stereo' ? FRAME * 2 : FRAME);
  }

  /** Create the file. Rejects with WavError('WAV_IO') when it cannot be created. */
  static async open(path: string, opts: RecordOptions = {}): Promise<CallRecorder> {
    const mode = opts.mode ?? 'stereo';
    if (mode !== 'stereo' && mode !== 'mixed') throw new TypeError(`recording mode must be stereo or mixed, got ${String(mode)}`);
    const writer = await openWavFile(path, { sampleRate: 8000, channels: mode === 'stereo' ? 2 : 1, encoding: 'pcm16' });
    return new CallRecorder(writer, mode, path);
  }

  /** False after an I/O error (later audio is discarded; close() reports the error). */
  get healthy(): boolean {
    return this.writer.healthy;
  }

  /** One 20 ms tick: what the leg received and what it sent (null = silence). */
  write(received: Int16Array | null, sent: Int16Array | null): void {
    if (this.closing) return;
    const out = this.out;
    if (this.mode === 'stereo') {
      for (let i = 0, o = 0; i < FRAME; i++, o += 2) {
        out[o] = received ? received[i] : 0;
        out[o + 1] = sent ? sent[i] : 0;
      }
    } else {
      for (let i = 0; i < FRAME; i++) {
        const v = (received ? received[i] : 0) + (sent ? sent[i] : 0);
        out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      }
    }
    this.writer.write(out);
  }

  /** Flush and finalise the file (idempotent). Rejects with WavError('WAV_IO') if writing failed. */
  close(): Promise<WavWriteSummary> {
    this.closing ??= this.writer.close();
    return this.closing;
  }
}

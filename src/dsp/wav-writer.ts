import { open } from 'node:fs/promises';
import { InvalidStateError } from '../util';
import { ALAW_ENCODE_TABLE, MULAW_ENCODE_TABLE } from './g711';
import { WAVE_FORMAT_ALAW, WAVE_FORMAT_MULAW, WAVE_FORMAT_PCM, WavError, WavWriteEncoding, WavWriteFormat } from './wav-format';

/** Largest data chunk a RIFF file can describe (32-bit sizes), less the header. */
export const WAV_MAX_DATA_BYTES = 0xffffffff - 64;

interface ResolvedFormat {
  sampleRate: number;
  channels: number;
  encoding: WavWriteEncoding;
  bytesPerSample: number;
  formatTag: number;
}

function resolve(format: WavWriteFormat): ResolvedFormat {
  const channels = format.channels ?? 1;
  const encoding = format.encoding ?? 'pcm16';
  if (!Number.isInteger(format.sampleRate) || format.sampleRate < 1000 || format.sampleRate > 384_000) {
    throw new TypeError(`sampleRate must be an integer within 1000..384000, got ${format.sampleRate}`);
  }
  if (channels !== 1 && channels !== 2) throw new TypeError(`channels must be 1 or 2, got ${channels}`);
  const formatTag = encoding === 'mulaw' ? WAVE_FORMAT_MULAW : encoding === 'alaw' ? WAVE_FORMAT_ALAW : WAVE_FORMAT_PCM;
  const bytesPerSample = encoding === 'pcm16' ? 2 : 1;
  if (encoding !== 'pcm16' && encoding !== 'pcm8' && encoding !== 'mulaw' && encoding !== 'alaw') {
    throw new TypeError(`unsupported WAV write encoding ${String(encoding)}`);
  }
  return { sampleRate: format.sampleRate, channels, encoding, bytesPerSample, formatTag };
}

/** Header size for a format: 44 bytes for PCM; 58 for G.711 (18-byte fmt with cbSize, plus the fact chunk). */
export function wavHeaderSize(format: WavWriteFormat): number {
  return resolve(format).formatTag === WAVE_FORMAT_PCM ? 44 : 58;
}

/** Build the header for `dataBytes` bytes of sample data. Odd data sizes get the RIFF pad byte counted. */
export function wavHeader(format: WavWriteFormat, dataBytes: number): Buffer {
  const f = resolve(format);
  const pcm = f.formatTag === WAVE_FORMAT_PCM;
  const headerSize = pcm ? 44 : 58;
  const h = Buffer.alloc(headerSize);
  const blockAlign = f.channels * f.bytesPerSample;
  const pad = dataBytes & 1;
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(Math.min(0xffffffff, headerSize - 8 + dataBytes + pad), 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(pcm ? 16 : 18, 16);
  h.writeUInt16LE(f.formatTag, 20);
  h.writeUInt16LE(f.channels, 22);
  h.writeUInt32LE(f.sampleRate, 24);
  h.writeUInt32LE(f.sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(f.bytesPerSample * 8, 34);
  let o = 36;
  if (!pcm) {
    h.writeUInt16LE(0, 36); // cbSize: no extra format bytes
    h.write('fact', 38, 'latin1');
    h.writeUInt32LE(4, 42);
    h.writeUInt32LE(Math.floor(dataBytes / blockAlign), 46);
    o = 50;
  }
  h.write('data', o, 'latin1');
  h.writeUInt32LE(Math.min(0xffffffff, dataBytes), o + 4);
  return h;
}

/** Encode interleaved PCM16 samples into `dst` in the file encoding; returns the bytes written. */
function encodeSamples(src: Int16Array, encoding: WavWriteEncoding, dst: Uint8Array, dstOffset: number): number {
  const n = src.length;
  switch (encoding) {
    case 'pcm16':
      for (let i = 0, o = dstOffset; i < n; i++, o += 2) {
        const v = src[i];
        dst[o] = v & 0xff;
        dst[o + 1] = (v >> 8) & 0xff;
      }
      return n * 2;
    case 'pcm8':
      // Unsigned 8-bit, rounded from the top byte of the 16-bit sample.
      for (let i = 0; i < n; i++) {
        const v = (src[i] + 128) >> 8;
        dst[dstOffset + i] = (v > 127 ? 127 : v) + 128;
      }
      return n;
    case 'mulaw':
      for (let i = 0; i < n; i++) dst[dstOffset + i] = MULAW_ENCODE_TABLE[src[i] + 32768];
      return n;
    case 'alaw':
      for (let i = 0; i < n; i++) dst[dstOffset + i] = ALAW_ENCODE_TABLE[src[i] + 32768];
      return n;
  }
}

/**
 * A complete WAV file in memory from interleaved PCM16 samples (mono or stereo), stored as pcm16 (default),
 * pcm8, mu-law or A-law.
 */
export function encodeWav(samples: Int16Array, format: WavWriteFormat): Buffer {
  const f = resolve(format);
  if (samples.length % f.channels !== 0) throw new TypeError(`${samples.length} samples is not a whole number of ${f.channels}-channel frames`);
  const dataBytes = samples.length * f.bytesPerSample;
  if (dataBytes > WAV_MAX_DATA_BYTES) throw new WavError('WAV_TOO_LARGE', `${dataBytes} bytes of audio exceed the RIFF 4 GiB limit`);
  const header = wavHeader(format, dataBytes);
  const out = Buffer.alloc(header.length + dataBytes + (dataBytes & 1));
  header.copy(out, 0);
  encodeSamples(samples, f.encoding, out, header.length);
  return out;
}

/**
 * Where a streaming writer puts bytes. `append` writes after the furthest byte written so far (by either
 * method); `writeAt` patches the header in place. Calls are issued one at a time, in order.
 */
export interface WavSink {
  append(chunk: Uint8Array): Promise<void>;
  writeAt(position: number, chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** What a finished recording holds. */
export interface WavWriteSummary {
  readonly frames: number;
  readonly dataBytes: number;
  readonly durationMs: number;
  /** Frames refused because the file reached the RIFF size limit. */
  readonly droppedFrames: number;
}

export interface WavStreamWriterOptions {
  /** Bytes buffered before a write is issued (default 32 KiB: ~2 s of 8 kHz PCM16). */
  bufferBytes?: number;
  /**
   * Rewrite the header every this many data bytes (default 1 MiB, about a minute of 8 kHz PCM16), so a
   * recording interrupted by a crash is still a valid file up to that point. 0 disables it.
   */
  headerPatchBytes?: number;
}

/**
 * Streaming WAV writer for recordings: a placeholder header first, samples appended as they come (buffered,
 * one write in flight at a time, in order), and the real sizes patched into the header on `close()`.
 * `write()` never blocks the caller and never throws for I/O: the first I/O error is kept, later samples are
 * discarded, and `close()` rejects with a WavError('WAV_IO').
 */
export class WavStreamWriter {
  private readonly f: ResolvedFormat;
  private readonly bufferBytes: number;
  private readonly patchEvery: number;
  private buffer: Buffer;
  private buffered = 0;
  private dataBytes = 0;
  private lastPatch = 0;
  private dropped = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = undefined;
  private closed = false;

  constructor(
    private readonly sink: WavSink,
    private readonly format: WavWriteFormat,
    options: WavStreamWriterOptions = {},
  ) {
    this.f = resolve(format);
    this.bufferBytes = Math.max(1024, options.bufferBytes ?? 32 * 1024);
    this.patchEvery = options.headerPatchBytes ?? 1024 * 1024;
    this.buffer = Buffer.alloc(this.bufferBytes);
    // Placeholder sizes of 0: a reader that meets them before close reads the data to the end of the file.
    this.chain = this.run(() => this.sink.writeAt(0, wavHeader(format, 0)));
  }

  /** Frames (samples per channel) accepted so far. */
  get frames(): number {
    return (this.dataBytes + this.buffered) / (this.f.bytesPerSample * this.f.channels);
  }

  /** False once an I/O error has happened (samples are then discarded). */
  get healthy(): boolean {
    return this.failure === undefined;
  }

  /**
   * Append interleaved PCM16 samples (the caller may reuse `samples` right after the call returns).
   * Returns false when samples were refused (I/O failure, or the 4 GiB RIFF limit).
   */
  write(samples: Int16Array): boolean {
    if (this.closed) throw new InvalidStateError('WAV writer is closed');
    if (this.failure !== undefined) return false;
    const frameSize = this.f.channels;
    const whole = samples.length - (samples.length % frameSize);
    const room = Math.floor((WAV_MAX_DATA_BYTES - this.dataBytes - this.buffered) / (this.f.bytesPerSample * frameSize)) * frameSize;
    const take = Math.min(whole, room);
    if (take < whole) this.dropped += (whole - take) / frameSize;
    const bytes = take * this.f.bytesPerSample;
    if (this.buffered + bytes > this.buffer.length) {
      this.flushBuffer();
      if (bytes > this.buffer.length) this.buffer = Buffer.alloc(bytes);
    }
    encodeSamples(take === samples.length ? samples : samples.subarray(0, take), this.f.encoding, this.buffer, this.buffered);
    this.buffered += bytes;
    if (this.buffered >= this.bufferBytes) this.flushBuffer();
    return take === whole;
  }

  /** Flush, patch the header with the final sizes and close the sink. Rejects with WavError('WAV_IO') on I/O failure. */
  async close(): Promise<WavWriteSummary> {
    if (this.closed) throw new InvalidStateError('WAV writer is already closed');
    this.closed = true;
    this.flushBuffer();
    const dataBytes = this.dataBytes;
    const pad = dataBytes & 1;
    if (pad) this.chain = this.run(() => this.sink.append(new Uint8Array(1)));
    this.chain = this.run(() => this.sink.writeAt(0, wavHeader(this.format, dataBytes)));
    await this.chain;
    try {
      await this.sink.close();
    } catch (err) {
      if (this.failure === undefined) this.failure = err;
    }
    if (this.failure !== undefined) {
      const e = this.failure;
      throw new WavError('WAV_IO', `writing WAV failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const frames = dataBytes / (this.f.bytesPerSample * this.f.channels);
    return { frames, dataBytes, durationMs: (frames * 1000) / this.f.sampleRate, droppedFrames: this.dropped };
  }

  private flushBuffer(): void {
    if (this.buffered === 0) return;
    // Hand the filled buffer to the sink and continue in a fresh one: the sink may still be writing it.
    const chunk = this.buffer.subarray(0, this.buffered);
    this.buffer = Buffer.alloc(this.bufferBytes);
    this.dataBytes += this.buffered;
    this.buffered = 0;
    this.chain = this.run(() => this.sink.append(chunk));
    if (this.patchEvery > 0 && this.dataBytes - this.lastPatch >= this.patchEvery) {
      this.lastPatch = this.dataBytes;
      const header = wavHeader(this.format, this.dataBytes);
      this.chain = this.run(() => this.sink.writeAt(0, header));
    }
  }

  /** Queue an I/O step after the previous ones; after a failure, later steps are skipped. */
  private run(step: () => Promise<void>): Promise<void> {
    return this.chain.then(async () => {
      if (this.failure !== undefined) return;
      try {
        await step();
      } catch (err) {
        this.failure = err;
      }
    });
  }
}

/** A WavSink on a local file (created or truncated). */
export async function openFileSink(path: string): Promise<WavSink> {
  const handle = await open(path, 'w');
  let position = 0;
  return {
    async append(chunk: Uint8Array): Promise<void> {
      const at = Math.max(position, 0);
      position = at + chunk.byteLength;
      await handle.write(chunk, 0, chunk.byteLength, at);
    },
    async writeAt(at: number, chunk: Uint8Array): Promise<void> {
      await handle.write(chunk, 0, chunk.byteLength, at);
      position = Math.max(position, at + chunk.byteLength);
    },
    close: () => handle.close(),
  };
}

/** Open a streaming WAV writer on a file path (for call recordings). Rejects with WavError('WAV_IO') if the file cannot be created. */
export async function openWavFile(path: string, format: WavWriteFormat, options?: WavStreamWriterOptions): Promise<WavStreamWriter> {
  resolve(format);
  let sink: WavSink;
  try {
    sink = await openFileSink(path);
  } catch (err) {
    throw new WavError('WAV_IO', `cannot create ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return new WavStreamWriter(sink, format, options);
}

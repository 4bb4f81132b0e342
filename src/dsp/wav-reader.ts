import { ALAW_DECODE_TABLE, MULAW_DECODE_TABLE } from './g711';
import { resample } from './resampler';
import {
  WAVE_FORMAT_ALAW,
  WAVE_FORMAT_EXTENSIBLE,
  WAVE_FORMAT_IEEE_FLOAT,
  WAVE_FORMAT_MULAW,
  WAVE_FORMAT_PCM,
  WavAudio,
  WavEncoding,
  WavError,
  WavErrorCode,
  WavParseResult,
} from './wav-format';

/** Most channels we downmix (7.1 audio). */
const MAX_CHANNELS = 8;
const MAX_SAMPLE_RATE = 384_000;
/** Sizes meaning "unknown, to end of file" in files whose writer never patched the header. */
const SIZE_UNKNOWN = 0xffffffff;

interface FmtInfo {
  formatTag: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Bytes per sample of one channel, as stored. */
  container: number;
}

function fourcc(view: DataView, offset: number): string {
  return String.fromCharCode(view.getUint8(offset), view.getUint8(offset + 1), view.getUint8(offset + 2), view.getUint8(offset + 3));
}

function fail(code: WavErrorCode, message: string): { ok: false; error: WavError } {
  return { ok: false, error: new WavError(code, message) };
}

function parseFmt(view: DataView, offset: number, size: number): FmtInfo | WavError {
  if (size < 16) return new WavError('WAV_BAD_FMT', `fmt chunk of ${size} bytes (at least 16 expected)`);
  let formatTag = view.getUint16(offset, true);
  const channels = view.getUint16(offset + 2, true);
  const sampleRate = view.getUint32(offset + 4, true);
  const blockAlign = view.getUint16(offset + 12, true);
  let bitsPerSample = view.getUint16(offset + 14, true);
  if (formatTag === WAVE_FORMAT_EXTENSIBLE) {
    // WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4) SubFormat GUID(16), whose first 2 bytes are the format tag.
    if (size < 40) return new WavError('WAV_BAD_FMT', `WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes (40 expected)`);
    formatTag = view.getUint16(offset + 24, true);
    const validBits = view.getUint16(offset + 18, true);
    if (validBits > 0 && validBits <= bitsPerSample) bitsPerSample = validBits;
  }
  if (channels < 1 || channels > MAX_CHANNELS) return new WavError('WAV_BAD_FMT', `${channels} channels (1..${MAX_CHANNELS} supported)`);
  if (sampleRate < 1000 || sampleRate > MAX_SAMPLE_RATE) return new WavError('WAV_BAD_FMT', `sample rate ${sampleRate} Hz`);
  if (bitsPerSample < 1 || bitsPerSample > 64) return new WavError('WAV_BAD_FMT', `${bitsPerSample} bits per sample`);
  // The container size comes from blockAlign when it is consistent (12-bit audio in 16-bit words), else from the bits.
  const fromBits = Math.ceil(bitsPerSample / 8);
  const fromAlign = blockAlign % channels === 0 ? blockAlign / channels : 0;
  const container = fromAlign >= fromBits && fromAlign <= 8 ? fromAlign : fromBits;
  return { formatTag, channels, sampleRate, bitsPerSample, container };
}

function encodingOf(fmt: FmtInfo): WavEncoding | undefined {
  switch (fmt.formatTag) {
    case WAVE_FORMAT_PCM:
      if (fmt.container === 1) return 'pcm8';
      if (fmt.container === 2) return 'pcm16';
      if (fmt.container === 3) return 'pcm24';
      if (fmt.container === 4) return 'pcm32';
      return undefined;
    case WAVE_FORMAT_IEEE_FLOAT:
      if (fmt.container === 4) return 'float32';
      if (fmt.container === 8) return 'float64';
      return undefined;
    case WAVE_FORMAT_MULAW:
      return fmt.container === 1 ? 'mulaw' : undefined;
    case WAVE_FORMAT_ALAW:
      return fmt.container === 1 ? 'alaw' : undefined;
    default:
      return undefined;
  }
}

/** True when `offset` holds a plausible chunk header: four printable ASCII characters and a size that fits. */
function looksLikeChunk(view: DataView, offset: number, end: number): boolean {
  if (offset + 8 > end) return false;
  for (let i = 0; i < 4; i++) {
    const c = view.getUint8(offset + i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return offset + 8 + view.getUint32(offset + 4, true) <= end;
}

function clamp16(v: number): number {
  return v >= 32767 ? 32767 : v <= -32768 ? -32768 : Math.round(v);
}

function decodeSamples(bytes: Uint8Array, encoding: WavEncoding, count: number): Int16Array {
  const out = new Int16Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (encoding) {
    case 'pcm8':
      // 8-bit WAV PCM is unsigned with 128 as zero.
      for (let i = 0; i < count; i++) out[i] = (bytes[i] - 128) << 8;
      break;
    case 'pcm16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true);
      break;
    case 'pcm24':
      for (let i = 0; i < count; i++) {
        const o = i * 3;
        // Place the 24 bits at the top of an int32 so the sign extends, then scale 2^32 -> 2^16.
        const v = (bytes[o] << 8) | (bytes[o + 1] << 16) | (bytes[o + 2] << 24);
        out[i] = clamp16(v / 65536);
      }
      break;
    case 'pcm32':
      for (let i = 0; i < count; i++) out[i] = clamp16(view.getInt32(i * 4, true) / 65536);
      break;
    case 'float32':
      for (let i = 0; i < count; i++) {
        const v = view.getFloat32(i * 4, true);
        out[i] = Number.isFinite(v) ? clamp16(v * 32768) : 0;
      }
      break;
    case 'float64':
      for (let i = 0; i < count; i++) {
        const v = view.getFloat64(i * 8, true);
        out[i] = Number.isFinite(v) ? clamp16(v * 32768) : 0;
      }
      break;
    case 'mulaw':
      for (let i = 0; i < count; i++) out[i] = MULAW_DECODE_TABLE[bytes[i]];
      break;
    case 'alaw':
      for (let i = 0; i < count; i++) out[i] = ALAW_DECODE_TABLE[bytes[i]];
      break;
  }
  return out;
}

function parseUnchecked(input: Uint8Array): WavParseResult {
  if (input.byteLength < 12) return fail('WAV_TRUNCATED', `${input.byteLength} bytes is too short for a RIFF header`);
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const riff = fourcc(view, 0);
  if (riff !== 'RIFF' && riff !== 'RF64') return fail('WAV_NOT_RIFF', `not a RIFF file (starts with ${JSON.stringify(riff)})`);
  if (fourcc(view, 8) !== 'WAVE') return fail('WAV_NOT_WAVE', `RIFF form ${JSON.stringify(fourcc(view, 8))} is not WAVE`);

  let fmt: FmtInfo | undefined;
  let dataOffset = -1;
  let dataSize = 0;
  let rf64DataSize = -1;
  let offset = 12;
  const end = input.byteLength;
  while (offset + 8 <= end) {
    const id = fourcc(view, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    const available = end - body;
    if (id === 'ds64' && riff === 'RF64' && size >= 24 && available >= 24) {
      // EBU Tech 3306 §3: 64-bit sizes for RF64; the data chunk's 32-bit size is then 0xFFFFFFFF.
      rf64DataSize = view.getUint32(body + 8, true) + view.getUint32(body + 12, true) * 0x1_0000_0000;
    } else if (id === 'fmt ') {
      if (size > available) return fail('WAV_TRUNCATED', 'fmt chunk runs past the end of the file');
      const parsed = parseFmt(view, body, size);
      if (parsed instanceof WavError) return { ok: false, error: parsed };
      fmt = parsed;
    } else if (id === 'data') {
      dataOffset = body;
      let declared = size;
      if (size === SIZE_UNKNOWN && rf64DataSize >= 0) declared = rf64DataSize;
      // A recording cut short (crash, full disk) declares 0, 0xFFFFFFFF or more than is there: keep what the
      // file holds. A true empty data chunk is recognised by a well-formed chunk right after it.
      const unknown = declared === SIZE_UNKNOWN || (declared === 0 && available > 0 && !looksLikeChunk(view, body, end));
      dataSize = unknown || declared > available ? available : declared;
      if (unknown) break; // data runs to the end of the file
      if (fmt) break; // everything needed; trailing chunks (LIST after data) are irrelevant
    }
    // RIFF chunks are word aligned: an odd size is followed by one pad byte.
    offset = body + size + (size & 1);
  }
  if (!fmt) return fail('WAV_NO_FMT', 'no fmt chunk');
  if (dataOffset < 0) return fail('WAV_NO_DATA', 'no data chunk');
  const encoding = encodingOf(fmt);
  if (!encoding) {
    return fail('WAV_UNSUPPORTED_FORMAT', `format tag 0x${fmt.formatTag.toString(16).padStart(4, '0')} with ${fmt.bitsPerSample}-bit samples is not supported`);
  }
  const frameBytes = fmt.container * fmt.channels;
  const frames = Math.floor(dataSize / frameBytes);
  const count = frames * fmt.channels;
  const samples = decodeSamples(input.subarray(dataOffset, dataOffset + frames * frameBytes), encoding, count);
  const wav: WavAudio = {
    encoding,
    formatTag: fmt.formatTag,
    sampleRate: fmt.sampleRate,
    channels: fmt.channels,
    bitsPerSample: fmt.bitsPerSample,
    frames,
    samples,
  };
  return { ok: true, wav };
}

/**
 * Parse a WAV file held in memory. Never throws: a file that cannot be used yields `{ ok: false, error }`
 * with a WavError code. Unknown chunks (LIST, fact, cue, bext...) are skipped; a data chunk whose size is
 * missing or larger than the file (an interrupted recording) is read up to the end of the file.
 */
export function parseWav(input: Uint8Array): WavParseResult {
  try {
    return parseUnchecked(input);
  } catch (err) {
    return fail('WAV_MALFORMED', `unreadable WAV file: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Like parseWav, but throws the WavError. */
export function decodeWav(input: Uint8Array): WavAudio {
  const r = parseWav(input);
  if (!r.ok) throw r.error;
  return r.wav;
}

/** Average interleaved channels into one (allocates the mono buffer; returns a copy for mono input). */
export function downmixToMono(samples: Int16Array, channels: number): Int16Array {
  if (!Number.isInteger(channels) || channels < 1) throw new TypeError(`channels must be a positive integer, got ${channels}`);
  if (channels === 1) return samples.slice();
  const frames = Math.floor(samples.length / channels);
  const out = new Int16Array(frames);
  for (let f = 0, i = 0; f < frames; f++) {
    let acc = 0;
    for (let c = 0; c < channels; c++) acc += samples[i++];
    out[f] = Math.round(acc / channels);
  }
  return out;
}

/**
 * Decode any supported WAV file to mono PCM16 at `sampleRate` (downmix, then anti-aliased resampling).
 * Throws WavError only (WAV_UNSUPPORTED_RATE when no resampler can be built for the ratio).
 */
export function loadWavAsMono(input: Uint8Array, sampleRate: number): Int16Array {
  const wav = decodeWav(input);
  const mono = downmixToMono(wav.samples, wav.channels);
  if (wav.sampleRate === sampleRate) return mono;
  try {
    return resample(mono, wav.sampleRate, sampleRate);
  } catch (err) {
    throw new WavError('WAV_UNSUPPORTED_RATE', `cannot resample ${wav.sampleRate} Hz to ${sampleRate} Hz: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Decode any supported WAV file (prompts, music on hold) to 8 kHz mono PCM16, the telephone format. Throws WavError only. */
export function loadWavAs8kMono(input: Uint8Array): Int16Array {
  return loadWavAsMono(input, 8000);
}

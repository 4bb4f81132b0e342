import { CodedError } from '../util';

/**
 * RIFF/WAVE vocabulary shared by the reader and the writer (Microsoft "Multimedia Programming Interface and
 * Data Specifications 1.0", WAVEFORMATEXTENSIBLE, and EBU Tech 3306 for RF64).
 *
 *   "RIFF" size:u32le "WAVE"
 *     "fmt " 16|18|40  formatTag:u16 channels:u16 sampleRate:u32 byteRate:u32 blockAlign:u16 bits:u16 [cbSize ...]
 *     "fact" 4         sampleFrames:u32        (required for non-PCM formats)
 *     "LIST" ...       (ignored, like any other chunk)
 *     "data" size:u32  samples, interleaved, little-endian; odd-sized chunks are followed by a pad byte
 */

/** Sample encodings the reader understands; the writer produces pcm8, pcm16, mulaw and alaw. */
export type WavEncoding = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64' | 'mulaw' | 'alaw';
/** Encodings `encodeWav` and `WavStreamWriter` can write. */
export type WavWriteEncoding = 'pcm8' | 'pcm16' | 'mulaw' | 'alaw';

export const WAVE_FORMAT_PCM = 0x0001;
export const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
export const WAVE_FORMAT_ALAW = 0x0006;
export const WAVE_FORMAT_MULAW = 0x0007;
export const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Stable error codes of WavError. */
export type WavErrorCode =
  | 'WAV_NOT_RIFF'
  | 'WAV_NOT_WAVE'
  | 'WAV_TRUNCATED'
  | 'WAV_NO_FMT'
  | 'WAV_NO_DATA'
  | 'WAV_BAD_FMT'
  | 'WAV_UNSUPPORTED_FORMAT'
  | 'WAV_UNSUPPORTED_RATE'
  | 'WAV_TOO_LARGE'
  | 'WAV_IO'
  | 'WAV_MALFORMED';

/** A WAV file could not be read or written; `code` says why. */
export class WavError extends CodedError {
  declare readonly code: WavErrorCode;
  constructor(code: WavErrorCode, message: string) {
    super(code, message);
  }
}

/** A decoded WAV file. */
export interface WavAudio {
  readonly encoding: WavEncoding;
  /** The fmt chunk's format tag (the sub-format for WAVE_FORMAT_EXTENSIBLE). */
  readonly formatTag: number;
  readonly sampleRate: number;
  readonly channels: number;
  readonly bitsPerSample: number;
  /** Sample frames (samples per channel). */
  readonly frames: number;
  /** All samples converted to PCM16, interleaved by channel. */
  readonly samples: Int16Array;
}

export type WavParseResult = { ok: true; wav: WavAudio } | { ok: false; error: WavError };

/** The format of a file to write. */
export interface WavWriteFormat {
  readonly sampleRate: number;
  /** 1 (mono) or 2 (stereo); samples are interleaved. Default 1. */
  readonly channels?: number;
  /** Default pcm16. */
  readonly encoding?: WavWriteEncoding;
}

import { alaw, mulaw } from 'alawmulaw';

/**
 * ITU-T G.711 companding (PCMU = mu-law, PCMA = A-law; RFC 3551 §4.5.14 payload types 0 and 8).
 *
 * The reference sample functions come from `alawmulaw`; the hot path never calls them. At module load we
 * build (pjmedia `alaw_ulaw.h` style):
 *   - a 256-entry decode table per law (code -> PCM16),
 *   - a 65536-entry encode table per law indexed by `sample + 32768` (64 KiB each, one load per sample),
 *   - two 256-entry transcoding tables (mu-law <-> A-law through the linear value).
 * `decodeInto` / `encodeInto` then cost one table load per sample and allocate nothing.
 */

export type G711EncodingName = 'PCMU' | 'PCMA';

/** A G.711 law with table-driven, allocation-free conversion. */
export interface G711Codec {
  /** RTP encoding name (RFC 3551 §6). */
  readonly encodingName: G711EncodingName;
  /** Static RTP payload type (RFC 3551 §6, Table 4). */
  readonly payloadType: 0 | 8;
  /** Code of PCM 0, the idle pattern to send as silence (PCMU 0xFF = 0; PCMA 0xD5 = +8, A-law has no zero). */
  readonly silenceCode: number;
  /** Decode one code (0..255) to PCM16. */
  decodeSample(code: number): number;
  /** Encode one PCM16 sample (clamped to -32768..32767) to a code. */
  encodeSample(sample: number): number;
  /**
   * Decode `min(src.length, dst.length)` codes into `dst`; returns the number of samples written.
   * Allocates nothing.
   */
  decodeInto(src: Uint8Array, dst: Int16Array): number;
  /**
   * Encode `min(src.length, dst.length)` samples into `dst`; returns the number of codes written.
   * Allocates nothing.
   */
  encodeInto(src: Int16Array, dst: Uint8Array): number;
  /** Allocating convenience: decode a whole payload. */
  decode(src: Uint8Array): Int16Array;
  /** Allocating convenience: encode a whole buffer of samples. */
  encode(src: Int16Array): Uint8Array;
}

const ENCODE_OFFSET = 32768;

function buildDecodeTable(decodeSample: (code: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let code = 0; code < 256; code++) table[code] = decodeSample(code);
  return table;
}

function buildEncodeTable(encodeSample: (sample: number) => number): Uint8Array {
  const table = new Uint8Array(65536);
  // alawmulaw's mu-law encoder returns a bitwise complement (negative number): keep the low 8 bits.
  for (let s = -32768; s <= 32767; s++) table[s + ENCODE_OFFSET] = encodeSample(s) & 0xff;
  return table;
}

function buildTranscodeTable(fromDecode: Int16Array, toEncode: Uint8Array): Uint8Array {
  const table = new Uint8Array(256);
  for (let code = 0; code < 256; code++) table[code] = toEncode[fromDecode[code] + ENCODE_OFFSET];
  return table;
}

/** mu-law code -> PCM16. */
export const MULAW_DECODE_TABLE: Int16Array = buildDecodeTable(mulaw.decodeSample);
/** A-law code -> PCM16. */
export const ALAW_DECODE_TABLE: Int16Array = buildDecodeTable(alaw.decodeSample);
/** (PCM16 + 32768) -> mu-law code. */
export const MULAW_ENCODE_TABLE: Uint8Array = buildEncodeTable(mulaw.encodeSample);
/** (PCM16 + 32768) -> A-law code. */
export const ALAW_ENCODE_TABLE: Uint8Array = buildEncodeTable(alaw.encodeSample);
/** mu-law code -> A-law code. */
export const MULAW_TO_ALAW_TABLE: Uint8Array = buildTranscodeTable(MULAW_DECODE_TABLE, ALAW_ENCODE_TABLE);
/** A-law code -> mu-law code. */
export const ALAW_TO_MULAW_TABLE: Uint8Array = buildTranscodeTable(ALAW_DECODE_TABLE, MULAW_ENCODE_TABLE);

function clampIndex(sample: number): number {
  const s = sample > 32767 ? 32767 : sample < -32768 ? -32768 : sample | 0;
  return s + ENCODE_OFFSET;
}

class TableG711Codec implements G711Codec {
  readonly silenceCode: number;

  constructor(
    readonly encodingName: G711EncodingName,
    readonly payloadType: 0 | 8,
    private readonly decodeTable: Int16Array,
    private readonly encodeTable: Uint8Array,
  ) {
    this.silenceCode = encodeTable[ENCODE_OFFSET];
  }

  decodeSample(code: number): number {
    return this.decodeTable[code & 0xff];
  }

  encodeSample(sample: number): number {
    return this.encodeTable[clampIndex(sample)];
  }

  decodeInto(src: Uint8Array, dst: Int16Array): number {
    const n = src.length < dst.length ? src.length : dst.length;
    const table = this.decodeTable;
    for (let i = 0; i < n; i++) dst[i] = table[src[i]];
    return n;
  }

  encodeInto(src: Int16Array, dst: Uint8Array): number {
    const n = src.length < dst.length ? src.length : dst.length;
    const table = this.encodeTable;
    // Int16Array elements are already in range, so the offset index cannot leave the table.
    for (let i = 0; i < n; i++) dst[i] = table[src[i] + ENCODE_OFFSET];
    return n;
  }

  decode(src: Uint8Array): Int16Array {
    const out = new Int16Array(src.length);
    this.decodeInto(src, out);
    return out;
  }

  encode(src: Int16Array): Uint8Array {
    const out = new Uint8Array(src.length);
    this.encodeInto(src, out);
    return out;
  }
}

/** G.711 mu-law (North America, Japan). */
export const PCMU: G711Codec = new TableG711Codec('PCMU', 0, MULAW_DECODE_TABLE, MULAW_ENCODE_TABLE);
/** G.711 A-law (Europe and most of the rest of the world). */
export const PCMA: G711Codec = new TableG711Codec('PCMA', 8, ALAW_DECODE_TABLE, ALAW_ENCODE_TABLE);

/** The codec for an RTP encoding name (case-insensitive, RFC 4566 §6 rtpmap names), or undefined. */
export function g711CodecByName(name: string): G711Codec | undefined {
  const upper = name.toUpperCase();
  if (upper === 'PCMU') return PCMU;
  if (upper === 'PCMA') return PCMA;
  return undefined;
}

/** The codec for a static RTP payload type (0 or 8), or undefined. */
export function g711CodecByPayloadType(pt: number): G711Codec | undefined {
  if (pt === 0) return PCMU;
  if (pt === 8) return PCMA;
  return undefined;
}

function transcodeInto(table: Uint8Array, src: Uint8Array, dst: Uint8Array): number {
  const n = src.length < dst.length ? src.length : dst.length;
  for (let i = 0; i < n; i++) dst[i] = table[src[i]];
  return n;
}

/** Transcode mu-law codes to A-law codes by table (no PCM step at run time). `src` and `dst` may be the same array. */
export function mulawToAlawInto(src: Uint8Array, dst: Uint8Array): number {
  return transcodeInto(MULAW_TO_ALAW_TABLE, src, dst);
}

/** Transcode A-law codes to mu-law codes by table. `src` and `dst` may be the same array. */
export function alawToMulawInto(src: Uint8Array, dst: Uint8Array): number {
  return transcodeInto(ALAW_TO_MULAW_TABLE, src, dst);
}

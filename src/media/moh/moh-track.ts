import { PCMA, PCMU, type G711EncodingName } from '../../dsp';

/** Samples per 20 ms frame at 8 kHz: the G.711 RTP packetisation (RFC 3551 §4.5.14), 160 bytes per frame. */
export const MOH_FRAME_SAMPLES = 160;
/** Samples per millisecond at 8 kHz. */
export const MOH_SAMPLES_PER_MS = 8;

/**
 * One music-on-hold file, converted once at load: 8 kHz mono PCM16 plus its PCMU and PCMA encodings, so
 * a held call costs a 160-byte copy per frame and no companding. Immutable and shared by every listener.
 */
export class MohTrack {
  /** mu-law codes, one per sample. */
  readonly pcmu: Uint8Array;
  /** A-law codes, one per sample. */
  readonly pcma: Uint8Array;

  private constructor(
    readonly name: string,
    /** 8 kHz mono PCM16. */
    readonly pcm: Int16Array,
  ) {
    this.pcmu = PCMU.encode(pcm);
    this.pcma = PCMA.encode(pcm);
  }

  /** A track from decoded 8 kHz mono PCM (at least one sample). */
  static fromPcm(name: string, pcm: Int16Array): MohTrack {
    if (pcm.length === 0) throw new TypeError(`music-on-hold track ${JSON.stringify(name)} has no audio`);
    return new MohTrack(name, pcm);
  }

  /** Length in samples (the loop period). */
  get samples(): number {
    return this.pcm.length;
  }

  /** Length in ms. */
  get durationMs(): number {
    return this.pcm.length / MOH_SAMPLES_PER_MS;
  }

  /** Memory held by the decoded and encoded audio, bytes. */
  get byteLength(): number {
    return this.pcm.byteLength + this.pcmu.byteLength + this.pcma.byteLength;
  }

  /** The encoded codes for `codec`. */
  codes(codec: G711EncodingName): Uint8Array {
    return codec === 'PCMA' ? this.pcma : this.pcmu;
  }

  /**
   * Copy `dst.length` codes starting at sample `position`, wrapping at the end so the loop has no gap.
   * Returns the position after the copy. Allocates nothing.
   */
  copyCodes(codec: G711EncodingName, position: number, dst: Uint8Array): number {
    const src = codec === 'PCMA' ? this.pcma : this.pcmu;
    const total = src.length;
    let p = position % total;
    for (let i = 0; i < dst.length; i++) {
      dst[i] = src[p];
      if (++p === total) p = 0;
    }
    return p;
  }

  /** Like copyCodes, for PCM16 samples. */
  copyPcm(position: number, dst: Int16Array): number {
    const src = this.pcm;
    const total = src.length;
    let p = position % total;
    for (let i = 0; i < dst.length; i++) {
      dst[i] = src[p];
      if (++p === total) p = 0;
    }
    return p;
  }
}

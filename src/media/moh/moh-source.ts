import type { G711EncodingName } from '../../dsp';
import { MOH_FRAME_SAMPLES, type MohTrack } from './moh-track';

/** How a held caller hears music: where every listener is (`shared`), or from the start (`from-top`). */
export type MohMode = 'shared' | 'from-top';

/** A pure frame provider for one held leg: no sockets, no timers; the leg's send clock pulls it every 20 ms. */
export interface MohSource {
  readonly track: MohTrack;
  /**
   * The next 20 ms frame, 160 G.711 codes in `codec`. The returned array is owned by the source and
   * overwritten by the next call: send or copy it before asking again.
   */
  nextFrame(codec: G711EncodingName): Uint8Array;
  /**
   * The next `dst.length` samples as PCM16 (for legs that mix or transcode); returns `dst.length`, music
   * never ends. Matches the media player's PlaybackSource contract.
   */
  fill(dst: Int16Array): number;
  /** Sample position of the next frame within the track. */
  readonly position: number;
}

/** Music from the top of the track for this listener alone, looping without a gap. */
export class MohPlayer implements MohSource {
  private readonly frame = new Uint8Array(MOH_FRAME_SAMPLES);
  private pos: number;

  constructor(
    readonly track: MohTrack,
    startPosition = 0,
  ) {
    if (!Number.isInteger(startPosition) || startPosition < 0) throw new TypeError(`startPosition must be a non-negative integer, got ${startPosition}`);
    this.pos = startPosition % track.samples;
  }

  get position(): number {
    return this.pos;
  }

  nextFrame(codec: G711EncodingName): Uint8Array {
    this.pos = this.track.copyCodes(codec, this.pos, this.frame);
    return this.frame;
  }

  fill(dst: Int16Array): number {
    this.pos = this.track.copyPcm(this.pos, dst);
    return dst.length;
  }

  /** Back to the top (a caller taken off hold and held again hears the music from the start). */
  rewind(): void {
    this.pos = 0;
  }
}

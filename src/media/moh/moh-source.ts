import type { G711EncodingName } from '../../dsp';
import type { PlaybackSource } from '../playback-source';
import { MOH_FRAME_SAMPLES, type MohTrack } from './moh-track';

/**
 * How a held caller hears music (MOH_MODE): joining a stream every listener shares, at the point it has reached
 * (`shared`, a PBX's "radio"), or the track from its start for each listener alone (`per-listener`; `from-top` is
 * the same).
 */
export type MohMode = 'shared' | 'per-listener' | 'from-top';

/**
 * A pure frame provider for one held leg: no sockets, no timers; the leg's send clock pulls it every 20 ms. It is
 * also a media PlaybackSource that never ends, so MediaSession.play() can send it.
 */
export interface MohSource extends PlaybackSource {
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
  /** Always false: music loops until stopped. */
  readonly ended: boolean;
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

  get ended(): boolean {
    return false;
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

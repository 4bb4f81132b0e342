import type { G711EncodingName } from '../../dsp';
import { systemClock, type Clock } from '../../util';
import type { MohSource } from './moh-source';
import { MOH_FRAME_SAMPLES, MOH_SAMPLES_PER_MS, type MohTrack } from './moh-track';

export interface MohStreamOptions {
  clock?: Clock;
  /**
   * A listener further than this from the stream's position (paused, or starved by a slow event loop)
   * jumps back to where the stream is, ms (default 200). Smaller drifts, the jitter of a 20 ms pacer,
   * are left alone: correcting them would skip or repeat audio.
   */
  resyncMs?: number;
}

/**
 * A shared music-on-hold "radio": the track plays from the moment the stream is created, advancing with
 * the clock whether or not anybody listens, and each listener joins at the stream's current position, as
 * every caller on hold in a PBX hears the same music at the same point. Pure: it computes positions from
 * the clock; listeners pull frames.
 */
export class MohStream {
  private readonly clock: Clock;
  private readonly startedAt: number;
  readonly resyncSamples: number;

  constructor(
    readonly track: MohTrack,
    options: MohStreamOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.startedAt = this.clock.now();
    const resyncMs = options.resyncMs ?? 200;
    if (!(resyncMs >= 0) || !Number.isFinite(resyncMs)) throw new TypeError(`resyncMs must be >= 0, got ${resyncMs}`);
    this.resyncSamples = Math.round(resyncMs * MOH_SAMPLES_PER_MS);
  }

  /** The stream's current sample position within the track. */
  get position(): number {
    const elapsed = Math.max(0, this.clock.now() - this.startedAt);
    return Math.floor(elapsed * MOH_SAMPLES_PER_MS) % this.track.samples;
  }

  /** A frame provider for one more listener, starting where the stream is now. */
  listen(): MohStreamListener {
    return new MohStreamListener(this);
  }
}

/** One listener of a shared stream: advances a frame per pull and stays within `resyncMs` of the stream. */
export class MohStreamListener implements MohSource {
  private readonly frame = new Uint8Array(MOH_FRAME_SAMPLES);
  private pos: number;

  constructor(private readonly stream: MohStream) {
    this.pos = stream.position;
  }

  get track(): MohTrack {
    return this.stream.track;
  }

  get position(): number {
    return this.pos;
  }

  get ended(): boolean {
    return false;
  }

  nextFrame(codec: G711EncodingName): Uint8Array {
    this.resync();
    this.pos = this.stream.track.copyCodes(codec, this.pos, this.frame);
    return this.frame;
  }

  fill(dst: Int16Array): number {
    this.resync();
    this.pos = this.stream.track.copyPcm(this.pos, dst);
    return dst.length;
  }

  private resync(): void {
    const total = this.stream.track.samples;
    const target = this.stream.position;
    // Circular distance: the track loops, so 10 samples before the end and 10 after the start are close.
    let drift = Math.abs(target - this.pos);
    if (drift > total / 2) drift = total - drift;
    if (drift > this.stream.resyncSamples) this.pos = target;
  }
}

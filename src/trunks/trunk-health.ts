/** Reachability of a trunk as OPTIONS pings and call attempts show it. */
export type TrunkHealthStatus = 'unknown' | 'up' | 'down';

export interface TrunkHealthThresholds {
  /** Consecutive misses that mark the trunk down. */
  readonly downAfter: number;
  /** Consecutive answers that bring a down trunk back up. */
  readonly upAfter: number;
}

/**
 * Hysteresis over a trunk's answers and misses, so one lost datagram does not take a trunk out of rotation and one
 * lucky answer does not put a flapping trunk back: down after `downAfter` consecutive misses, up again after
 * `upAfter` consecutive answers. A trunk never seen yet is `unknown` and its first answer makes it `up`.
 */
export class TrunkHealth {
  private current: TrunkHealthStatus = 'unknown';
  private misses = 0;
  private answers = 0;

  constructor(private readonly thresholds: TrunkHealthThresholds) {
    if (!(thresholds.downAfter >= 1) || !(thresholds.upAfter >= 1)) throw new TypeError('health thresholds must be >= 1');
  }

  get status(): TrunkHealthStatus {
    return this.current;
  }
  /** Consecutive misses so far (0 after any answer). */
  get consecutiveMisses(): number {
    return this.misses;
  }
  /** Consecutive answers so far (0 after any miss). */
  get consecutiveAnswers(): number {
    return this.answers;
  }

  /** Record one outcome; returns the new status when it changed, else undefined. */
  observe(answered: boolean): TrunkHealthStatus | undefined {
    const before = this.current;
    if (answered) {
      this.misses = 0;
      this.answers++;
      if (before === 'unknown' || (before === 'down' && this.answers >= this.thresholds.upAfter)) this.current = 'up';
    } else {
      this.answers = 0;
      this.misses++;
      if (before !== 'down' && this.misses >= this.thresholds.downAfter) this.current = 'down';
    }
    return this.current !== before ? this.current : undefined;
  }

  /** Forget the history (the trunk's address changed). */
  reset(): void {
    this.current = 'unknown';
    this.misses = 0;
    this.answers = 0;
  }
}

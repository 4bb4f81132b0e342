/** One call's hold on a trunk channel. `release()` is idempotent. */
export interface TrunkChannel {
  readonly trunkId: string;
  release(): void;
}

/**
 * Concurrent calls per trunk on this instance (the trunk's max_concurrent_calls). The call layer takes a channel
 * before sending the INVITE through a trunk and releases it when the call attempt or the call ends.
 */
export class ChannelTracker {
  private readonly counts = new Map<string, number>();

  /** Calls in progress through `trunkId`. */
  inUse(trunkId: string): number {
    return this.counts.get(trunkId) ?? 0;
  }

  /** Whether another call fits (`max` null = unlimited). */
  hasRoom(trunkId: string, max: number | null): boolean {
    return max === null || this.inUse(trunkId) < max;
  }

  /** A channel on `trunkId`, or undefined when `max` calls are already up. */
  acquire(trunkId: string, max: number | null): TrunkChannel | undefined {
    if (!this.hasRoom(trunkId, max)) return undefined;
    this.counts.set(trunkId, this.inUse(trunkId) + 1);
    let held = true;
    return {
      trunkId,
      release: () => {
        if (!held) return;
        held = false;
        const n = this.inUse(trunkId) - 1;
        if (n > 0) this.counts.set(trunkId, n);
        else this.counts.delete(trunkId);
      },
    };
  }

  /** Total calls through every trunk. */
  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
}

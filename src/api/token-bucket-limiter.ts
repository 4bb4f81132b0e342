import { systemClock, type Clock } from '../util';

export interface TokenBucketOptions {
  /** Tokens added per second (the sustained request rate). 0 disables the limiter. */
  ratePerSecond: number;
  /** Bucket capacity: how many requests may arrive at once after a quiet period. */
  burst: number;
  clock?: Clock;
  /** Keys tracked at once; the least recently used bucket is forgotten beyond this. Default 100 000. */
  maxKeys?: number;
}

export type TakeResult = { allowed: true; remaining: number } | { allowed: false; retryAfterS: number };

interface Bucket {
  tokens: number;
  /** Clock ms of the last refill. */
  at: number;
}

const ALLOWED_UNLIMITED: TakeResult = { allowed: true, remaining: Number.POSITIVE_INFINITY };

/**
 * Per-key token buckets (client IP, token subject). Buckets live in this process only: with several
 * instances behind a load balancer each enforces its own limit, so the cluster-wide rate is up to N times
 * the configured one. That is the intended trade-off (no shared store on the request path); put a shared
 * limiter in front if an exact global limit matters.
 *
 * Memory is bounded: a forgotten bucket comes back full, which at worst grants one extra burst to a key
 * that was idle long enough to be the least recently used of `maxKeys`.
 */
export class TokenBucketLimiter {
  private readonly rate: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private readonly maxKeys: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond >= 0) || !(options.burst >= 1)) throw new TypeError('rate must be >= 0 and burst >= 1');
    this.rate = options.ratePerSecond / 1000;
    this.burst = options.burst;
    this.clock = options.clock ?? systemClock;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  get enabled(): boolean {
    return this.rate > 0;
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  /** Spend one token of `key`'s bucket; when empty, say how long until one is available. */
  take(key: string): TakeResult {
    if (this.rate === 0) return ALLOWED_UNLIMITED;
    const now = this.clock.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      bucket = { tokens: this.burst, at: now };
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.rate);
      bucket.at = now;
      // Re-insert: Map order becomes least-recently-used first.
      this.buckets.delete(key);
    }
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, remaining: Math.floor(bucket.tokens) };
    }
    // RFC 9110 §10.2.3: Retry-After in whole seconds, rounded up so a client that waits is served.
    return { allowed: false, retryAfterS: Math.max(1, Math.ceil((1 - bucket.tokens) / this.rate / 1000)) };
  }
}

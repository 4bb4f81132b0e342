/** What the worker does after an attempt, and when it tries again. */

export interface RetryPolicy {
  /** Delay before the second attempt, ms. */
  readonly baseDelayMs: number;
  /** Each further retry waits `factor` times longer. */
  readonly factor: number;
  /** Upper bound of a single delay, ms. */
  readonly maxDelayMs: number;
  /** Attempts in total (first send included) before the message is failed. */
  readonly maxAttempts: number;
  /** Random spread of each delay, 0-1 (0.2 = +-20%), so messages failed together do not retry in lockstep. */
  readonly jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 5_000, factor: 2, maxDelayMs: 15 * 60_000, maxAttempts: 5, jitter: 0.2 };

export type AttemptVerdict = 'sent' | 'retry' | 'failed';

/**
 * RFC 3428 §7 / RFC 3261 §21: a 2xx (200, or 202 from a store-and-forward gateway) means the peer took the message.
 * 408 (no response, §8.1.3.1) and 5xx are transient: retried. Other 3xx-6xx are refusals of this very request
 * (unknown number, forbidden, too large): retrying cannot help. 0 = not routable: failed.
 */
export function classifyStatus(status: number): AttemptVerdict {
  if (status >= 200 && status < 300) return 'sent';
  if (status === 408 || (status >= 500 && status < 600)) return 'retry';
  return 'failed';
}

/** Delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed transiently. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random, retryAfterMs?: number): number {
  const exp = policy.baseDelayMs * Math.pow(policy.factor, Math.max(0, attempt - 1));
  let delay = Math.min(policy.maxDelayMs, exp);
  if (policy.jitter > 0) delay *= 1 + policy.jitter * (2 * random() - 1);
  // RFC 3261 §21.5.4: a 503 Retry-After asks us not to come back sooner.
  if (retryAfterMs !== undefined && retryAfterMs > delay) delay = Math.min(retryAfterMs, policy.maxDelayMs);
  return Math.max(0, Math.round(delay));
}

/** Validate a policy at construction (programmer error: throws TypeError). */
export function checkRetryPolicy(p: RetryPolicy): RetryPolicy {
  if (!(p.baseDelayMs >= 0) || !(p.factor >= 1) || !(p.maxDelayMs >= p.baseDelayMs) || !Number.isInteger(p.maxAttempts) || p.maxAttempts < 1 || !(p.jitter >= 0 && p.jitter < 1)) {
    throw new TypeError(`invalid SMS retry policy: ${JSON.stringify(p)}`);
  }
  return p;
}

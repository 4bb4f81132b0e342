import { DEFAULT_RETRY_POLICY, checkRetryPolicy, classifyStatus, retryDelayMs, type RetryPolicy } from '../../../src/sms';

describe('classifyStatus (RFC 3428 §7, RFC 3261 §8.1.3.1)', () => {
  it.each([
    [200, 'sent'],
    [202, 'sent'],
    [408, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [400, 'failed'],
    [403, 'failed'],
    [404, 'failed'],
    [413, 'failed'],
    [415, 'failed'],
    [480, 'failed'],
    [302, 'failed'],
    [603, 'failed'],
    [0, 'failed'],
  ] as const)('%i -> %s', (status, verdict) => {
    expect(classifyStatus(status)).toBe(verdict);
  });
});

describe('retryDelayMs', () => {
  const policy: RetryPolicy = { baseDelayMs: 1000, factor: 2, maxDelayMs: 10_000, maxAttempts: 6, jitter: 0 };

  it('grows exponentially from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelayMs(policy, a))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('spreads delays by the jitter fraction', () => {
    const p = { ...policy, jitter: 0.5 };
    expect(retryDelayMs(p, 1, () => 0)).toBe(500);
    expect(retryDelayMs(p, 1, () => 1)).toBe(1500);
  });

  it('waits at least a Retry-After, within the cap (RFC 3261 §21.5.4)', () => {
    expect(retryDelayMs(policy, 1, Math.random, 7000)).toBe(7000);
    expect(retryDelayMs(policy, 1, Math.random, 60_000)).toBe(10_000);
    expect(retryDelayMs(policy, 3, Math.random, 100)).toBe(4000);
  });

  it('validates policies', () => {
    expect(checkRetryPolicy(DEFAULT_RETRY_POLICY)).toBe(DEFAULT_RETRY_POLICY);
    expect(() => checkRetryPolicy({ ...policy, maxAttempts: 0 })).toThrow(TypeError);
    expect(() => checkRetryPolicy({ ...policy, factor: 0.5 })).toThrow(TypeError);
    expect(() => checkRetryPolicy({ ...policy, jitter: 1 })).toThrow(TypeError);
  });
});

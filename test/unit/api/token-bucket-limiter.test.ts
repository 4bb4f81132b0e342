import { TokenBucketLimiter } from '../../../src/api';
import { VirtualClock } from '../../../src/util';

describe('TokenBucketLimiter', () => {
  it('allows the burst, then refuses with a Retry-After that, once waited, is enough', () => {
    const clock = new VirtualClock();
    const l = new TokenBucketLimiter({ ratePerSecond: 2, burst: 3, clock });
    expect([l.take('a'), l.take('a'), l.take('a')].map((r) => r.allowed)).toEqual([true, true, true]);
    const refused = l.take('a');
    expect(refused).toEqual({ allowed: false, retryAfterS: 1 });
    clock.advance(499);
    expect(l.take('a').allowed).toBe(false);
    clock.advance(1000);
    expect(l.take('a').allowed).toBe(true);
  });

  it('refills at the configured rate, never beyond the burst', () => {
    const clock = new VirtualClock();
    const l = new TokenBucketLimiter({ ratePerSecond: 10, burst: 5, clock });
    for (let i = 0; i < 5; i++) l.take('a');
    clock.advance(60_000);
    let allowed = 0;
    while (l.take('a').allowed) allowed++;
    expect(allowed).toBe(5);
  });

  it('rounds Retry-After up to whole seconds for slow rates', () => {
    const clock = new VirtualClock();
    const l = new TokenBucketLimiter({ ratePerSecond: 1, burst: 1, clock });
    l.take('a');
    clock.advance(100);
    expect(l.take('a')).toEqual({ allowed: false, retryAfterS: 1 });
    const slow = new TokenBucketLimiter({ ratePerSecond: 0.1, burst: 1, clock });
    slow.take('b');
    expect(slow.take('b')).toEqual({ allowed: false, retryAfterS: 10 });
  });

  it('keeps keys apart', () => {
    const l = new TokenBucketLimiter({ ratePerSecond: 1, burst: 1, clock: new VirtualClock() });
    expect(l.take('a').allowed).toBe(true);
    expect(l.take('a').allowed).toBe(false);
    expect(l.take('b').allowed).toBe(true);
  });

  it('is a no-op at rate 0', () => {
    const l = new TokenBucketLimiter({ ratePerSecond: 0, burst: 1, clock: new VirtualClock() });
    expect(l.enabled).toBe(false);
    for (let i = 0; i < 100; i++) expect(l.take('a').allowed).toBe(true);
    expect(l.size).toBe(0);
  });

  it('bounds memory by forgetting the least recently used key', () => {
    const clock = new VirtualClock();
    const l = new TokenBucketLimiter({ ratePerSecond: 1, burst: 1, clock, maxKeys: 3 });
    l.take('a');
    l.take('b');
    l.take('c');
    expect(l.take('a').allowed).toBe(false); // a is now the most recently used
    l.take('d'); // evicts b
    expect(l.size).toBe(3);
    expect(l.take('a').allowed).toBe(false);
    expect(l.take('b').allowed).toBe(true); // b came back with a full bucket
  });

  it('refuses nonsense options', () => {
    expect(() => new TokenBucketLimiter({ ratePerSecond: -1, burst: 1 })).toThrow(TypeError);
    expect(() => new TokenBucketLimiter({ ratePerSecond: 1, burst: 0 })).toThrow(TypeError);
  });
});

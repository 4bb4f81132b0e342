import { IngressGuard, type IngressGuardOptions } from '../../../../src/sip/ua/ingress-guard';
import { VirtualClock } from '../../../../src/util';

interface LogLine {
  fields: object;
  msg?: string;
}

function guard(options: Partial<IngressGuardOptions> = {}): { g: IngressGuard; clock: VirtualClock; warnings: LogLine[] } {
  const clock = new VirtualClock();
  const warnings: LogLine[] = [];
  const logger = { debug: () => {}, info: () => {}, error: () => {}, warn: (fields: object, msg?: string) => warnings.push({ fields, msg }) };
  return { g: new IngressGuard({ clock, logger, ...options }), clock, warnings };
}

describe('IngressGuard allow-list', () => {
  const allowedCidrs = [
    { address: '203.0.113.0', prefix: 24, family: 4 as const },
    { address: '2001:db8::', prefix: 32, family: 6 as const },
  ];

  it('accepts everything when no allow-list is configured', () => {
    const { g } = guard();
    expect(g.restricted).toBe(false);
    expect(g.check('198.51.100.7', true)).toBe('accept');
    expect(g.counters.accepted).toBe(1);
  });

  it('accepts requests from inside the listed blocks, IPv4, IPv4-mapped IPv6 and IPv6', () => {
    const { g } = guard({ allowedCidrs });
    expect(g.check('203.0.113.9', true)).toBe('accept');
    expect(g.check('::ffff:203.0.113.200', true)).toBe('accept');
    expect(g.check('2001:db8:1::5', true)).toBe('accept');
  });

  it('denies requests from outside and counts them', () => {
    const { g } = guard({ allowedCidrs });
    expect(g.check('198.51.100.7', true)).toBe('deny');
    expect(g.check('::ffff:198.51.100.7', true)).toBe('deny');
    expect(g.check('2001:db9::1', true)).toBe('deny');
    expect(g.counters.denied).toBe(3);
    expect(g.counters.accepted).toBe(0);
  });

  it('treats an unparseable source as outside every block, without throwing', () => {
    const { g } = guard({ allowedCidrs });
    expect(g.check('not-an-ip', true)).toBe('deny');
    expect(g.check('', true)).toBe('deny');
  });

  it('lets responses through from outside the list (they must match our own transactions anyway)', () => {
    const { g } = guard({ allowedCidrs });
    expect(g.check('198.51.100.7', false)).toBe('accept');
    expect(g.counters.denied).toBe(0);
  });
});

describe('IngressGuard flood detector', () => {
  it('is off when the threshold is 0', () => {
    const { g } = guard({ floodMaxRequests: 0 });
    expect(g.floodDetection).toBe(false);
    for (let i = 0; i < 10_000; i++) expect(g.check('192.0.2.1', true)).toBe('accept');
    expect(g.trackedSources).toBe(0);
  });

  it('accepts up to the threshold in a window, then bans and drops the source', () => {
    const { g, warnings } = guard({ floodMaxRequests: 10, floodWindowMs: 1000, banMs: 30_000 });
    for (let i = 0; i < 10; i++) expect(g.check('192.0.2.1', true)).toBe('accept');
    expect(g.check('192.0.2.1', true)).toBe('drop');
    expect(g.counters.bans).toBe(1);
    expect(g.activeBans()).toEqual([{ address: '192.0.2.1', until: 30_000 }]);
    // Everything from a banned source is dropped, responses included.
    expect(g.check('192.0.2.1', true)).toBe('drop');
    expect(g.check('192.0.2.1', false)).toBe('drop');
    expect(g.counters.floodDropped).toBe(3);
    // Logged once per ban, not once per packet.
    expect(warnings).toHaveLength(1);
    expect(warnings[0].fields).toMatchObject({ source: '192.0.2.1' });
  });

  it('keeps sources apart: a flooding source does not affect another', () => {
    const { g } = guard({ floodMaxRequests: 5, floodWindowMs: 1000 });
    for (let i = 0; i < 20; i++) g.check('192.0.2.1', true);
    expect(g.check('192.0.2.2', true)).toBe('accept');
  });

  it('counts an IPv4-mapped source and its IPv4 form as one source', () => {
    const { g } = guard({ floodMaxRequests: 4, floodWindowMs: 1000 });
    for (let i = 0; i < 2; i++) expect(g.check('192.0.2.1', true)).toBe('accept');
    for (let i = 0; i < 2; i++) expect(g.check('::ffff:192.0.2.1', true)).toBe('accept');
    expect(g.check('192.0.2.1', true)).toBe('drop');
  });

  it('lifts the ban after the cool-off period and starts from a clean window', () => {
    const { g, clock, warnings } = guard({ floodMaxRequests: 3, floodWindowMs: 1000, banMs: 10_000 });
    for (let i = 0; i < 4; i++) g.check('192.0.2.1', true);
    clock.advance(9_999);
    expect(g.check('192.0.2.1', true)).toBe('drop');
    clock.advance(1);
    expect(g.activeBans()).toEqual([]);
    for (let i = 0; i < 3; i++) expect(g.check('192.0.2.1', true)).toBe('accept');
    expect(g.check('192.0.2.1', true)).toBe('drop');
    expect(g.counters.bans).toBe(2);
    expect(warnings).toHaveLength(2);
  });

  it('does not ban a steady sender below the threshold over many windows', () => {
    const { g, clock } = guard({ floodMaxRequests: 10, floodWindowMs: 1000 });
    // 8 requests per second, evenly spaced, for a minute: the sliding estimate stays below 10.
    for (let i = 0; i < 480; i++) {
      expect(g.check('192.0.2.1', true)).toBe('accept');
      clock.advance(125);
    }
    expect(g.counters.bans).toBe(0);
  });

  it('catches a burst that straddles a window boundary (sliding, not fixed, window)', () => {
    const { g, clock } = guard({ floodMaxRequests: 10, floodWindowMs: 1000 });
    clock.advance(900);
    for (let i = 0; i < 8; i++) expect(g.check('192.0.2.1', true)).toBe('accept'); // window 0 starts at 900
    clock.advance(1000); // t = 1900: next window begins, 100 ms into it the previous one still weighs 90 %
    clock.advance(100);
    let verdict = 'accept';
    let accepted = 0;
    while (verdict === 'accept' && accepted < 20) {
      verdict = g.check('192.0.2.1', true);
      if (verdict === 'accept') accepted++;
    }
    // A fixed window would have allowed 10 more; the sliding estimate (8 * 0.9 + n > 10) stops at 2.
    expect(accepted).toBe(2);
    expect(verdict).toBe('drop');
  });

  it('forgets the previous window after an idle gap of two windows', () => {
    const { g, clock } = guard({ floodMaxRequests: 10, floodWindowMs: 1000 });
    for (let i = 0; i < 10; i++) g.check('192.0.2.1', true);
    clock.advance(2500);
    for (let i = 0; i < 10; i++) expect(g.check('192.0.2.1', true)).toBe('accept');
  });

  it('bounds the tracked sources under a spoofed-source flood, and keeps existing bans', () => {
    const { g } = guard({ floodMaxRequests: 2, floodWindowMs: 1000, maxTrackedSources: 100 });
    for (let i = 0; i < 3; i++) g.check('198.51.100.1', true);
    expect(g.activeBans()).toHaveLength(1);
    for (let i = 0; i < 5000; i++) g.check(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, true);
    expect(g.trackedSources).toBeLessThanOrEqual(100);
    expect(g.check('198.51.100.1', true)).toBe('drop');
  });

  it('bounds the number of bans, lifting the oldest first', () => {
    const { g } = guard({ floodMaxRequests: 1, floodWindowMs: 1000, maxBans: 2 });
    for (const src of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
      g.check(src, true);
      expect(g.check(src, true)).toBe('drop');
    }
    expect(g.activeBans().map((b) => b.address)).toEqual(['192.0.2.2', '192.0.2.3']);
  });

  it('unban lifts a ban by hand', () => {
    const { g } = guard({ floodMaxRequests: 1, floodWindowMs: 1000 });
    g.check('192.0.2.1', true);
    g.check('192.0.2.1', true);
    expect(g.unban('192.0.2.1')).toBe(true);
    expect(g.unban('192.0.2.1')).toBe(false);
    expect(g.check('192.0.2.1', true)).toBe('accept');
  });

  it('does not track sources refused by the allow-list', () => {
    const { g } = guard({ floodMaxRequests: 1, allowedCidrs: [{ address: '203.0.113.0', prefix: 24, family: 4 }] });
    for (let i = 0; i < 10; i++) expect(g.check('198.51.100.1', true)).toBe('deny');
    expect(g.trackedSources).toBe(0);
    expect(g.counters.bans).toBe(0);
  });
});

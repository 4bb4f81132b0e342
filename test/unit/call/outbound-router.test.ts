import { TrunkFailover, type OutboundChannel, type OutboundRoute, type OutboundRouter, type RouterTrunk, type TrunkAttemptOutcome } from '../../../src/call';

// The serial trunk search of an outbound call against a scripted router: channel accounting, failover decisions,
// health reports and the trunks_tried record.

function trunk(id: string): RouterTrunk {
  return { id, name: `trunk-${id}`, enabled: true, supportsOutbound: true };
}

function route(id: string): OutboundRoute {
  return { trunk: trunk(id), dialString: '15550100', requestUri: `sip:15550100@${id}.example`, target: undefined, credentials: undefined, fromDomain: `${id}.example`, callerId: null };
}

class FakeRouter implements OutboundRouter {
  readonly inUse = new Map<string, number>();
  readonly reports: [string, TrunkAttemptOutcome][] = [];
  constructor(readonly limits: Record<string, number> = {}) {}
  chooseTrunks(): OutboundRoute[] {
    return [];
  }
  acquire(trunkId: string): OutboundChannel | undefined {
    const n = this.inUse.get(trunkId) ?? 0;
    if (n >= (this.limits[trunkId] ?? Infinity)) return undefined;
    this.inUse.set(trunkId, n + 1);
    let held = true;
    return {
      trunkId,
      release: () => {
        if (!held) return;
        held = false;
        this.inUse.set(trunkId, (this.inUse.get(trunkId) ?? 1) - 1);
      },
    };
  }
  reportResult(trunkId: string, result: TrunkAttemptOutcome): void {
    this.reports.push([trunkId, result]);
  }
  shouldFailover(result: TrunkAttemptOutcome): boolean {
    return result === 'timeout' || result === 408 || (typeof result === 'number' && result >= 500 && result < 600);
  }
  list(): RouterTrunk[] {
    return [];
  }
}

describe('TrunkFailover', () => {
  it('goes on to the next trunk after 503 and keeps the answering trunk’s channel until release', () => {
    const router = new FakeRouter();
    const f = new TrunkFailover(router, [route('a'), route('b')]);
    expect(f.take()?.trunk.id).toBe('a');
    expect(router.inUse.get('a')).toBe(1);
    expect(f.failed(503)).toBe(true);
    expect(router.inUse.get('a')).toBe(0);
    expect(f.take()?.trunk.id).toBe('b');
    f.answered();
    expect(router.inUse.get('b')).toBe(1);
    f.release();
    expect(router.inUse.get('b')).toBe(0);
    expect(router.reports).toEqual([
      ['a', 503],
      ['b', 200],
    ]);
    expect(f.toJson()).toEqual([
      { trunk_id: 'a', trunk: 'trunk-a', result: 503 },
      { trunk_id: 'b', trunk: 'trunk-b', result: 'answered' },
    ]);
  });

  it.each<[string, TrunkAttemptOutcome, boolean]>([
    ['408 Request Timeout', 408, true],
    ['no answer at all', 'timeout', true],
    ['500 Server Internal Error', 500, true],
    ['486 Busy Here', 486, false],
    ['404 Not Found', 404, false],
    ['603 Decline', 603, false],
  ])('after %s fails over: %s', (_name, result, expected) => {
    const f = new TrunkFailover(new FakeRouter(), [route('a'), route('b')]);
    f.take();
    expect(f.failed(result)).toBe(expected);
  });

  it('never fails over after our own CANCEL; the 487 still tells the health the trunk answered', () => {
    const router = new FakeRouter();
    const f = new TrunkFailover(router, [route('a'), route('b')]);
    f.take();
    expect(f.failed(487, true)).toBe(false);
    expect(router.reports).toEqual([['a', 487]]);
    expect(f.tried).toEqual([{ trunkId: 'a', trunk: 'trunk-a', result: 'canceled' }]);
  });

  it('skips a trunk at its channel limit and records it as no-channel', () => {
    const router = new FakeRouter({ a: 0 });
    const f = new TrunkFailover(router, [route('a'), route('b')]);
    expect(f.take()?.trunk.id).toBe('b');
    expect(f.tried).toEqual([{ trunkId: 'a', trunk: 'trunk-a', result: 'no-channel' }]);
    expect(f.remaining).toBe(0);
    expect(f.failed(503)).toBe(true);
    expect(f.take()).toBeUndefined();
  });

  it('records an attempt still ringing at release as canceled, once', () => {
    const router = new FakeRouter();
    const f = new TrunkFailover(router, [route('a')]);
    f.take();
    f.release();
    f.release();
    expect(f.tried).toEqual([{ trunkId: 'a', trunk: 'trunk-a', result: 'canceled' }]);
    expect(router.inUse.get('a')).toBe(0);
    expect(router.reports).toEqual([]);
  });

  it('settles an attempt once: a second failure report is ignored', () => {
    const router = new FakeRouter();
    const f = new TrunkFailover(router, [route('a'), route('b')]);
    f.take();
    expect(f.failed(503)).toBe(true);
    expect(f.failed(503)).toBe(false);
    expect(router.reports).toHaveLength(1);
  });
});

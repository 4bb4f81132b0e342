import { QueueTargetPool, type QueueTarget } from '../../../../src/call/queue';

const targets: QueueTarget[] = [
  { kind: 'ai', id: 'a' },
  { kind: 'sip', id: 'b', uri: 'sip:b@pbx.example' },
  { kind: 'sip', id: 'c', uri: 'sip:c@pbx.example' },
];
const ids = (plan: { targets: readonly QueueTarget[] } | undefined): string[] | undefined => plan?.targets.map((t) => t.id);

describe('QueueTargetPool', () => {
  it('ring_all rings every free target at once', () => {
    const pool = new QueueTargetPool(targets);
    pool.markBusy('b');
    expect(pool.plan('ring_all')).toMatchObject({ parallel: true, strategy: 'ring_all' });
    expect(ids(pool.plan('ring_all'))).toEqual(['a', 'c']);
  });

  it('round_robin starts after the target offered last, skipping busy ones, wrapping around', () => {
    const pool = new QueueTargetPool(targets);
    expect(ids(pool.plan('round_robin'))).toEqual(['a', 'b', 'c']);
    expect(ids(pool.plan('round_robin'))).toEqual(['b', 'c', 'a']);
    expect(ids(pool.plan('round_robin'))).toEqual(['c', 'a', 'b']);
    expect(ids(pool.plan('round_robin'))).toEqual(['a', 'b', 'c']);
    pool.markBusy('b');
    expect(ids(pool.plan('round_robin'))).toEqual(['c', 'a']);
    expect(pool.plan('round_robin')?.parallel).toBe(false);
  });

  it('longest_idle (least recent) starts with the target free the longest; never-used first', () => {
    const pool = new QueueTargetPool(targets);
    for (const t of targets) pool.markBusy(t.id);
    pool.release('c', 100);
    pool.release('a', 200);
    expect(ids(pool.plan('longest_idle'))).toEqual(['c', 'a']);
    pool.release('b', 300);
    expect(ids(pool.plan('longest_idle'))).toEqual(['c', 'a', 'b']);
    const fresh = new QueueTargetPool(targets);
    fresh.markBusy('a');
    fresh.release('a', 5);
    expect(ids(fresh.plan('longest_idle'))).toEqual(['b', 'c', 'a']);
  });

  it('random shuffles the free targets with the injected generator', () => {
    const seq = [0.99, 0.0];
    const pool = new QueueTargetPool(targets, () => seq.shift() ?? 0);
    const plan = ids(pool.plan('random'));
    expect(plan).toHaveLength(3);
    expect([...plan!].sort()).toEqual(['a', 'b', 'c']);
    // Fisher-Yates: i=2 keeps c (j=2), i=1 swaps a and b (j=0).
    expect(plan).toEqual(['b', 'a', 'c']);
  });

  it('has no plan when every target is busy, and tracks busy/free', () => {
    const pool = new QueueTargetPool(targets);
    for (const t of targets) expect(pool.markBusy(t.id)).toBe(true);
    expect(pool.markBusy('a')).toBe(false);
    expect(pool.markBusy('nobody')).toBe(false);
    expect(pool.plan('ring_all')).toBeUndefined();
    expect(pool.plan('round_robin')).toBeUndefined();
    expect(pool.release('b', 1)).toBe(true);
    expect(pool.isFree('b')).toBe(true);
    expect(pool.free().map((t) => t.id)).toEqual(['b']);
  });

  it('keeps target state and the round-robin place across a definition change', () => {
    const pool = new QueueTargetPool(targets);
    pool.markBusy('c');
    expect(ids(pool.plan('round_robin'))).toEqual(['a', 'b']);
    pool.sync([...targets, { kind: 'ai' as const, id: 'd' }].filter((t) => t.id !== 'b'));
    expect(pool.isFree('c')).toBe(false);
    expect(pool.has('b')).toBe(false);
    expect(ids(pool.plan('round_robin'))).toEqual(['d', 'a']);
  });
});

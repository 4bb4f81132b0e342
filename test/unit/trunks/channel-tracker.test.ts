import { ChannelTracker } from '../../../src/trunks';

describe('ChannelTracker', () => {
  it('gives out at most max channels per trunk and takes them back once each', () => {
    const t = new ChannelTracker();
    const a = t.acquire('t1', 2);
    const b = t.acquire('t1', 2);
    expect(a && b).toBeTruthy();
    expect(t.acquire('t1', 2)).toBeUndefined();
    expect(t.inUse('t1')).toBe(2);
    expect(t.acquire('t2', 1)).toBeDefined();
    expect(t.total).toBe(3);
    a!.release();
    a!.release(); // idempotent: a double release must not free someone else's channel
    expect(t.inUse('t1')).toBe(1);
    expect(t.acquire('t1', 2)).toBeDefined();
    expect(t.acquire('t1', 2)).toBeUndefined();
  });
  it('never limits a trunk without max', () => {
    const t = new ChannelTracker();
    for (let i = 0; i < 100; i++) expect(t.acquire('t', null)).toBeDefined();
    expect(t.inUse('t')).toBe(100);
  });
});

import { VirtualClock, SystemClock } from '../../../src/util';

describe('VirtualClock', () => {
  it('fires timers in time order, including timers scheduled while advancing', () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@200'), 200);
    clock.setTimeout(() => {
      fired.push('a@100');
      clock.setTimeout(() => fired.push('c@150'), 50);
    }, 100);
    clock.advance(199);
    expect(fired).toEqual(['a@100', 'c@150']);
    expect(clock.now()).toBe(199);
    clock.advance(1);
    expect(fired).toEqual(['a@100', 'c@150', 'b@200']);
    expect(clock.pending()).toBe(0);
  });

  it('does not fire cleared timers and keeps insertion order for equal deadlines', () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    const h = clock.setTimeout(() => fired.push(1), 10);
    clock.setTimeout(() => fired.push(2), 10);
    clock.setTimeout(() => fired.push(3), 10);
    clock.clearTimeout(h);
    clock.advance(10);
    expect(fired).toEqual([2, 3]);
  });

  it('wall time moves with virtual time', () => {
    const clock = new VirtualClock(1000);
    clock.advance(500);
    expect(clock.wallNow()).toBe(1500);
  });
});

describe('SystemClock', () => {
  it('runs and clears real timers', async () => {
    const clock = new SystemClock();
    let cleared = false;
    const h = clock.setTimeout(() => {
      cleared = true;
    }, 5);
    clock.clearTimeout(h);
    await new Promise<void>((resolve) => clock.setTimeout(resolve, 10));
    expect(cleared).toBe(false);
    expect(clock.now()).toBeGreaterThan(0);
  });
});

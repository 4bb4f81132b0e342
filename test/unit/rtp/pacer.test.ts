import { Pacer } from '../../../src/rtp';
import { Clock, TimerHandle, VirtualClock } from '../../../src/util';

/** A clock whose timers fire late by a pseudo-random 0-7 ms, like a busy event loop. */
class LateClock implements Clock {
  private n = 0;
  constructor(private readonly inner: VirtualClock) {}
  now(): number {
    return this.inner.now();
  }
  wallNow(): number {
    return this.inner.wallNow();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    this.n = (this.n * 1103515245 + 12345) % 2147483648;
    return this.inner.setTimeout(fn, ms + (this.n % 8));
  }
  clearTimeout(h: TimerHandle | undefined): void {
    this.inner.clearTimeout(h);
  }
}

describe('Pacer', () => {
  it('emits 50 ticks per second with no drift over two simulated hours of late timers', () => {
    const vclock = new VirtualClock();
    const clock = new LateClock(vclock);
    let ticks = 0;
    let lastTick = -1;
    let lastAt = 0;
    let early = 0;
    const pacer = new Pacer({ clock, intervalMs: 20, maxCatchUp: 2, onTick: (n) => {
      ticks++;
      lastTick = n;
      lastAt = clock.now();
      if (lastAt < pacer.dueAt(n)) early++;
    } });
    pacer.start();
    const hours = 2;
    for (let s = 0; s < hours * 3600; s++) vclock.advance(1000);
    pacer.close();
    // Ticks 0..N are due by T = N * 20 ms; lateness (< 8 ms) never accumulates.
    const expected = hours * 3600 * 50;
    expect(ticks).toBeGreaterThanOrEqual(expected - 1);
    expect(ticks).toBeLessThanOrEqual(expected + 1);
    expect(lastTick).toBe(ticks - 1 + pacer.skipped);
    expect(pacer.skipped).toBe(0);
    expect(early).toBe(0);
    expect(lastAt - pacer.dueAt(lastTick)).toBeLessThan(20);
    expect(vclock.pending()).toBe(0);
  });

  it('catches up at most maxCatchUp ticks after a stall and skips the rest', () => {
    const vclock = new VirtualClock();
    const times: number[] = [];
    const ids: number[] = [];
    let stalled = false;
    // A clock whose next timer fires 200 ms late once: a stalled event loop.
    const clock: Clock = {
      now: () => vclock.now(),
      wallNow: () => vclock.wallNow(),
      setTimeout: (fn, ms) => {
        if (!stalled && vclock.now() >= 100) {
          stalled = true;
          return vclock.setTimeout(fn, ms + 200);
        }
        return vclock.setTimeout(fn, ms);
      },
      clearTimeout: (h) => vclock.clearTimeout(h),
    };
    const pacer = new Pacer({ clock, maxCatchUp: 2, onTick: (n) => {
      ids.push(n);
      times.push(clock.now());
    } });
    pacer.start();
    vclock.advance(1000);
    pacer.stop();
    // Count ticks emitted at the same instant after the stall: 1 due + 2 catch-up.
    const burst = Math.max(...times.map((t) => times.filter((x) => x === t).length));
    expect(burst).toBe(3);
    expect(pacer.skipped).toBeGreaterThan(0);
    expect(ids.length + pacer.skipped).toBe(ids[ids.length - 1] + 1);
    // After the stall the schedule is still start + n * 20.
    expect(times[times.length - 1]).toBe(pacer.dueAt(ids[ids.length - 1]));
  });

  it('stops cleanly and can restart with a new schedule', () => {
    const clock = new VirtualClock();
    let ticks = 0;
    const pacer = new Pacer({ clock, onTick: () => ticks++ });
    pacer.start();
    clock.advance(99);
    pacer.stop();
    expect(ticks).toBe(5);
    clock.advance(1000);
    expect(ticks).toBe(5);
    pacer.start();
    clock.advance(10);
    expect(ticks).toBe(6);
    pacer.close();
    expect(() => pacer.start()).toThrow('closed');
    expect(clock.pending()).toBe(0);
  });
});

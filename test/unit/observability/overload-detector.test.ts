import { OverloadDetector } from '../../../src/observability';
import { VirtualClock, type Clock, type TimerHandle } from '../../../src/util';

/**
 * Virtual time in which the event loop can be "busy": `stall(ms)` makes the process clock jump ahead of the timers,
 * so the next timer fires `ms` late, as a real timer does after a callback that kept the loop for that long.
 */
class StallingClock implements Clock {
  readonly inner = new VirtualClock();
  private skew = 0;
  now(): number {
    return this.inner.now() + this.skew;
  }
  wallNow(): number {
    return this.inner.wallNow() + this.skew;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.inner.setTimeout(fn, ms);
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    this.inner.clearTimeout(handle);
  }
  stall(ms: number): void {
    this.skew += ms;
  }
  /** Let `ms` of virtual time pass in which every sampling tick of `interval` runs `lagMs` late. */
  busy(ms: number, lagMs: number, interval = 100): void {
    for (let t = 0; t < ms; t += interval) {
      this.stall(lagMs);
      this.inner.advance(interval);
    }
  }
}

function detector(clock: Clock, extra: Partial<ConstructorParameters<typeof OverloadDetector>[0]> = {}): OverloadDetector {
  return new OverloadDetector({ clock, lagThresholdMs: 200, retryAfterS: 7, sampleIntervalMs: 100, smoothing: 0.2, ...extra });
}

describe('OverloadDetector', () => {
  it('stays out of overload while timers fire on time and admits every request', () => {
    const clock = new StallingClock();
    const d = detector(clock);
    d.start();
    clock.inner.advance(10_000);
    expect(d.overloaded).toBe(false);
    expect(d.lagMs).toBe(0);
    expect(d.check('INVITE')).toBeUndefined();
    expect(d.status()).toEqual({ enabled: true, overloaded: false, lagMs: 0, thresholdMs: 200, rejected: 0, episodes: 0 });
    d.stop();
    expect(clock.inner.pending()).toBe(0);
  });

  it('enters overload when the smoothed lag rises above the threshold, and refuses with the Retry-After', () => {
    const clock = new StallingClock();
    const changes: [boolean, number][] = [];
    const rejected: string[] = [];
    const d = detector(clock, { onChange: (on, lag) => changes.push([on, lag]), onReject: (m) => rejected.push(m) });
    d.start();
    // Every tick 400 ms late: the EWMA climbs 80, 144, 195, 236 -> above 200 at the fourth sample, not before.
    clock.busy(300, 400);
    expect(d.overloaded).toBe(false);
    clock.busy(100, 400);
    expect(d.overloaded).toBe(true);
    expect(changes).toHaveLength(1);
    expect(changes[0][0]).toBe(true);
    expect(changes[0][1]).toBeGreaterThan(200);
    expect(d.check('INVITE')).toBe(7);
    expect(d.check('OPTIONS')).toBe(7);
    expect(rejected).toEqual(['INVITE', 'OPTIONS']);
    expect(d.status()).toMatchObject({ overloaded: true, rejected: 2, episodes: 1 });
    d.stop();
  });

  it('does not enter overload on one stall that the smoothing absorbs', () => {
    const clock = new StallingClock();
    const d = detector(clock);
    d.start();
    clock.inner.advance(1000);
    // One 900 ms stall (a long GC): one sample of 900 weighs 180 < 200.
    clock.stall(900);
    clock.inner.advance(100);
    expect(d.lagMs).toBeCloseTo(180, 5);
    expect(d.overloaded).toBe(false);
    clock.inner.advance(1000);
    expect(d.overloaded).toBe(false);
    d.stop();
  });

  it('has hysteresis: stays overloaded until the lag falls below half the threshold, then leaves', () => {
    const clock = new StallingClock();
    const changes: boolean[] = [];
    const d = detector(clock, { onChange: (on) => changes.push(on) });
    d.start();
    clock.busy(2000, 300);
    expect(d.overloaded).toBe(true);
    // Lag settles between the leave and enter levels (150 ms per tick): still overloaded, no flapping.
    clock.busy(3000, 150);
    expect(d.lagMs).toBeGreaterThan(100);
    expect(d.lagMs).toBeLessThan(200);
    expect(d.overloaded).toBe(true);
    // The load drops: timers on time again. The EWMA decays below 100 and the detector leaves overload.
    let ticks = 0;
    while (d.overloaded && ticks < 100) {
      clock.inner.advance(100);
      ticks++;
      if (d.overloaded) expect(d.lagMs).toBeGreaterThanOrEqual(100);
    }
    expect(d.overloaded).toBe(false);
    expect(d.lagMs).toBeLessThan(100);
    expect(ticks).toBeGreaterThan(1);
    expect(changes).toEqual([true, false]);
    expect(d.check('INVITE')).toBeUndefined();
    // A lag between the levels does not re-enter.
    clock.busy(3000, 150);
    expect(d.overloaded).toBe(false);
    expect(changes).toEqual([true, false]);
    expect(d.status()).toMatchObject({ overloaded: false, rejected: 0, episodes: 1 });
    d.stop();
  });

  it('is off with a threshold of 0: no timer, never refuses', () => {
    const clock = new StallingClock();
    const d = detector(clock, { lagThresholdMs: 0 });
    d.start();
    expect(clock.inner.pending()).toBe(0);
    d.record(1e6);
    expect(d.enabled).toBe(false);
    expect(d.overloaded).toBe(false);
    expect(d.check('INVITE')).toBeUndefined();
  });

  it('ignores samples that are not finite numbers and treats early timers as no lag', () => {
    const d = detector(new VirtualClock());
    d.record(Number.NaN);
    d.record(Number.POSITIVE_INFINITY);
    d.record(-50);
    expect(d.lagMs).toBe(0);
    expect(d.overloaded).toBe(false);
  });
});

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
    expect(d.status()).toEqual({ enabled: true, overloaded: false, lagMs: 0, thresholdMs: 200, busyPct: 0, busyThresholdPct: 0, admittedPct: 100, rejected: 0, episodes: 0 });
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

  describe('busy signal (event-loop utilisation per window)', () => {
    /** A detector on the busy signal alone (lag off), sampling every 50 ms, fed by a scripted probe. */
    function busyDetector(extra: Partial<ConstructorParameters<typeof OverloadDetector>[0]> = {}) {
      const clock = new VirtualClock();
      const probe = { value: 0 };
      const changes: boolean[] = [];
      const d = new OverloadDetector({
        clock,
        lagThresholdMs: 0,
        retryAfterS: 2,
        sampleIntervalMs: 50,
        busyThresholdPct: 95,
        busyEnterSamples: 3,
        busyProbe: () => probe.value,
        onChange: (on) => changes.push(on),
        ...extra,
      });
      /** One 50 ms window at `busy` with `requests` new INVITEs offered in it. */
      const window = (busy: number, requests = 20): (number | undefined)[] => {
        probe.value = busy;
        const answers: (number | undefined)[] = [];
        for (let i = 0; i < requests; i++) answers.push(d.check('INVITE'));
        clock.advance(50);
        return answers;
      };
      return { clock, d, changes, window };
    }

    it('enters after three saturated windows in a row, not on one or two (a GC, a compile)', () => {
      const { d, changes, window } = busyDetector();
      d.start();
      expect(d.enabled).toBe(true);
      window(1);
      window(1);
      window(0.5); // the run is broken
      window(1);
      window(0.99);
      expect(d.overloaded).toBe(false);
      expect(d.admitted).toBe(1);
      window(0.96);
      expect(d.overloaded).toBe(true);
      expect(changes).toEqual([true]);
      expect(d.status()).toMatchObject({ overloaded: true, busyPct: 96, busyThresholdPct: 95, admittedPct: 75, episodes: 1 });
      d.stop();
    });

    it('refuses a share of new requests, spread evenly, with the Retry-After', () => {
      const { d, window } = busyDetector();
      d.start();
      for (let i = 0; i < 3; i++) window(1);
      expect(d.admitted).toBe(0.75);
      // Every fourth request is refused: 3 of 4 admitted.
      expect(window(0.9, 8)).toEqual([2, undefined, undefined, undefined, 2, undefined, undefined, undefined]);
      expect(d.status().rejected).toBe(2);
    });

    it('cuts the admitted share for every further saturated window, down to a floor, and holds it between the levels', () => {
      const { d, window } = busyDetector();
      d.start();
      for (let i = 0; i < 3; i++) window(1);
      window(1);
      expect(d.admitted).toBeCloseTo(0.5625, 10);
      for (let i = 0; i < 30; i++) window(1);
      expect(d.admitted).toBe(0.05);
      const answers = window(1, 40);
      expect(answers.filter((a) => a === undefined)).toHaveLength(2);
      // Between the leave (80 %) and enter (95 %) levels nothing changes.
      window(0.9);
      window(0.85);
      expect(d.admitted).toBe(0.05);
      expect(d.overloaded).toBe(true);
    });

    it('admits more for every window with idle time and leaves overload once all are admitted again', () => {
      const { d, changes, window } = busyDetector();
      d.start();
      for (let i = 0; i < 3; i++) window(1);
      expect(d.overloaded).toBe(true);
      window(0.7);
      expect(d.admitted).toBeCloseTo(0.85, 10);
      window(0.7);
      expect(d.admitted).toBeCloseTo(0.95, 10);
      expect(d.overloaded).toBe(true);
      window(0.7);
      expect(d.overloaded).toBe(false);
      expect(d.admitted).toBe(1);
      expect(changes).toEqual([true, false]);
      expect(window(1)).toEqual(new Array(20).fill(undefined));
      // Entering again takes three saturated windows again.
      window(1);
      expect(d.overloaded).toBe(false);
      window(1);
      expect(d.overloaded).toBe(true);
      expect(d.status().episodes).toBe(2);
    });

    it('ignores a saturated loop that receives few new requests (other work is not relieved by refusing calls)', () => {
      const { d, window } = busyDetector({ busyMinRequests: 10 });
      d.start();
      for (let i = 0; i < 10; i++) window(1, 9);
      expect(d.overloaded).toBe(false);
      for (let i = 0; i < 3; i++) window(1, 10);
      expect(d.overloaded).toBe(true);
      d.stop();
    });

    it('combines with the lag signal: either enters, overload ends only when neither holds', () => {
      // Fed by hand (no sampling timer), so each signal moves alone.
      const { d, changes } = busyDetector({ lagThresholdMs: 100, smoothing: 1, busyMinRequests: 0 });
      for (let i = 0; i < 3; i++) d.recordBusy(1);
      expect(d.overloaded).toBe(true);
      d.record(500); // a long stall while overloaded on the busy signal
      expect(d.admitted).toBe(0); // the lag signal refuses every new request
      for (let i = 0; i < 3; i++) d.recordBusy(0.1); // the busy signal clears, the lag signal still holds
      expect(d.overloaded).toBe(true);
      d.record(0);
      expect(d.overloaded).toBe(false);
      expect(changes).toEqual([true, false]);
      d.record(500); // the lag alone enters
      expect(d.overloaded).toBe(true);
      expect(d.status().episodes).toBe(2);
    });

    it('by default needs three saturated windows (150 ms at 50 ms) to enter', () => {
      const { d } = busyDetector({ busyEnterSamples: undefined, busyMinRequests: 0 });
      for (let i = 0; i < 2; i++) d.recordBusy(1);
      expect(d.overloaded).toBe(false);
      d.recordBusy(1);
      expect(d.overloaded).toBe(true);
    });

    it('is off with a busy threshold of 0 or without a probe', () => {
      const clock = new VirtualClock();
      const calls = { n: 0 };
      const probe = (): number => {
        calls.n++;
        return 1;
      };
      for (const d of [
        new OverloadDetector({ clock, lagThresholdMs: 0, retryAfterS: 1, busyThresholdPct: 0, busyProbe: probe }),
        new OverloadDetector({ clock, lagThresholdMs: 0, retryAfterS: 1, busyThresholdPct: 95 }),
      ]) {
        d.start();
        expect(d.enabled).toBe(false);
        d.recordBusy(1);
        d.recordBusy(1);
        d.recordBusy(1);
        expect(d.overloaded).toBe(false);
      }
      clock.advance(1000);
      expect(calls.n).toBe(0);
      expect(clock.pending()).toBe(0);
    });

    it('clamps probe values to [0, 1] and ignores non-finite ones', () => {
      const { d } = busyDetector({ busyMinRequests: 0, busyEnterSamples: 1 });
      d.recordBusy(Number.NaN);
      expect(d.overloaded).toBe(false);
      d.recordBusy(7);
      expect(d.busy).toBe(1);
      expect(d.overloaded).toBe(true);
      d.recordBusy(-3);
      expect(d.busy).toBe(0);
      expect(d.admitted).toBeCloseTo(0.85, 10);
    });
  });
});

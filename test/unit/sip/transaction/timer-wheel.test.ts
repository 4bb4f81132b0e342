import fc from 'fast-check';
import { TimerWheel, type WheelEntry } from '../../../../src/sip/transaction';
import { VirtualClock } from '../../../../src/util';

class Entry implements WheelEntry {
  wheelTick = -1;
  wheelIndex = -1;
  readonly fired: number[] = [];
  constructor(
    private readonly clock: VirtualClock,
    private readonly onFire?: () => void,
  ) {}
  onWheelTimer(): void {
    this.fired.push(this.clock.now());
    this.onFire?.();
  }
}

describe('TimerWheel', () => {
  it('fires an entry at or after its due time, within one tick, once', () => {
    const clock = new VirtualClock();
    clock.advance(37);
    const wheel = new TimerWheel(clock, { tickMs: 100 });
    const e = new Entry(clock);
    wheel.schedule(e, 32_000);
    expect(wheel.size).toBe(1);
    expect(wheel.isScheduled(e)).toBe(true);
    clock.advance(31_999);
    expect(e.fired).toEqual([]);
    clock.advance(200);
    expect(e.fired).toHaveLength(1);
    expect(e.fired[0]).toBeGreaterThanOrEqual(32_037);
    expect(e.fired[0]).toBeLessThanOrEqual(32_037 + 100);
    expect(wheel.size).toBe(0);
    expect(wheel.isScheduled(e)).toBe(false);
    clock.advance(100_000);
    expect(e.fired).toHaveLength(1);
    expect(clock.pending()).toBe(0); // no ticking while idle
  });

  it('cancels, reschedules, and tolerates callbacks that cancel or schedule other entries', () => {
    const clock = new VirtualClock();
    const wheel = new TimerWheel(clock, { tickMs: 100 });
    const b = new Entry(clock);
    const c = new Entry(clock);
    const a = new Entry(clock, () => {
      wheel.cancel(b); // due in the same tick
      wheel.schedule(c, 1_000);
    });
    wheel.schedule(a, 500);
    wheel.schedule(b, 500);
    const d = new Entry(clock);
    wheel.schedule(d, 300);
    wheel.schedule(d, 5_000); // replaces the first schedule
    clock.advance(600);
    expect(a.fired).toEqual([500]);
    expect(b.fired).toEqual([]);
    expect(d.fired).toEqual([]);
    clock.advance(5_000);
    expect(c.fired).toEqual([1_500]);
    expect(d.fired).toEqual([5_000]);
    wheel.cancel(d); // cancelling an idle entry is a no-op
    expect(wheel.size).toBe(0);
  });

  it('keeps entries beyond the wheel horizon until their own round', () => {
    const clock = new VirtualClock();
    const wheel = new TimerWheel(clock, { tickMs: 10, buckets: 8 }); // horizon 80 ms
    const near = new Entry(clock);
    const far = new Entry(clock);
    wheel.schedule(near, 30);
    wheel.schedule(far, 110); // same bucket as 30 after wrapping
    clock.advance(100);
    expect(near.fired).toEqual([30]);
    expect(far.fired).toEqual([]);
    clock.advance(20);
    expect(far.fired).toEqual([110]);
  });

  it('clear() drops everything and stops the clock timer', () => {
    const clock = new VirtualClock();
    const wheel = new TimerWheel(clock);
    const e = new Entry(clock);
    wheel.schedule(e, 1_000);
    wheel.clear();
    expect(wheel.size).toBe(0);
    expect(clock.pending()).toBe(0);
    clock.advance(2_000);
    expect(e.fired).toEqual([]);
    wheel.schedule(e, 100); // usable again
    clock.advance(200);
    expect(e.fired).toHaveLength(1);
  });

  it('rejects a non-positive tick', () => {
    expect(() => new TimerWheel(new VirtualClock(), { tickMs: 0 })).toThrow(TypeError);
  });

  it('property: every live entry fires exactly once, never early, at most one tick late; cancelled ones never', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 5_000 }), ms: fc.integer({ min: 0, max: 40_000 }), cancelAt: fc.option(fc.integer({ min: 0, max: 50_000 })) }), {
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 250 }),
        fc.integer({ min: 1, max: 64 }),
        (specs, tickMs, buckets) => {
          const clock = new VirtualClock();
          const wheel = new TimerWheel(clock, { tickMs, buckets });
          const entries = specs.map(() => new Entry(clock));
          const due: number[] = [];
          const cancelledAt: (number | undefined)[] = [];
          specs.forEach((s, i) => {
            clock.setTimeout(() => {
              due[i] = clock.now() + s.ms;
              wheel.schedule(entries[i], s.ms);
            }, s.at);
            if (s.cancelAt !== null) {
              clock.setTimeout(() => {
                if (due[i] !== undefined && entries[i].fired.length === 0) cancelledAt[i] = clock.now();
                wheel.cancel(entries[i]);
              }, s.cancelAt);
            }
          });
          clock.advance(100_000);
          entries.forEach((e, i) => {
            if (cancelledAt[i] !== undefined) {
              expect(e.fired).toEqual([]);
            } else if (due[i] !== undefined) {
              expect(e.fired).toHaveLength(1);
              expect(e.fired[0]).toBeGreaterThanOrEqual(due[i]);
              expect(e.fired[0]).toBeLessThanOrEqual(due[i] + tickMs);
            }
          });
          expect(wheel.size).toBe(0);
          expect(clock.pending()).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});

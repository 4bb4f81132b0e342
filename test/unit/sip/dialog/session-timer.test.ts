import { SessionTimer } from '../../../../src/sip/dialog';
import { VirtualClock } from '../../../../src/util';

function setup(interval: number, localRefresher: boolean) {
  const clock = new VirtualClock();
  const timer = new SessionTimer({ clock, interval, localRefresher });
  const events: [string, number][] = [];
  timer.on('refresh', () => events.push(['refresh', clock.now()]));
  timer.on('expired', () => events.push(['expired', clock.now()]));
  return { clock, timer, events };
}

describe('SessionTimer (RFC 4028 §10)', () => {
  const cases: [interval: number, refreshMs: number, expiryMs: number][] = [
    [1800, 900_000, 1_768_000], // min(32, 600) = 32
    [90, 45_000, 60_000], // min(32, 30) = 30
    [120, 60_000, 88_000], // min(32, 40) = 32
    [96, 48_000, 64_000], // min(32, 32) = 32
  ];

  it.each(cases)('refresher with %p s refreshes at %p ms and expires at %p ms without a refresh', (interval, refreshMs, expiryMs) => {
    const { clock, timer, events } = setup(interval, true);
    timer.start();
    expect(timer.refreshAt).toBe(refreshMs);
    expect(timer.expiresAt).toBe(expiryMs);
    clock.advance(interval * 1000 * 2);
    expect(events).toEqual([
      ['refresh', refreshMs],
      ['expired', expiryMs],
    ]);
    expect(timer.running).toBe(false);
  });

  it.each(cases)('non-refresher with %p s never refreshes and expires at %p/%p ms', (interval, _refreshMs, expiryMs) => {
    const { clock, timer, events } = setup(interval, false);
    timer.start();
    expect(timer.refreshAt).toBeUndefined();
    clock.advance(interval * 1000 * 2);
    expect(events).toEqual([['expired', expiryMs]]);
  });

  it('a successful refresh restarts both timers from now', () => {
    const { clock, timer, events } = setup(1800, true);
    timer.start();
    clock.advance(900_000);
    expect(events).toEqual([['refresh', 900_000]]);
    clock.advance(1_000); // the refresh 2xx comes back
    timer.restart();
    clock.advance(1_000_000);
    expect(events).toEqual([
      ['refresh', 900_000],
      ['refresh', 1_801_000],
    ]);
    timer.stop();
    clock.advance(10_000_000);
    expect(events).toHaveLength(2);
    expect(clock.pending()).toBe(0);
  });

  it('restart can change interval and refresher role', () => {
    const { clock, timer, events } = setup(1800, true);
    timer.start();
    clock.advance(10_000);
    timer.restart(90, false);
    expect(timer.interval).toBe(90);
    expect(timer.localRefresher).toBe(false);
    clock.advance(100_000);
    expect(events).toEqual([['expired', 70_000]]);
  });

  it('stop is final', () => {
    const { timer } = setup(90, true);
    timer.stop();
    expect(() => timer.start()).toThrow('stopped');
  });

  it('rejects a non-positive interval', () => {
    expect(() => new SessionTimer({ clock: new VirtualClock(), interval: 0, localRefresher: true })).toThrow(TypeError);
  });
});

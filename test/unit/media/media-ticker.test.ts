import { MediaTicker, type MediaTickTarget } from '../../../src/media';
import { VirtualClock, type Clock } from '../../../src/util';
import { stallingClock } from './harness';

/** No socket I/O is pending in virtual time: a late tick's receive phase may follow at once. */
const runNow = (fn: () => void): void => fn();

describe('MediaTicker', () => {
  it('tells both phases how many ticks a stall skipped, the send phase how late it runs, and catches up one tick only', () => {
    const vclock = new VirtualClock();
    const clock = stallingClock(vclock, 100, 200);
    const ticker = new MediaTicker({ clock, defer: runNow });
    const log: { phase: string; missed: number; overdue: number; at: number }[] = [];
    const target: MediaTickTarget = {
      onSendTick: (missed, overdue) => log.push({ phase: 'send', missed, overdue, at: vclock.now() }),
      onReceiveTick: (missed) => log.push({ phase: 'recv', missed, overdue: 0, at: vclock.now() }),
    };
    ticker.add(target);
    vclock.advance(1000);
    ticker.close();
    const sends = log.filter((e) => e.phase === 'send');
    const recvs = log.filter((e) => e.phase === 'recv');
    expect(sends.map((e) => e.missed)).toEqual(recvs.map((e) => e.missed));
    const late = sends.filter((e) => e.missed > 0);
    expect(late).toHaveLength(1);
    // The timer of the tick due at 120 fired at 320: the pacer runs the ticks of 300 (one overdue) and 320 back to
    // back and reports the nine before them (120..280) as missed.
    expect(late[0].at).toBe(320);
    expect(late[0].missed).toBe(9);
    expect(ticker.skippedTicks).toBe(9);
    const atStall = sends.filter((e) => e.at === 320);
    // The tick of 300 runs a period late (overdue 1), the one of 320 on time right after it.
    expect(atStall.map((e) => [e.missed, e.overdue])).toEqual([
      [9, 1],
      [0, 0],
    ]);
    expect(sends.filter((e) => e.overdue > 0)).toHaveLength(1);
    // Every tick index is accounted for: run or reported missed; the schedule is still 20 ms after the stall.
    expect(sends.length + ticker.skippedTicks).toBe(1000 / 20 + 1);
    expect(sends[sends.length - 1].at).toBe(1000);
  });

  it('ticks on start + 20 n for a simulated hour with late timers: no drift', () => {
    const vclock = new VirtualClock();
    let n = 0;
    const clock: Clock = {
      now: () => vclock.now(),
      wallNow: () => vclock.wallNow(),
      setTimeout: (fn, ms) => {
        n = (n * 1103515245 + 12345) % 2147483648;
        return vclock.setTimeout(fn, ms + (n % 9));
      },
      clearTimeout: (h) => vclock.clearTimeout(h),
    };
    const ticker = new MediaTicker({ clock, defer: runNow });
    let sends = 0;
    let missed = 0;
    let worst = 0;
    ticker.add({
      onSendTick: (m) => {
        missed += m;
        // Tick n fires at 20 n plus that timer's own lateness, whatever the lateness of the timers before it.
        const lateness = vclock.now() - 20 * sends++;
        worst = Math.max(worst, Math.abs(lateness - 4));
      },
      onReceiveTick: () => undefined,
    });
    for (let s = 0; s < 3600; s++) vclock.advance(1000);
    ticker.close();
    expect(missed).toBe(0);
    expect(worst).toBeLessThanOrEqual(4);
    expect(sends).toBeGreaterThanOrEqual(180_000);
  });
});

describe('MediaTicker late ticks (receive after pending I/O)', () => {
  it('runs both phases at once on time, and a late tick sends at once but receives only after the pending I/O, the catch-up tick after it', () => {
    const vclock = new VirtualClock();
    const clock = stallingClock(vclock, 100, 100);
    const deferred: (() => void)[] = [];
    const ticker = new MediaTicker({ clock, defer: (fn) => deferred.push(fn) });
    const log: string[] = [];
    ticker.add({
      onSendTick: (missed, overdue) => log.push(`send@${vclock.now()} m${missed} o${overdue}`),
      onReceiveTick: (missed) => log.push(`recv@${vclock.now()} m${missed}`),
    });
    vclock.advance(100);
    // On time: never deferred.
    expect(deferred).toHaveLength(0);
    expect(log.filter((l) => l.startsWith('recv'))).toHaveLength(6);
    log.length = 0;
    // The timer due at 120 fires at 220: ticks of 200 (overdue) and 220 back to back.
    vclock.advance(120);
    expect(log).toEqual(['send@220 m4 o1']);
    expect(deferred).toHaveLength(1);
    log.push('poll: sockets read');
    deferred.shift()?.();
    expect(log).toEqual(['send@220 m4 o1', 'poll: sockets read', 'recv@220 m4', 'send@220 m0 o0', 'recv@220 m0']);
    log.length = 0;
    vclock.advance(40);
    expect(deferred).toHaveLength(0);
    expect(log).toEqual(['send@240 m0 o0', 'recv@240 m0', 'send@260 m0 o0', 'recv@260 m0']);
    ticker.close();
  });

  it('does not run a deferred receive phase after close, and keeps removed targets out of it', () => {
    const vclock = new VirtualClock();
    const clock = stallingClock(vclock, 0, 30);
    const deferred: (() => void)[] = [];
    const ticker = new MediaTicker({ clock, defer: (fn) => deferred.push(fn) });
    const got: string[] = [];
    const a: MediaTickTarget = { onSendTick: () => got.push('a send'), onReceiveTick: () => got.push('a recv') };
    const b: MediaTickTarget = { onSendTick: () => got.push('b send'), onReceiveTick: () => got.push('b recv') };
    ticker.add(a);
    ticker.add(b);
    vclock.advance(40);
    expect(deferred.length).toBeGreaterThan(0);
    ticker.remove(b);
    deferred.shift()?.();
    expect(got.filter((g) => g === 'b recv')).toHaveLength(0);
    expect(got.filter((g) => g === 'a recv').length).toBeGreaterThan(0);
    vclock.advance(100);
    ticker.close();
    const n = got.length;
    for (const fn of deferred.splice(0)) fn();
    expect(got).toHaveLength(n);
  });
});

import { MediaTicker, type MediaTickTarget } from '../../../src/media';
import { VirtualClock } from '../../../src/util';

/** A target that logs its phases under `name`, and runs `onSend` in its send phase. */
function target(name: string, log: string[], onSend?: () => void): MediaTickTarget {
  return {
    onSendTick: () => {
      log.push(`${name}>`);
      onSend?.();
    },
    onReceiveTick: () => log.push(`${name}<`),
  };
}

describe('MediaTicker membership (add / remove in O(1))', () => {
  it('keeps registration order across many removals (holes compacted in place) and re-adds at the end', () => {
    const clock = new VirtualClock();
    const ticker = new MediaTicker({ clock });
    const log: string[] = [];
    const ts = Array.from({ length: 40 }, (_, i) => target(`t${i}`, log));
    for (const t of ts) ticker.add(t);
    ticker.add(ts[0]); // already registered: no second slot
    expect(ticker.size).toBe(40);
    // Remove every odd one except t1 (enough holes to compact), then re-add t3: it goes last.
    for (let i = 3; i < 40; i += 2) ticker.remove(ts[i]);
    ticker.remove(ts[3]); // twice: no effect
    ticker.add(ts[3]);
    const expected = [0, 1, ...Array.from({ length: 19 }, (_, k) => 2 + 2 * k), 3].map((i) => `t${i}`);
    expect(ticker.size).toBe(expected.length);
    clock.advance(0); // the first tick
    const sends = log.filter((l) => l.endsWith('>')).map((l) => l.slice(0, -1));
    const recvs = log.filter((l) => l.endsWith('<')).map((l) => l.slice(0, -1));
    expect(sends).toEqual(expected);
    expect(recvs).toEqual(expected);
    // Removing after compaction still finds each target at its new index.
    log.length = 0;
    for (const name of ['t0', 't20', 't3']) ticker.remove(ts[Number(name.slice(1))]);
    clock.advance(20);
    expect(log.filter((l) => l.endsWith('>')).map((l) => l.slice(0, -1))).toEqual(expected.filter((n) => !['t0', 't20', 't3'].includes(n)));
    ticker.close();
  });

  it('a target removed during a tick is not ticked again, one added during a tick waits for the next tick', () => {
    const clock = new VirtualClock();
    const ticker = new MediaTicker({ clock });
    const log: string[] = [];
    const late = target('late', log);
    const c = target('c', log);
    const b = target('b', log, () => {
      ticker.remove(c);
      ticker.add(late);
    });
    ticker.add(target('a', log));
    ticker.add(b);
    ticker.add(c);
    clock.advance(0); // the first tick
    expect(log).toEqual(['a>', 'b>', 'a<', 'b<']);
    log.length = 0;
    ticker.remove(b);
    clock.advance(20);
    expect(log).toEqual(['a>', 'late>', 'a<', 'late<']);
    ticker.close();
  });

  it('stops the clock when the last target leaves and starts again with an empty array', () => {
    const clock = new VirtualClock();
    const ticker = new MediaTicker({ clock });
    const log: string[] = [];
    const a = target('a', log);
    const b = target('b', log);
    ticker.add(a);
    ticker.add(b);
    clock.advance(0);
    ticker.remove(a);
    ticker.remove(b);
    expect(ticker.size).toBe(0);
    const ticks = ticker.ticks;
    clock.advance(100);
    expect(ticker.ticks).toBe(ticks);
    log.length = 0;
    ticker.add(b);
    clock.advance(0);
    expect(log.filter((l) => l.startsWith('b'))).not.toHaveLength(0);
    expect(log.filter((l) => l.startsWith('a'))).toHaveLength(0);
    ticker.close();
  });
});

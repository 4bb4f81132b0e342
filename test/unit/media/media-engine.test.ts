import { MediaEngine, MediaTicker, PcmQueue, DtmfArbiter, type MediaDtmfEvent, type MediaTickTarget } from '../../../src/media';
import { RtpPortPool } from '../../../src/rtp';
import { InvalidStateError, VirtualClock } from '../../../src/util';

describe('MediaEngine', () => {
  it('opens sessions on pool ports, counts them, and closeAll() releases every port', async () => {
    const base = 43000 + (process.pid % 500) * 8;
    const pool = new RtpPortPool({ min: base, max: base + 7, host: '127.0.0.1' });
    const engine = new MediaEngine({ pool, clock: new VirtualClock() });
    const a = await engine.open();
    const b = await engine.open();
    const c = await engine.open({ rtcpMux: true });
    expect(engine.count).toBe(3);
    expect(pool.allocated).toBe(3);
    expect(new Set([a.rtpPort, b.rtpPort, c.rtpPort]).size).toBe(3);
    await b.close();
    expect(engine.count).toBe(2);
    expect(pool.allocated).toBe(2);
    await engine.close();
    expect(engine.count).toBe(0);
    expect(pool.allocated).toBe(0);
    expect(a.isClosed && c.isClosed).toBe(true);
    await expect(engine.open()).rejects.toBeInstanceOf(InvalidStateError);
  });
});

describe('MediaTicker', () => {
  it('runs every send phase before any receive phase, and survives removals during a tick', () => {
    const clock = new VirtualClock();
    const ticker = new MediaTicker({ clock });
    const log: string[] = [];
    const mk = (name: string, onSend?: () => void): MediaTickTarget => ({
      onSendTick: () => {
        log.push(`${name}:send`);
        onSend?.();
      },
      onReceiveTick: () => log.push(`${name}:recv`),
    });
    const c = mk('c');
    const a = mk('a', () => ticker.remove(c));
    const b = mk('b');
    ticker.add(a);
    ticker.add(b);
    ticker.add(c);
    clock.advance(0);
    // c was removed by a's send phase: it is not ticked at all.
    expect(log).toEqual(['a:send', 'b:send', 'a:recv', 'b:recv']);
    log.length = 0;
    clock.advance(20);
    expect(log).toEqual(['a:send', 'b:send', 'a:recv', 'b:recv']);
    ticker.remove(a);
    ticker.remove(b);
    expect(ticker.size).toBe(0);
    expect(clock.pending()).toBe(0);
  });
});

describe('PcmQueue', () => {
  it('re-frames chunks and reports marks in order once their audio was read', () => {
    const q = new PcmQueue();
    const marks: string[] = [];
    q.enqueue(new Int16Array(100).fill(1));
    q.mark('a');
    q.enqueue(new Int16Array(100).fill(2));
    q.mark('b');
    const frame = new Int16Array(160);
    expect(q.read(frame)).toBe(160);
    expect(frame[99]).toBe(1);
    expect(frame[100]).toBe(2);
    q.takeReachedMarks((m) => marks.push(m));
    expect(marks).toEqual(['a']);
    expect(q.read(frame)).toBe(40);
    q.takeReachedMarks((m) => marks.push(m));
    expect(marks).toEqual(['a', 'b']);
    expect(q.isEmpty).toBe(true);
  });

  it('clear() returns the pending marks and refuses audio beyond its bound', () => {
    const q = new PcmQueue(1000);
    expect(q.enqueue(new Int16Array(900))).toBe(true);
    expect(q.enqueue(new Int16Array(200))).toBe(false);
    q.mark('x');
    expect(q.clear()).toEqual(['x']);
    expect(q.samples).toBe(0);
  });
});

describe('DtmfArbiter', () => {
  it('holds an in-band digit while telephone-event is negotiated and drops it when RFC 4733 reports the press', () => {
    const out: MediaDtmfEvent[] = [];
    const arb = new DtmfArbiter((e) => out.push(e));
    arb.inband('7', 120, 1000, true);
    arb.rfc4733('7', 100, 1050);
    arb.poll(5000);
    expect(out).toEqual([{ digit: '7', source: 'rfc4733', durationMs: 100 }]);
    expect(arb.suppressed).toBe(1);
  });

  it('keeps different digits and in-band digits far from any RFC 4733 event', () => {
    const out: MediaDtmfEvent[] = [];
    const arb = new DtmfArbiter((e) => out.push(e));
    arb.rfc4733('1', 100, 1000);
    arb.inband('2', 100, 1020, true);
    arb.inband('1', 100, 5000, true);
    arb.poll(1200);
    expect(out.map((e) => `${e.digit}/${e.source}`)).toEqual(['1/rfc4733']);
    arb.poll(6000);
    expect(out.map((e) => `${e.digit}/${e.source}`)).toEqual(['1/rfc4733', '2/inband', '1/inband']);
  });
});

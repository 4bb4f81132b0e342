import { Uas2xxRetransmitter } from '../../../../src/sip/dialog';
import { VirtualClock } from '../../../../src/util';

function setup(opts: { t1?: number; t2?: number } = {}) {
  const clock = new VirtualClock();
  const sentAt: number[] = [];
  const timeouts: number[] = [];
  const r = new Uas2xxRetransmitter({
    clock,
    ...opts,
    retransmit: () => sentAt.push(clock.now()),
    onAckTimeout: () => timeouts.push(clock.now()),
  });
  return { clock, r, sentAt, timeouts };
}

function intervals(times: number[]): number[] {
  return times.map((t, i) => t - (i === 0 ? 0 : times[i - 1]));
}

describe('Uas2xxRetransmitter (RFC 3261 §13.3.1.4)', () => {
  it('retransmits at T1, doubling up to T2, and reports ackTimeout at 64*T1', () => {
    const { clock, r, sentAt, timeouts } = setup();
    r.start();
    clock.advance(40_000);
    expect(intervals(sentAt)).toEqual([500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000]);
    expect(sentAt[sentAt.length - 1]).toBe(31_500);
    expect(timeouts).toEqual([32_000]);
    expect(r.state).toBe('TimedOut');
    expect(r.retransmissions).toBe(10);
    expect(clock.pending()).toBe(0);
  });

  it('stops when the ACK arrives and never reports a timeout', () => {
    const { clock, r, sentAt, timeouts } = setup();
    r.start();
    clock.advance(3_600);
    expect(sentAt).toEqual([500, 1500, 3500]);
    expect(r.ackReceived()).toBe(true);
    clock.advance(60_000);
    expect(sentAt).toHaveLength(3);
    expect(timeouts).toEqual([]);
    expect(r.state).toBe('Acknowledged');
    expect(r.ackReceived()).toBe(false);
    expect(clock.pending()).toBe(0);
  });

  it('follows configured T1 and T2', () => {
    const { clock, r, sentAt, timeouts } = setup({ t1: 100, t2: 300 });
    r.start();
    clock.advance(10_000);
    expect(intervals(sentAt).slice(0, 5)).toEqual([100, 200, 300, 300, 300]);
    expect(timeouts).toEqual([6_400]);
  });

  it('stop() cancels everything and start() twice is refused', () => {
    const { clock, r, sentAt, timeouts } = setup();
    r.start();
    expect(() => r.start()).toThrow('already');
    r.stop();
    clock.advance(60_000);
    expect(sentAt).toEqual([]);
    expect(timeouts).toEqual([]);
    expect(r.state).toBe('Stopped');
    expect(clock.pending()).toBe(0);
  });

  it('rejects a zero T1', () => {
    expect(() => new Uas2xxRetransmitter({ clock: new VirtualClock(), t1: 0, retransmit: () => undefined, onAckTimeout: () => undefined })).toThrow(TypeError);
  });
});

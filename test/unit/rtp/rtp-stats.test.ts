import { ntpFromUnixMs, ntpMiddle32, RtcpScheduler, RtcpSession, RtpReceiveStats, unixMsFromNtp } from '../../../src/rtp';
import { VirtualClock } from '../../../src/util';

describe('RtpReceiveStats', () => {
  it('has zero jitter for a perfectly paced stream', () => {
    const s = new RtpReceiveStats(8000);
    for (let i = 0; i < 100; i++) s.update(1, i, 1000 + i * 160, 160, 5000 + i * 20);
    expect(s.jitter).toBe(0);
    expect(s.packets).toBe(100);
    expect(s.bytes).toBe(16000);
  });

  it('computes RFC 3550 A.8 jitter on a synthetic stream', () => {
    const s = new RtpReceiveStats(8000);
    // Arrivals alternate 0 ms and 10 ms late: |D| is 80 timestamp units on every packet after the first.
    let expected = 0;
    for (let i = 0; i < 200; i++) {
      s.update(7, i, i * 160, 160, i * 20 + (i % 2) * 10);
      if (i > 0) expected += (80 - expected) / 16;
    }
    expect(s.jitter).toBeCloseTo(expected, 9);
    expect(s.jitter).toBeGreaterThan(79); // converges to |D|
    expect(s.jitterMs).toBeCloseTo(s.jitter / 8, 9);
  });

  it('handles the RTP timestamp wrapping', () => {
    const s = new RtpReceiveStats(8000);
    const base = 0xffffffff - 800;
    for (let i = 0; i < 20; i++) s.update(7, i, (base + i * 160) >>> 0, 160, i * 20);
    expect(s.jitter).toBe(0);
  });

  it('builds a report block with loss, extended seq, LSR and DLSR', () => {
    const s = new RtpReceiveStats(8000);
    for (const seq of [65534, 65535, 0, 1, 3, 4]) s.update(9, seq, seq * 160, 160, seq);
    s.onSenderReport(0x12345678, 1000);
    const block = s.makeReportBlock(1500)!;
    expect(block.ssrc).toBe(9);
    expect(block.highestSeq).toBe(65536 + 4);
    expect(block.cumulativeLost).toBe(1);
    expect(block.fractionLost).toBe(Math.floor((1 * 256) / 6));
    expect(block.lsr).toBe(0x12345678);
    expect(block.dlsr).toBe(32768); // 0.5 s in 1/65536 s
  });

  it('resets when the SSRC changes', () => {
    const s = new RtpReceiveStats();
    for (let i = 0; i < 5; i++) s.update(1, i, 0, 10, 0);
    s.update(2, 500, 0, 10, 0);
    expect(s.ssrc).toBe(2);
    expect(s.packets).toBe(1);
  });
});

describe('NTP helpers', () => {
  it('converts wall time to NTP and back', () => {
    const ms = 1_700_000_000_250;
    const t = ntpFromUnixMs(ms);
    expect(t.seconds).toBe(1_700_000_000 + 2_208_988_800);
    expect(t.fraction).toBe(2 ** 30);
    expect(unixMsFromNtp(t.seconds, t.fraction)).toBeCloseTo(ms, 3);
    expect(ntpMiddle32(0x0001abcd, 0x12345678)).toBe(0xabcd1234);
  });
});

describe('RtcpSession', () => {
  it('sends RR before any RTP and SR after, always with a CNAME', () => {
    const clock = new VirtualClock();
    const s = new RtcpSession({ ssrc: 42, cname: 'me', clock });
    const first = s.buildReport();
    expect(first[0].type).toBe('rr');
    expect(first[1]).toEqual({ type: 'sdes', chunks: [{ ssrc: 42, items: [{ type: 1, text: 'me' }] }] });
    s.onRtpSent(1000, 160);
    s.onRtpSent(1160, 160);
    clock.advance(10);
    const second = s.buildReport();
    expect(second[0]).toMatchObject({ type: 'sr', ssrc: 42, packetCount: 2, octetCount: 320, rtpTimestamp: 1160 + 80 });
    expect(s.buildReport()[0].type).toBe('rr');
    expect(s.buildBye('bye now').map((p) => p.type)).toEqual(['rr', 'sdes', 'bye']);
  });

  it('computes the round trip from the peer echoing our SR (LSR/DLSR)', () => {
    const clock = new VirtualClock();
    const s = new RtcpSession({ ssrc: 42, cname: 'me', clock });
    s.onRtpSent(0, 160);
    const sr = s.buildReport()[0];
    if (sr.type !== 'sr') throw new Error('expected SR');
    const lsr = ntpMiddle32(sr.ntpSeconds, sr.ntpFraction);
    clock.advance(300); // 100 ms each way plus 100 ms held at the peer
    s.onRtcp([{ type: 'rr', ssrc: 7, reports: [{ ssrc: 42, fractionLost: 12, cumulativeLost: 3, highestSeq: 99, jitter: 40, lsr, dlsr: 65536 / 10 }] }]);
    expect(s.remote).toMatchObject({ fractionLost: 12, cumulativeLost: 3, jitter: 40 });
    expect(s.remote!.roundTripMs!).toBeCloseTo(200, 0);
  });

  it('records BYE from the remote source', () => {
    const s = new RtcpSession({ ssrc: 1, cname: 'x', clock: new VirtualClock() });
    s.receive.update(9, 1, 1, 1, 1);
    s.onRtcp([{ type: 'bye', ssrcs: [8] }]);
    expect(s.byeReceived).toBe(false);
    s.onRtcp([{ type: 'bye', ssrcs: [9], reason: 'done' }]);
    expect(s.byeReceived).toBe(true);
    expect(s.byeReason).toBe('done');
  });
});

describe('RtcpScheduler', () => {
  it('fires the first report at half the interval, then every 0.5-1.5 x 5 s', () => {
    const clock = new VirtualClock();
    const times: number[] = [];
    let r = 0;
    const randoms = [0, 0.999, 0.5, 0.25];
    const sched = new RtcpScheduler({ clock, random: () => randoms[r++ % randoms.length], onReport: () => times.push(clock.now()) });
    sched.start();
    clock.advance(20_000);
    sched.stop();
    expect(times[0]).toBeCloseTo(1250, 6); // 2.5 s x 0.5
    expect(times[1] - times[0]).toBeCloseTo(5000 * 1.499, 6);
    expect(times[2] - times[1]).toBeCloseTo(5000, 6);
    expect(times[3] - times[2]).toBeCloseTo(3750, 6);
    expect(clock.pending()).toBe(0);
  });

  it('keeps intervals within [2.5 s, 7.5 s] with the default random source', () => {
    const clock = new VirtualClock();
    const times: number[] = [];
    const sched = new RtcpScheduler({ clock, onReport: () => times.push(clock.now()) });
    sched.start();
    clock.advance(600_000);
    sched.stop();
    for (let i = 1; i < times.length; i++) {
      expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(2500);
      expect(times[i] - times[i - 1]).toBeLessThan(7500);
    }
    expect(times.length).toBeGreaterThan(80);
  });
});

import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import {
  decodeRtp,
  decodeTelephoneEvent,
  DtmfEvent,
  dtmfEventCode,
  encodeTelephoneEventInto,
  planTelephoneEvent,
  RtpPacket,
  TelephoneEventPayload,
  TelephoneEventReceiver,
} from '../../../src/rtp';
import { readPcapUdp } from '../../helpers/pcap';

function payload(event: number, end: boolean, duration: number, volume = 10): Buffer {
  const b = Buffer.alloc(4);
  encodeTelephoneEventInto({ event, end, volume, duration }, b);
  return b;
}

describe('RFC 4733 payload', () => {
  it('round-trips event, end bit, volume and duration', () => {
    const b = payload(11, true, 0xabcd, 63);
    expect(b.toString('hex')).toBe('0bbfabcd');
    const out: TelephoneEventPayload = { event: 0, end: false, volume: 0, duration: 0 };
    expect(decodeTelephoneEvent(b, out)).toBeNull();
    expect(out).toEqual({ event: 11, end: true, volume: 63, duration: 0xabcd });
  });

  it('rejects a short payload', () => {
    expect(decodeTelephoneEvent(Buffer.alloc(3), { event: 0, end: false, volume: 0, duration: 0 })).toBe('DTMF_SHORT_PAYLOAD');
  });

  it('maps digits to event codes', () => {
    expect([...'0123456789*#ABCDd'].map(dtmfEventCode)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 15]);
    expect(dtmfEventCode('x')).toBe(-1);
    expect(dtmfEventCode('12')).toBe(-1);
  });
});

describe('TelephoneEventReceiver', () => {
  it('reports a digit exactly once despite retransmitted starts and three end packets', () => {
    const rx = new TelephoneEventReceiver();
    const got: DtmfEvent[] = [];
    const push = (ts: number, p: Buffer, at: number): void => {
      const e = rx.push(ts, p, at);
      if (e) got.push(e);
    };
    push(1000, payload(5, false, 0), 0);
    push(1000, payload(5, false, 0), 1); // retransmitted start
    push(1000, payload(5, false, 400), 50);
    push(1000, payload(5, true, 800), 100);
    push(1000, payload(5, true, 800), 101);
    push(1000, payload(5, true, 800), 102);
    push(1000, payload(5, true, 800), 400); // very late duplicate
    expect(got).toEqual([{ digit: '5', timestamp: 1000, duration: 800, durationMs: 100, volume: 10, endSeen: true }]);
    expect(rx.poll(10_000)).toBeNull();
  });

  it('gives two digits for the same key pressed twice (different timestamps)', () => {
    const rx = new TelephoneEventReceiver();
    const got = [rx.push(1000, payload(1, true, 800), 0), rx.push(1000, payload(1, true, 800), 1), rx.push(3000, payload(1, true, 800), 300)];
    expect(got.map((e) => e?.digit ?? null)).toEqual(['1', null, '1']);
  });

  it('closes an event whose end packets were lost when the next one starts, and by timeout', () => {
    const rx = new TelephoneEventReceiver({ staleMs: 500 });
    expect(rx.push(1000, payload(2, false, 0), 0)).toBeNull();
    const first = rx.push(5000, payload(3, false, 0), 600);
    expect(first).toMatchObject({ digit: '2', endSeen: false });
    expect(rx.poll(700)).toBeNull();
    expect(rx.poll(1100)).toMatchObject({ digit: '3', endSeen: false });
  });

  it('reports a deferred end when a new ended event displaces an open one', () => {
    const rx = new TelephoneEventReceiver();
    rx.push(1000, payload(7, false, 0), 0);
    expect(rx.push(2000, payload(8, true, 800), 10)).toMatchObject({ digit: '7' });
    expect(rx.poll(10)).toMatchObject({ digit: '8', endSeen: true });
    expect(rx.poll(20)).toBeNull();
  });

  it('ignores non-DTMF events and malformed payloads', () => {
    const rx = new TelephoneEventReceiver();
    expect(rx.push(1, payload(16, true, 800), 0)).toBeNull();
    expect(rx.push(2, Buffer.alloc(2), 0)).toBeNull();
    expect(rx.ignored).toBe(2);
  });

  describe('sipp RFC 2833 captures', () => {
    const dir = join(__dirname, '../../fixtures/rtp');
    const files = readdirSync(dir).filter((f) => f.startsWith('dtmf_2833_'));
    const names: Record<string, string> = { pound: '#', star: '*' };

    it('has the fixtures', () => {
      expect(files.length).toBe(12);
    });

    it.each(files)('%s decodes to its digit exactly once', (file) => {
      const key = file.replace('dtmf_2833_', '').replace('.pcap', '');
      const expected = names[key] ?? key;
      const rx = new TelephoneEventReceiver();
      const pkt = new RtpPacket();
      const digits: string[] = [];
      let events = 0;
      for (const udp of readPcapUdp(join(dir, file))) {
        expect(decodeRtp(udp.payload, pkt)).toBeNull();
        if (pkt.payloadType !== 101) continue;
        events++;
        const e = rx.push(pkt.timestamp, pkt.payload, udp.timeMs);
        if (e) digits.push(e.digit);
      }
      const tail = rx.poll(Number.MAX_SAFE_INTEGER);
      if (tail) digits.push(tail.digit);
      expect(events).toBeGreaterThan(3);
      expect(digits).toEqual([expected]);
    });
  });
});

describe('planTelephoneEvent', () => {
  it('plans start with marker, 50 ms updates and three end packets', () => {
    const plan = planTelephoneEvent(200);
    expect(plan).toEqual([
      { atMs: 0, marker: true, end: false, duration: 0 },
      { atMs: 50, marker: false, end: false, duration: 400 },
      { atMs: 100, marker: false, end: false, duration: 800 },
      { atMs: 150, marker: false, end: false, duration: 1200 },
      { atMs: 200, marker: false, end: true, duration: 1600 },
      { atMs: 200, marker: false, end: true, duration: 1600 },
      { atMs: 200, marker: false, end: true, duration: 1600 },
    ]);
  });

  it('is received as exactly one digit of the planned duration', () => {
    const rx = new TelephoneEventReceiver();
    const got = planTelephoneEvent(120)
      .map((p) => rx.push(4242, payload(11, p.end, p.duration), p.atMs))
      .filter((e) => e !== null);
    expect(got).toEqual([{ digit: '#', timestamp: 4242, duration: 960, durationMs: 120, volume: 10, endSeen: true }]);
  });

  it('rejects a non-positive duration', () => {
    expect(() => planTelephoneEvent(0)).toThrow(TypeError);
  });
});

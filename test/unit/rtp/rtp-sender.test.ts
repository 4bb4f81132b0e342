import { decodeRtp, RtpPacket, RtpSender } from '../../../src/rtp';
import { VirtualClock } from '../../../src/util';

function decode(buf: Buffer): RtpPacket {
  const p = new RtpPacket();
  expect(decodeRtp(buf, p)).toBeNull();
  return p;
}

describe('RtpSender', () => {
  const frame = Buffer.alloc(160, 0xff);

  it('keeps one SSRC with continuous seq and timestamps across sources, wrapping 65535 -> 0', () => {
    const clock = new VirtualClock();
    const s = new RtpSender({ payloadType: 0, clock, ssrc: 0x1234, initialSequence: 65534, initialTimestamp: 0xffffff00 });
    const pkts: RtpPacket[] = [];
    // prompt, then AI audio, then music on hold: just consecutive frames every 20 ms
    for (let i = 0; i < 6; i++) {
      pkts.push(decode(s.encodeFrame(frame, 160)));
      clock.advance(20);
    }
    expect(pkts.map((p) => p.ssrc)).toEqual(new Array(6).fill(0x1234));
    expect(pkts.map((p) => p.sequenceNumber)).toEqual([65534, 65535, 0, 1, 2, 3]);
    expect(pkts.map((p) => p.timestamp)).toEqual([0xffffff00, 0xffffffa0, 0x40, 0xe0, 0x180, 0x220]);
    expect(pkts.map((p) => p.marker)).toEqual([true, false, false, false, false, false]);
    expect(s.packetsSent).toBe(6);
    expect(s.octetsSent).toBe(960);
  });

  it('sets the marker and jumps the timestamp by the elapsed time after a silence gap', () => {
    const clock = new VirtualClock();
    const s = new RtpSender({ payloadType: 8, clock, initialTimestamp: 1000, initialSequence: 10 });
    for (let i = 0; i < 50; i++) {
      s.encodeFrame(frame, 160);
      clock.advance(20);
    }
    // 50 frames sent at t = 0..980; next frame after 1 s of silence at t = 2000.
    clock.advance(1000);
    const p = decode(s.encodeFrame(frame, 160));
    expect(p.marker).toBe(true);
    expect(p.sequenceNumber).toBe(60); // no sequence gap: nothing was lost
    expect(p.timestamp).toBe(1000 + 2000 * 8);
    clock.advance(20);
    const q = decode(s.encodeFrame(frame, 160));
    expect(q.marker).toBe(false);
    expect(q.timestamp).toBe(p.timestamp + 160);
  });

  it('does not treat a short scheduling hiccup as a talk spurt', () => {
    const clock = new VirtualClock();
    const s = new RtpSender({ payloadType: 0, clock, initialTimestamp: 0 });
    s.encodeFrame(frame, 160);
    clock.advance(45);
    const p = decode(s.encodeFrame(frame, 160));
    expect(p.marker).toBe(false);
    expect(p.timestamp).toBe(160);
  });

  it('marks an explicit talk-spurt start and honours a payload type override', () => {
    const s = new RtpSender({ payloadType: 0, clock: new VirtualClock() });
    s.encodeFrame(frame, 160);
    s.startTalkspurt();
    const p = decode(s.encodeFrame(frame, 160, { payloadType: 8 }));
    expect(p.marker).toBe(true);
    expect(p.payloadType).toBe(8);
  });

  it('keeps the event timestamp for events and resumes audio after the event duration', () => {
    const clock = new VirtualClock();
    const s = new RtpSender({ payloadType: 0, clock, initialTimestamp: 0, initialSequence: 0 });
    s.encodeFrame(frame, 160);
    clock.advance(20);
    const ts = s.beginEvent();
    expect(ts).toBe(160);
    const a = decode(s.encodeAt(Buffer.alloc(4), 101, ts, true));
    const b = decode(s.encodeAt(Buffer.alloc(4), 101, ts, false));
    expect([a.sequenceNumber, b.sequenceNumber]).toEqual([1, 2]);
    expect([a.timestamp, b.timestamp]).toEqual([160, 160]);
    clock.advance(100);
    s.endEvent(ts, 800);
    const c = decode(s.encodeFrame(frame, 160));
    expect(c.sequenceNumber).toBe(3);
    expect(c.timestamp).toBe(960);
    expect(c.marker).toBe(true);
  });

  it('draws random SSRC, sequence and timestamp by default', () => {
    const a = new RtpSender({ payloadType: 0 });
    const b = new RtpSender({ payloadType: 0 });
    expect([a.ssrc, a.sequenceNumber, a.timestamp]).not.toEqual([b.ssrc, b.sequenceNumber, b.timestamp]);
  });
});

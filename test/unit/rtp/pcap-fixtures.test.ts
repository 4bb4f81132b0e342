import { join } from 'node:path';
import { decodeRtp, JitterBuffer, JitterFrame, RtpPacket, RtpReceiveStats, seqDiff, tsDiff } from '../../../src/rtp';
import { parsePcap, readPcapUdp } from '../../helpers/pcap';

describe('g711a.pcap (sipp)', () => {
  const packets = readPcapUdp(join(__dirname, '../../fixtures/rtp/g711a.pcap'));

  it('is a PCMA stream of 30 ms frames with no loss', () => {
    expect(packets.length).toBeGreaterThan(100);
    const pkt = new RtpPacket();
    const stats = new RtpReceiveStats(8000);
    let prevSeq = -1;
    let prevTs = -1;
    for (const udp of packets) {
      expect(decodeRtp(udp.payload, pkt)).toBeNull();
      expect(pkt.payloadType).toBe(8);
      expect(pkt.payload.length).toBe(240);
      if (prevSeq >= 0) {
        expect(seqDiff(pkt.sequenceNumber, prevSeq)).toBe(1);
        expect(tsDiff(pkt.timestamp, prevTs)).toBe(240);
      }
      prevSeq = pkt.sequenceNumber;
      prevTs = pkt.timestamp;
      expect(stats.update(pkt.ssrc, pkt.sequenceNumber, pkt.timestamp, pkt.payload.length, udp.timeMs)).not.toBe('bad');
    }
    expect(stats.seq.lost).toBe(0);
    expect(stats.packets).toBe(packets.length);
  });

  it('plays back through the jitter buffer frame by frame', () => {
    const jb = new JitterBuffer();
    const pkt = new RtpPacket();
    const out = new JitterFrame();
    let played = 0;
    for (const udp of packets) {
      decodeRtp(udp.payload, pkt);
      expect(jb.put(pkt.sequenceNumber, pkt.timestamp, pkt.payload, udp.timeMs, pkt.payloadType)).toBe('ok');
      if (jb.get(out) === 'frame') played++;
    }
    while (jb.size > 0) if (jb.get(out) === 'frame') played++;
    expect(played).toBe(packets.length);
    expect(jb.framesLost).toBe(0);
    expect(jb.late + jb.duplicates).toBe(0);
  });
});

describe('pcap reader', () => {
  it('rejects a file that is not a pcap', () => {
    expect(() => parsePcap(Buffer.alloc(40))).toThrow('bad magic');
  });
});

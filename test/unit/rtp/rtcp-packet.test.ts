import { decodeRtcp, encodeRtcp, findCname, RtcpDecodeErrorCode, RtcpPacket, SDES_CNAME } from '../../../src/rtp';

const block = { ssrc: 0x11223344, fractionLost: 25, cumulativeLost: -3, highestSeq: 0x1_0005, jitter: 123, lsr: 0xaabbccdd, dlsr: 65536 };

describe('RTCP codec (RFC 3550 §6)', () => {
  it('round-trips SR + SDES + BYE compound packets', () => {
    const packets: RtcpPacket[] = [
      { type: 'sr', ssrc: 1, ntpSeconds: 0xe0000000, ntpFraction: 0x80000000, rtpTimestamp: 160, packetCount: 50, octetCount: 8000, reports: [block] },
      { type: 'sdes', chunks: [{ ssrc: 1, items: [{ type: SDES_CNAME, text: 'leg-1@example.com' }] }] },
      { type: 'bye', ssrcs: [1], reason: 'call ended' },
    ];
    const buf = encodeRtcp(packets);
    expect(buf.length % 4).toBe(0);
    const res = decodeRtcp(buf);
    expect(res).toEqual({ ok: true, packets });
    expect(res.ok && findCname(res.packets, 1)).toBe('leg-1@example.com');
  });

  it('round-trips an RR with no blocks and a BYE without reason', () => {
    const packets: RtcpPacket[] = [
      { type: 'rr', ssrc: 0xffffffff, reports: [] },
      { type: 'sdes', chunks: [{ ssrc: 0xffffffff, items: [{ type: SDES_CNAME, text: 'abc' }] }] },
      { type: 'bye', ssrcs: [0xffffffff] },
    ];
    expect(decodeRtcp(encodeRtcp(packets))).toEqual({ ok: true, packets });
  });

  it('pads SDES chunks to 32 bits for every CNAME length', () => {
    for (let len = 0; len < 9; len++) {
      const packets: RtcpPacket[] = [{ type: 'sdes', chunks: [{ ssrc: 5, items: [{ type: SDES_CNAME, text: 'x'.repeat(len) }] }, { ssrc: 6, items: [] }] }];
      const buf = encodeRtcp(packets);
      expect(buf.length % 4).toBe(0);
      expect(decodeRtcp(buf)).toEqual({ ok: true, packets });
    }
  });

  it('clamps cumulative lost to signed 24 bits', () => {
    const buf = encodeRtcp([{ type: 'rr', ssrc: 1, reports: [{ ...block, cumulativeLost: 1e9 }, { ...block, cumulativeLost: -1e9 }] }]);
    const res = decodeRtcp(buf);
    if (!res.ok || res.packets[0].type !== 'rr') throw new Error('decode failed');
    expect(res.packets[0].reports.map((r) => r.cumulativeLost)).toEqual([0x7fffff, -0x800000]);
  });

  it('keeps unknown packet types (APP, feedback) raw', () => {
    const packets: RtcpPacket[] = [
      { type: 'rr', ssrc: 1, reports: [] },
      { type: 'other', packetType: 205, count: 1, body: Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]) },
    ];
    expect(decodeRtcp(encodeRtcp(packets))).toEqual({ ok: true, packets });
  });

  it('accepts padding on the last packet', () => {
    const rr = encodeRtcp([{ type: 'rr', ssrc: 1, reports: [] }]);
    const padded = Buffer.concat([rr, Buffer.from([0, 0, 0, 4])]);
    padded[0] |= 0x20;
    padded.writeUInt16BE(2, 2);
    expect(decodeRtcp(padded)).toEqual({ ok: true, packets: [{ type: 'rr', ssrc: 1, reports: [] }] });
  });

  const rr = encodeRtcp([{ type: 'rr', ssrc: 1, reports: [block] }]);
  const withHeader = (b0: number, pt: number, words: number, body: number[]): Buffer => Buffer.from([b0, pt, words >> 8, words & 0xff, ...body]);
  const cases: Record<string, [Buffer, RtcpDecodeErrorCode]> = {
    empty: [Buffer.alloc(0), 'RTCP_SHORT_PACKET'],
    'three bytes': [rr.subarray(0, 3), 'RTCP_SHORT_PACKET'],
    'trailing partial header': [Buffer.concat([rr, Buffer.from([0x80, 201])]), 'RTCP_SHORT_PACKET'],
    'version 1': [Buffer.concat([Buffer.from([0x41]), rr.subarray(1)]), 'RTCP_BAD_VERSION'],
    'length past the end': [rr.subarray(0, rr.length - 4), 'RTCP_BAD_LENGTH'],
    'padding not on last packet': [Buffer.concat([Buffer.from([0xa0]), rr.subarray(1, 8), rr]), 'RTCP_BAD_PADDING'],
    'padding count zero': [withHeader(0xa0, 201, 1, [0, 0, 0, 1, 0, 0, 0, 0]), 'RTCP_BAD_PADDING'],
    'report count exceeds length': [withHeader(0x82, 201, 1, [0, 0, 0, 1, 0, 0, 0, 0]), 'RTCP_BAD_REPORT_COUNT'],
    'SR too short': [withHeader(0x80, 200, 1, [0, 0, 0, 1, 0, 0, 0, 0]), 'RTCP_BAD_REPORT_COUNT'],
    'SDES item past the end': [withHeader(0x81, 202, 2, [0, 0, 0, 1, 1, 9, 0x41, 0x42, 0, 0, 0, 0]), 'RTCP_BAD_SDES'],
    'SDES without terminator': [withHeader(0x81, 202, 1, [0, 0, 0, 1]), 'RTCP_BAD_SDES'],
    'BYE reason past the end': [withHeader(0x81, 203, 2, [0, 0, 0, 1, 9, 0x41, 0, 0]), 'RTCP_BAD_BYE'],
    'BYE count exceeds length': [withHeader(0x83, 203, 1, [0, 0, 0, 1, 0, 0, 0, 2]), 'RTCP_BAD_BYE'],
  };
  it.each(Object.entries(cases))('rejects %s', (_name, [buf, code]) => {
    expect(decodeRtcp(buf)).toEqual({ ok: false, code });
  });
});

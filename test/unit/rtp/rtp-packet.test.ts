import { classifyPacket, decodeRtp, encodeRtp, encodeRtpInto, RtpDecodeErrorCode, rtpEncodedSize, RtpHeaderFields, RtpPacket } from '../../../src/rtp';

describe('decodeRtp / encodeRtpInto', () => {
  it('round-trips a plain G.711 packet and exposes the payload as a view', () => {
    const payload = Buffer.alloc(160, 0xd5);
    const header: RtpHeaderFields = { marker: true, payloadType: 8, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef };
    const buf = encodeRtp(header, payload);
    expect(buf.length).toBe(172);
    expect(buf.subarray(0, 12).toString('hex')).toBe('8088fffffffffff0deadbeef');
    const pkt = new RtpPacket();
    expect(decodeRtp(buf, pkt)).toBeNull();
    expect(pkt).toMatchObject({ version: 2, marker: true, payloadType: 8, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef });
    expect(pkt.payload.equals(payload)).toBe(true);
    expect(pkt.payload.buffer).toBe(buf.buffer); // a view, not a copy
  });

  it('round-trips CSRCs, a header extension and padding', () => {
    const header: RtpHeaderFields = {
      marker: false,
      payloadType: 0,
      sequenceNumber: 1,
      timestamp: 160,
      ssrc: 7,
      csrc: [1, 2, 0xffffffff],
      extensionProfile: 0xbede,
      extensionPayload: Buffer.from([0x10, 0xaa, 0, 0]),
      paddingSize: 4,
    };
    const payload = Buffer.from('hello');
    const buf = Buffer.alloc(rtpEncodedSize(header, payload.length) + 8);
    const n = encodeRtpInto(header, payload, buf, 8);
    expect(n).toBe(12 + 12 + 4 + 4 + 5 + 4);
    const pkt = new RtpPacket();
    expect(decodeRtp(buf.subarray(8, 8 + n), pkt)).toBeNull();
    expect(pkt.csrc).toEqual([1, 2, 0xffffffff]);
    expect(pkt.extension).toBe(true);
    expect(pkt.extensionProfile).toBe(0xbede);
    expect(pkt.extensionPayload!.toString('hex')).toBe('10aa0000');
    expect(pkt.padding).toBe(true);
    expect(pkt.paddingSize).toBe(4);
    expect(pkt.payload.toString()).toBe('hello');
    // Re-encoding the decoded packet reproduces the bytes.
    expect(encodeRtp(pkt, pkt.payload).equals(buf.subarray(8, 8 + n))).toBe(true);
  });

  it('reuses the caller-owned object, shrinking the CSRC list', () => {
    const pkt = new RtpPacket();
    decodeRtp(encodeRtp({ marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 1, ssrc: 1, csrc: [9, 9] }, Buffer.alloc(1)), pkt);
    const csrcArray = pkt.csrc;
    decodeRtp(encodeRtp({ marker: false, payloadType: 0, sequenceNumber: 2, timestamp: 1, ssrc: 1 }, Buffer.alloc(1)), pkt);
    expect(pkt.csrc).toBe(csrcArray);
    expect(pkt.csrc).toEqual([]);
    expect(pkt.extensionPayload).toBeNull();
  });

  const valid = encodeRtp({ marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 1, ssrc: 1 }, Buffer.alloc(4));
  const cases: Record<string, [Buffer, RtpDecodeErrorCode]> = {
    empty: [Buffer.alloc(0), 'RTP_SHORT_PACKET'],
    'eleven bytes': [valid.subarray(0, 11), 'RTP_SHORT_PACKET'],
    'version 1': [Buffer.concat([Buffer.from([0x40]), valid.subarray(1)]), 'RTP_BAD_VERSION'],
    'version 0': [Buffer.concat([Buffer.from([0x00]), valid.subarray(1)]), 'RTP_BAD_VERSION'],
    'CSRC count past the end': [Buffer.concat([Buffer.from([0x82]), valid.subarray(1, 16)]), 'RTP_SHORT_CSRC'],
    'extension header cut': [Buffer.concat([Buffer.from([0x90]), valid.subarray(1, 14)]), 'RTP_SHORT_EXTENSION'],
    'extension length past the end': [Buffer.concat([Buffer.from([0x90]), valid.subarray(1, 12), Buffer.from([0xbe, 0xde, 0x00, 0x02, 0, 0, 0, 0])]), 'RTP_SHORT_EXTENSION'],
    'padding count zero': [Buffer.concat([Buffer.from([0xa0]), valid.subarray(1, 12), Buffer.from([1, 2, 3, 0])]), 'RTP_BAD_PADDING'],
    'padding larger than payload': [Buffer.concat([Buffer.from([0xa0]), valid.subarray(1, 12), Buffer.from([1, 2, 3, 5])]), 'RTP_BAD_PADDING'],
  };
  it.each(Object.entries(cases))('rejects %s', (_name, [buf, code]) => {
    const pkt = new RtpPacket();
    pkt.sequenceNumber = 4242;
    expect(decodeRtp(buf, pkt)).toBe(code);
    expect(pkt.sequenceNumber).toBe(4242); // untouched on error
  });

  it('accepts padding that fills the whole payload', () => {
    const buf = Buffer.concat([Buffer.from([0xa0]), valid.subarray(1, 12), Buffer.from([0, 0, 0, 4])]);
    const pkt = new RtpPacket();
    expect(decodeRtp(buf, pkt)).toBeNull();
    expect(pkt.payload.length).toBe(0);
  });

  it('throws on programmer errors when encoding', () => {
    const h = { marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0 };
    expect(() => encodeRtpInto(h, Buffer.alloc(10), Buffer.alloc(12))).toThrow(RangeError);
    expect(() => encodeRtp({ ...h, payloadType: 128 }, Buffer.alloc(1))).toThrow(TypeError);
    expect(() => encodeRtp({ ...h, csrc: new Array(16).fill(1) }, Buffer.alloc(1))).toThrow(TypeError);
    expect(() => encodeRtp({ ...h, extensionPayload: Buffer.alloc(3) }, Buffer.alloc(1))).toThrow(TypeError);
  });
});

describe('classifyPacket (RFC 7983, RFC 5761)', () => {
  it.each([
    ['RTP PCMU', [0x80, 0x00], 'rtp'],
    ['RTP marker + PT 101', [0x80, 0xe5], 'rtp'],
    ['RTCP SR', [0x80, 200], 'rtcp'],
    ['RTCP RR with count', [0x81, 201], 'rtcp'],
    ['RTCP range low edge', [0x80, 192], 'rtcp'],
    ['RTCP range high edge', [0x80, 223], 'rtcp'],
    ['just above RTCP range', [0x80, 224], 'rtp'],
    ['STUN', [0x00, 0x01], 'stun'],
    ['ZRTP', [0x10, 0x00], 'zrtp'],
    ['DTLS', [0x16, 0xfe], 'dtls'],
    ['TURN channel', [0x40, 0x00], 'turn'],
    ['garbage', [0xff, 0x00], 'unknown'],
    ['one byte RTP-ish', [0x80], 'unknown'],
  ])('%s', (_name, bytes, kind) => {
    expect(classifyPacket(Buffer.from(bytes as number[]))).toBe(kind);
  });
  it('empty is unknown', () => {
    expect(classifyPacket(Buffer.alloc(0))).toBe('unknown');
  });
});

import fc from 'fast-check';
import { classifyPacket, decodeRtcp, decodeRtp, encodeRtp, RtpPacket } from '../../../src/rtp';

describe('RTP/RTCP decoders never throw', () => {
  const pkt = new RtpPacket();

  it('decodeRtp on arbitrary bytes returns null or a code, with in-bounds views', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const err = decodeRtp(buf, pkt);
        if (err === null) {
          expect(pkt.payload.byteOffset + pkt.payload.length).toBeLessThanOrEqual(buf.byteOffset + buf.length);
          expect(pkt.version).toBe(2);
        } else {
          expect(err).toMatch(/^RTP_/);
        }
        classifyPacket(buf);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodeRtp on mutated valid packets never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (payload, pos, byte) => {
        const buf = encodeRtp({ marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3 }, payload);
        buf[pos % buf.length] = byte;
        decodeRtp(buf, pkt);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodeRtcp on arbitrary bytes returns a result', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const res = decodeRtcp(Buffer.from(bytes));
        expect(typeof res.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});

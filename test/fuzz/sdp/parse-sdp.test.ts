import fc from 'fast-check';
import { createAnswer, parseSdp, serializeSdp } from '../../../src/sdp';

const VALID = 'v=0\r\no=- 1 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n';

const line = fc.tuple(fc.constantFrom('v', 'o', 's', 'c', 't', 'm', 'a', 'b', 'r', 'x', 'i'), fc.string({ maxLength: 40 })).map(([t, v]) => `${t}=${v}`);

describe('parseSdp never throws', () => {
  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        const res = parseSdp(s);
        expect(typeof res.ok).toBe('boolean');
      }),
      { numRuns: 1000 },
    );
  });

  it('on SDP-shaped line soups, and re-parses what it serializes', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
        const res = parseSdp(['v=0', 'o=- 1 1 IN IP4 h', 'c=IN IP4 1.2.3.4', ...lines].join('\r\n'));
        if (res.ok) {
          const again = parseSdp(serializeSdp(res.sdp));
          expect(again.ok).toBe(true);
          createAnswer(res.sdp, { address: '198.51.100.1', port: 20000 });
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('on truncated and byte-mutated valid SDP', () => {
    fc.assert(
      fc.property(fc.nat(VALID.length), fc.nat(VALID.length - 1), fc.integer({ min: 0, max: 255 }), (cut, pos, byte) => {
        const buf = Buffer.from(VALID.slice(0, cut));
        if (buf.length > 0) buf[pos % buf.length] = byte;
        const res = parseSdp(buf);
        if (res.ok) createAnswer(res.sdp, { address: '198.51.100.1', port: 20000 });
      }),
      { numRuns: 1000 },
    );
  });
});

import { SipParseErrorCode, frameStreamMessage, parseMessage } from '../../../../src/sip/message';

const MSG =
  'OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@example.com>\r\n' +
  'Call-ID: c\r\nCSeq: 1 OPTIONS\r\nl: 5\r\n\r\nhello';

describe('frameStreamMessage (RFC 3261 §18.3)', () => {
  it('frames consecutive messages by Content-Length', () => {
    const buf = Buffer.from(MSG + MSG.replace('l: 5', 'Content-Length:  5'));
    const a = frameStreamMessage(buf);
    expect(a).toEqual({ kind: 'message', length: Buffer.byteLength(MSG) });
    if (a.kind !== 'message') return;
    const b = frameStreamMessage(buf, a.length);
    expect(b.kind).toBe('message');
    const parsed = parseMessage(buf.subarray(0, a.length));
    expect(parsed.ok).toBe(true);
  });

  it('reports keep-alive CRLFs (RFC 5626 §3.5.1) separately', () => {
    expect(frameStreamMessage(Buffer.from('\r\n\r\n' + MSG))).toEqual({ kind: 'keepalive', length: 4 });
  });

  it('asks for more bytes on every proper prefix', () => {
    const buf = Buffer.from(MSG);
    for (let n = 0; n < buf.length; n++) {
      expect([n, frameStreamMessage(buf.subarray(0, n)).kind]).toEqual([n, 'partial']);
    }
  });

  it('is invalid without Content-Length, with a bad one, or beyond the size limit', () => {
    const noCl = frameStreamMessage(Buffer.from(MSG.replace('l: 5\r\n', '')));
    expect(noCl.kind === 'invalid' && noCl.error.code).toBe(SipParseErrorCode.MISSING_HEADER);
    const bad = frameStreamMessage(Buffer.from(MSG.replace('l: 5', 'l: five')));
    expect(bad.kind === 'invalid' && bad.error.code).toBe(SipParseErrorCode.CONTENT_LENGTH);
    const big = frameStreamMessage(Buffer.from(MSG.replace('l: 5', 'l: 999999')), 0, 65536);
    expect(big.kind === 'invalid' && big.error.code).toBe(SipParseErrorCode.TOO_LARGE);
    const endless = frameStreamMessage(Buffer.from('OPTIONS sip:b SIP/2.0\r\nX: ' + 'a'.repeat(2000)), 0, 1024);
    expect(endless.kind === 'invalid' && endless.error.code).toBe(SipParseErrorCode.TOO_LARGE);
  });
});

import { createResponse, parseMessage, type SipRequest } from '../../../../src/sip/message';

const RAW =
  'BYE sip:bob@192.0.2.4 SIP/2.0\r\n' +
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds7\r\n' +
  'Max-Forwards: 70\r\n' +
  'From: <sip:alice@example.com>;tag=1928301774\r\n' +
  'To: <sip:bob@example.com>;tag=a6c85cf\r\n' +
  'Call-ID: a84b4c76e66710@pc33.example.com\r\n' +
  'CSeq: 231 BYE\r\n' +
  'Content-Length: 0\r\n\r\n';

function request(raw = RAW): SipRequest {
  const r = parseMessage(Buffer.from(raw, 'latin1'), { datagram: true });
  if (!r.ok) throw r.error;
  return r.msg as SipRequest;
}

describe('wire forms kept for retransmission', () => {
  it('receivedText gives the received bytes as latin1 while the message is unchanged', () => {
    const req = request('\r\n' + RAW + 'surplus');
    const text = req.receivedText();
    expect(text).toBe(RAW);
    expect(Buffer.from(text as string, 'latin1').equals(req.serialize())).toBe(true);
    req.setHeader('Max-Forwards', '69');
    expect(req.receivedText()).toBeUndefined();
  });

  it('receivedText keeps non-ASCII bytes exactly', () => {
    const raw = RAW.replace('From: <sip', 'From: "J\u00c3\u00bcrgen" <sip');
    const bytes = Buffer.from(raw, 'latin1');
    const r = parseMessage(bytes, { datagram: true });
    if (!r.ok) throw r.error;
    expect(Buffer.from(r.msg.receivedText() as string, 'latin1').equals(bytes)).toBe(true);
  });

  it('a response serializes once until it changes: header, body and start-line edits all invalidate', () => {
    const res = createResponse(request(), 200, undefined, { toTag: 'x' });
    const first = res.serialize();
    expect(res.serialize()).toBe(first);
    expect(res.serializeLatin1()).toBe(first.toString('latin1'));
    res.appendHeader('X-A', '1');
    const second = res.serialize();
    expect(second.toString('latin1')).toContain('X-A: 1\r\n');
    res.reason = 'Fine';
    expect(res.serialize().toString('latin1').startsWith('SIP/2.0 200 Fine\r\n')).toBe(true);
    res.body = Buffer.from('hello');
    expect(res.serialize().toString('latin1').endsWith('Content-Length: 5\r\n\r\nhello')).toBe(true);
    res.status = 202;
    expect(res.serialize().toString('latin1').startsWith('SIP/2.0 202 Fine\r\n')).toBe(true);
  });

  it('a request built by the API is serialized afresh each time (in-place URI edits show)', () => {
    const req = request();
    req.setHeader('Max-Forwards', '10');
    const a = req.serialize();
    req.uri.host = 'example.org';
    expect(req.serialize().toString('latin1').startsWith('BYE sip:bob@example.org SIP/2.0\r\n')).toBe(true);
    expect(a.toString('latin1').startsWith('BYE sip:bob@192.0.2.4 SIP/2.0\r\n')).toBe(true);
  });

  it('typed values are built on first access from what the parser only checked', () => {
    const req = request();
    expect(req.branch).toBe('z9hG4bKnashds7');
    expect(req.fromTag).toBe('1928301774');
    expect(req.toTag).toBe('a6c85cf');
    expect(req.via).toBe(req.vias[0]);
    expect(req.uri.host).toBe('192.0.2.4');
    expect(req.body.length).toBe(0);
    req.setHeader('Via', 'SIP/2.0/TCP h;branch=z9hG4bKnew');
    expect(req.branch).toBe('z9hG4bKnew');
    req.setHeader('From', '<sip:a@b>;tag=new');
    expect(req.fromTag).toBe('new');
    req.removeHeader('To');
    expect(() => req.toTag).toThrow('missing To'); // no stale tag from the parser's check
  });
});

import { SipHeaderError, SipRequest, createRequest, formatVia, parseMessage, parseUri } from '../../../../src/sip/message';
import type { SipMessage } from '../../../../src/sip/message';

const INVITE =
  'INVITE sip:bob@biloxi.example.com SIP/2.0\r\n' +
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8, SIP/2.0/UDP p1.example.com;branch=z9hG4bK1\r\n' +
  'v: SIP/2.0/UDP p2.example.com;branch=z9hG4bK2\r\n' +
  'Max-Forwards: 70\r\n' +
  'To: Bob <sip:bob@biloxi.example.com>\r\n' +
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n' +
  'Call-ID: a84b4c76e66710\r\n' +
  'CSeq: 314159 INVITE\r\n' +
  'Route: <sip:r1.example.com;lr>, <sip:r2.example.com;lr>\r\n' +
  'Record-Route: <sip:rr.example.com;lr>\r\n' +
  'Contact: <sip:alice@pc33.atlanta.example.com>\r\n' +
  'Subject: first\r\n  second\r\n' +
  'X-Bin: caf\xe9\r\n' +
  'Content-Type: application/sdp\r\n' +
  'Content-Length: 4\r\n\r\nv=0\n';

function parse(text: string | Buffer = INVITE): SipRequest {
  const r = parseMessage(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  if (!r.ok) throw new Error(r.error.message);
  if (!(r.msg instanceof SipRequest)) throw new Error('not a request');
  return r.msg;
}

/** Everything a layer above reads, as plain data, for deep comparison. */
function view(m: SipMessage): unknown {
  return {
    vias: m.vias,
    from: m.from,
    to: m.to,
    callId: m.callId,
    cseq: m.cseq,
    contacts: m.contacts,
    routes: m.routes,
    recordRoutes: m.recordRoutes,
    maxForwards: m.maxForwards,
    contentType: m.contentType,
    subject: m.getHeader('subject'),
    body: m.body.toString('latin1'),
    uri: m instanceof SipRequest ? m.uri : undefined,
  };
}

describe('SipMessage header access', () => {
  it('getHeader returns the first field, getHeaders every value split on commas for list headers', () => {
    const m = parse();
    expect(m.getHeader('VIA')).toBe('SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8, SIP/2.0/UDP p1.example.com;branch=z9hG4bK1');
    expect(m.getHeaders('v')).toHaveLength(3);
    expect(m.vias.map((v) => v.branch)).toEqual(['z9hG4bKnashds8', 'z9hG4bK1', 'z9hG4bK2']);
    expect(m.hasHeader('x-bin')).toBe(true);
    expect(m.hasHeader('x-missing')).toBe(false);
    expect(m.getHeaders('x-missing')).toEqual([]);
  });

  it('removeFirstHeader pops one value out of a multi-value field', () => {
    const m = parse();
    m.removeFirstHeader('Via');
    expect(m.vias.map((v) => v.host)).toEqual(['p1.example.com', 'p2.example.com']);
    m.removeFirstHeader('Via');
    m.removeFirstHeader('Route');
    expect(m.vias.map((v) => v.host)).toEqual(['p2.example.com']);
    expect(m.routes.map((r) => r.uri.host)).toEqual(['r2.example.com']);
  });

  it('prependHeader puts the value before the first of its name, and the cache follows', () => {
    const m = parse();
    expect(m.via.host).toBe('pc33.atlanta.example.com');
    m.prependHeader('Via', formatVia({ transport: 'TCP', host: 'proxy.example.com', branch: 'z9hG4bKp', params: new Map() }));
    expect(m.via.host).toBe('proxy.example.com');
    expect(m.vias).toHaveLength(4);
    m.prependHeader('X-New', 'a');
    expect(m.serialize().toString('latin1').split('\r\n')[1]).toBe('X-New: a');
  });

  it('setHeader replaces all values in place; appendHeader adds at the end; removeHeader drops all', () => {
    const m = parse();
    m.setHeader('max-forwards', '69');
    expect(m.maxForwards).toBe(69);
    m.setHeader('Via', ['SIP/2.0/UDP a.example.com;branch=z9hG4bKa', 'SIP/2.0/UDP b.example.com;branch=z9hG4bKb']);
    expect(m.vias.map((v) => v.host)).toEqual(['a.example.com', 'b.example.com']);
    m.appendHeader('Record-Route', '<sip:rr2.example.com;lr>');
    expect(m.recordRoutes.map((r) => r.uri.host)).toEqual(['rr.example.com', 'rr2.example.com']);
    m.removeHeader('Record-Route');
    expect(m.recordRoutes).toEqual([]);
    m.removeHeader('Max-Forwards');
    expect(m.maxForwards).toBeUndefined();
    const lines = m.serialize().toString('latin1').split('\r\n');
    expect(lines[1]).toBe('Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa');
    expect(lines[2]).toBe('Via: SIP/2.0/UDP b.example.com;branch=z9hG4bKb');
  });

  it('typed getters re-parse after changes and throw SipHeaderError on bad or missing values', () => {
    const m = parse();
    expect(m.fromTag).toBe('1928301774');
    m.setHeader('From', '<sip:x@y>;tag=new');
    expect(m.fromTag).toBe('new');
    m.setHeader('To', 'garbage <');
    expect(() => m.to).toThrow(SipHeaderError);
    m.removeHeader('Call-ID');
    expect(() => m.callId).toThrow('missing Call-ID header');
    m.setHeader('CSeq', 'x');
    expect(() => m.cseq).toThrow('malformed CSeq header');
    m.removeHeader('Via');
    expect(m.vias).toEqual([]);
    expect(() => m.via).toThrow(SipHeaderError);
  });

  it('strips line breaks from values given to the API (no header injection)', () => {
    const m = parse();
    m.setHeader('Subject', 'a\r\nVia: SIP/2.0/UDP evil');
    expect(m.getHeader('Subject')).toBe('a Via: SIP/2.0/UDP evil');
    expect(m.getHeaders('Via')).toHaveLength(3);
  });
});

describe('SipMessage serialize', () => {
  it('returns the identical bytes for an unmodified parsed message, after reads too', () => {
    const buf = Buffer.from(INVITE, 'latin1');
    const m = parse(buf);
    void view(m);
    expect(m.serialize().equals(buf)).toBe(true);
  });

  it('writes the canonical form once modified: long names, unfolded, Content-Length fixed, other bytes kept', () => {
    const m = parse();
    m.body = Buffer.from('v=0\r\no=x\r\n');
    const out = m.serialize().toString('latin1');
    expect(out).toContain('\r\nVia: SIP/2.0/UDP p2.example.com;branch=z9hG4bK2\r\n');
    expect(out).toContain('\r\nSubject: first second\r\n');
    expect(out).toContain('\r\nX-Bin: caf\xe9\r\n');
    expect(out.match(/Content-Length/g)).toHaveLength(1);
    expect(out.endsWith('Content-Length: 10\r\n\r\nv=0\r\no=x\r\n')).toBe(true);
  });

  it('detects Request-URI changes made in place or by assignment', () => {
    const m = parse();
    m.uri.user = 'carol';
    expect(m.serialize().toString('latin1').startsWith('INVITE sip:carol@biloxi.example.com SIP/2.0\r\n')).toBe(true);
    const n = parse();
    n.uri = parseUri('sip:dave@example.org')!;
    n.method = 'OPTIONS';
    expect(n.serialize().toString('latin1').startsWith('OPTIONS sip:dave@example.org SIP/2.0\r\n')).toBe(true);
  });

  it('detects status and reason changes on responses', () => {
    const r = parseMessage(Buffer.from('SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n'));
    if (!r.ok || r.msg.isRequest) throw new Error('parse');
    r.msg.status = 183;
    r.msg.reason = 'Session Progress';
    expect(r.msg.serialize().toString().startsWith('SIP/2.0 183 Session Progress\r\n')).toBe(true);
  });

  it('roundtrip: parse -> modify -> serialize -> parse gives the same typed view', () => {
    const m = parse();
    m.setHeader('Max-Forwards', '69');
    m.prependHeader('Record-Route', '<sip:me.example.com;lr>');
    const again = parse(m.serialize());
    expect(view(again)).toEqual(view(m));
    // and serializing the re-parsed (unmodified) message is stable
    expect(again.serialize().equals(m.serialize())).toBe(true);
  });

  it('a constructed request serializes canonically with Content-Length', () => {
    const req = createRequest({
      method: 'OPTIONS',
      uri: 'sip:bob@example.com',
      headers: [
        ['Via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKq'],
        ['Max-Forwards', '70'],
        ['From', '<sip:alice@example.com>;tag=a'],
        ['To', '<sip:bob@example.com>'],
        ['Call-ID', 'c1'],
        ['CSeq', '1 OPTIONS'],
      ],
    });
    const text = req.serialize().toString();
    expect(text).toBe(
      'OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKq\r\nMax-Forwards: 70\r\n' +
        'From: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
    );
    const back = parse(req.serialize());
    expect(view(back)).toEqual(view(req));
  });
});

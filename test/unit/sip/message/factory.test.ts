import {
  BRANCH_MAGIC_COOKIE,
  SipRequest,
  buildErrorResponse,
  createRequest,
  createResponse,
  generateBranch,
  generateCallId,
  generateTag,
  isValidCallId,
  parseMessage,
  reasonPhrase,
  unsupportedRequire,
} from '../../../../src/sip/message';

function req(extra = '', startLine = 'INVITE sip:bob@example.com SIP/2.0', cseq = '1 INVITE'): SipRequest {
  const text =
    `${startLine}\r\n` +
    'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa;rport\r\n' +
    'Via: SIP/2.0/UDP b.example.com;branch=z9hG4bKb\r\n' +
    'From: Alice <sip:alice@example.com>;tag=ft\r\n' +
    'To: Bob <sip:bob@example.com>\r\n' +
    'Call-ID: cid-1\r\n' +
    `CSeq: ${cseq}\r\n` +
    'Max-Forwards: 70\r\n' +
    extra +
    'Content-Length: 0\r\n\r\n';
  const r = parseMessage(Buffer.from(text));
  if (!r.ok || !(r.msg instanceof SipRequest)) throw new Error('parse');
  return r.msg;
}

describe('createResponse (RFC 3261 §8.2.6)', () => {
  it('copies Vias in order, From, To, Call-ID, CSeq and adds the To tag', () => {
    const rq = req();
    const rs = createResponse(rq, 180, undefined, { toTag: 'tt' });
    expect([rs.status, rs.reason]).toEqual([180, 'Ringing']);
    expect(rs.getHeaders('Via')).toEqual(rq.getHeaders('Via'));
    expect(rs.getHeader('From')).toBe(rq.getHeader('From'));
    expect(rs.toTag).toBe('tt');
    expect(rs.callId).toBe('cid-1');
    expect(rs.cseq).toEqual({ seq: 1, method: 'INVITE' });
    expect(rs.hasHeader('Max-Forwards')).toBe(false);
    const back = parseMessage(rs.serialize());
    expect(back.ok).toBe(true);
    if (back.ok) expect(back.msg.toTag).toBe('tt');
  });

  it('keeps an existing To tag', () => {
    const rq = req().constructor === SipRequest ? req() : req();
    rq.setHeader('To', '<sip:bob@example.com>;tag=existing');
    expect(createResponse(rq, 200, 'OK', { toTag: 'new' }).toTag).toBe('existing');
  });

  it('copies Timestamp on 100 only (§8.2.6.1)', () => {
    const rq = req('Timestamp: 54\r\n');
    expect(createResponse(rq, 100).getHeader('Timestamp')).toBe('54');
    expect(createResponse(rq, 200).hasHeader('Timestamp')).toBe(false);
  });

  it('adds a body with its type and length, and extra headers', () => {
    const rs = createResponse(req(), 200, 'OK', { body: Buffer.from('v=0\r\n'), contentType: 'application/sdp', headers: [['Contact', '<sip:me@h>'], ['Content-Length', '99']] });
    const text = rs.serialize().toString();
    expect(text).toContain('Contact: <sip:me@h>\r\n');
    expect(text).toContain('Content-Type: application/sdp\r\n');
    expect(text.endsWith('Content-Length: 5\r\n\r\nv=0\r\n')).toBe(true);
    expect(createResponse(req(), 200).serialize().toString()).toContain('Content-Length: 0\r\n');
  });
});

describe('createRequest', () => {
  it('builds from a URI string, replacing a Content-Length and adding Content-Type', () => {
    const r = createRequest({
      method: 'MESSAGE',
      uri: 'sip:bob@example.com',
      headers: [['Via', 'SIP/2.0/UDP h;branch=z9hG4bK1'], ['Content-Length', '1']],
      body: Buffer.from('hello'),
      contentType: 'text/plain',
    });
    expect(r.uri.user).toBe('bob');
    expect(r.getHeaders('Content-Length')).toEqual(['5']);
    expect(r.contentType).toBe('text/plain');
    expect(r.serialize().toString().endsWith('Content-Length: 5\r\n\r\nhello')).toBe(true);
  });

  it('rejects a bad URI string with TypeError', () => {
    expect(() => createRequest({ method: 'OPTIONS', uri: 'not a uri', headers: [] })).toThrow(TypeError);
  });
});

describe('buildErrorResponse', () => {
  it('answers a malformed request with the error status and reason naming the header', () => {
    const text = 'OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h.example.com;branch=z9hG4bKz\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 999\r\nContent-Length: 0\r\n\r\n';
    const r = parseMessage(Buffer.from(text));
    if (r.ok) throw new Error('expected error');
    const rs = buildErrorResponse(r.error)!;
    expect([rs.status, rs.reason]).toEqual([400, 'Bad Request (Malformed Max-Forwards)']);
    expect(rs.toTag).toBeDefined();
    expect(rs.branch).toBe('z9hG4bKz');
    expect(buildErrorResponse(r.error, 483, 'Too Many Hops')!.status).toBe(483);
  });

  it('returns undefined when nothing can be answered', () => {
    const r = parseMessage(Buffer.from('garbage\r\n\r\n'));
    if (r.ok) throw new Error('expected error');
    expect(buildErrorResponse(r.error)).toBeUndefined();
  });
});

describe('reasonPhrase', () => {
  it.each([
    [100, 'Trying'], [180, 'Ringing'], [200, 'OK'], [302, 'Moved Temporarily'], [404, 'Not Found'], [416, 'Unsupported URI Scheme'],
    [420, 'Bad Extension'], [481, 'Call/Transaction Does Not Exist'], [482, 'Loop Detected'], [483, 'Too Many Hops'], [487, 'Request Terminated'],
    [501, 'Not Implemented'], [505, 'Version Not Supported'], [603, 'Decline'], [499, 'Client Error'], [599, 'Server Error'],
  ])('%i -> %s', (code, text) => {
    expect(reasonPhrase(code)).toBe(text);
  });
});

describe('identifiers', () => {
  it('branches carry the magic cookie and are unique', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10000; i++) {
      const b = generateBranch();
      expect(b.startsWith(BRANCH_MAGIC_COOKIE)).toBe(true);
      seen.add(b);
    }
    expect(seen.size).toBe(10000);
  });
  it('tags are unique tokens; Call-IDs are valid words', () => {
    const tags = new Set(Array.from({ length: 5000 }, () => generateTag()));
    expect(tags.size).toBe(5000);
    for (const t of tags) expect(t).toMatch(/^[A-Za-z0-9.-]+$/);
    expect(isValidCallId(generateCallId())).toBe(true);
    expect(generateCallId('host.example.com')).toMatch(/@host\.example\.com$/);
  });
});

describe('unsupportedRequire (RFC 3261 §8.2.2.3)', () => {
  it('lists each unsupported option tag once, in order', () => {
    const r = req('Require: 100rel, foo\r\nRequire: bar, foo\r\nProxy-Require: baz\r\n');
    expect(unsupportedRequire(r, new Set(['100rel', 'timer']))).toEqual(['foo', 'bar']);
    expect(unsupportedRequire(req(), new Set())).toEqual([]);
  });
});

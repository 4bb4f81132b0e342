import {
  SipParseError,
  SipParseErrorCode,
  SipRequest,
  SipResponse,
  parseMessage,
} from '../../../../src/sip/message';
import type { ParseOptions, SipParseErrorCodeValue } from '../../../../src/sip/message';

const CRLF = '\r\n';

/** A valid OPTIONS with overridable lines; `null` removes a header. */
function request(overrides: Record<string, string | null> = {}, startLine = 'OPTIONS sip:bob@example.com SIP/2.0', body = ''): string {
  const headers: Record<string, string | null> = {
    Via: 'SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds',
    'Max-Forwards': '70',
    To: 'Bob <sip:bob@example.com>',
    From: 'Alice <sip:alice@example.com>;tag=1928301774',
    'Call-ID': 'a84b4c76e66710@pc33.example.com',
    CSeq: '63104 OPTIONS',
    'Content-Length': String(Buffer.byteLength(body)),
    ...overrides,
  };
  let text = startLine + CRLF;
  for (const [k, v] of Object.entries(headers)) if (v !== null) text += `${k}: ${v}${CRLF}`;
  return text + CRLF + body;
}

const RESPONSE =
  'SIP/2.0 200 OK\r\n' +
  'Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1\r\n' +
  'To: Bob <sip:bob@example.com>;tag=a6c85cf\r\n' +
  'From: Alice <sip:alice@example.com>;tag=1928301774\r\n' +
  'Call-ID: a84b4c76e66710@pc33.example.com\r\n' +
  'CSeq: 314159 INVITE\r\n' +
  'Content-Length: 0\r\n\r\n';

function parseErr(text: string | Buffer, opts?: ParseOptions): SipParseError {
  const r = parseMessage(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, opts);
  if (r.ok) throw new Error('expected a parse error');
  return r.error;
}

function parseOk(text: string | Buffer, opts?: ParseOptions): SipRequest | SipResponse {
  const r = parseMessage(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, opts);
  if (!r.ok) throw new Error(`unexpected ${r.error.code}: ${r.error.message}`);
  return r.msg;
}

interface ErrorCase {
  input: string | Buffer;
  opts?: ParseOptions;
  code: SipParseErrorCodeValue;
  header?: string;
  answerable?: boolean;
}

const ERROR_CASES: Record<string, ErrorCase> = {
  'empty buffer': { input: '', code: SipParseErrorCode.EMPTY },
  'only line breaks': { input: '\r\n\r\n', code: SipParseErrorCode.EMPTY },
  'larger than maxSize': { input: request(), opts: { maxSize: 100 }, code: SipParseErrorCode.TOO_LARGE },
  'larger than the 64 KiB default': {
    input: request({ 'X-Pad': 'a'.repeat(70000) }),
    code: SipParseErrorCode.TOO_LARGE,
  },
  'header line longer than maxLineLength': {
    input: request({ 'X-Long': 'a'.repeat(300) }),
    opts: { maxLineLength: 200 },
    code: SipParseErrorCode.LINE_TOO_LONG,
  },
  'start line longer than maxLineLength': {
    input: request({}, `OPTIONS sip:${'b'.repeat(300)}@example.com SIP/2.0`),
    opts: { maxLineLength: 200 },
    code: SipParseErrorCode.LINE_TOO_LONG,
  },
  'unterminated start line longer than the limit': {
    input: 'OPTIONS sip:' + 'x'.repeat(500),
    opts: { maxLineLength: 200 },
    code: SipParseErrorCode.LINE_TOO_LONG,
  },
  'more headers than maxHeaders': {
    input: request(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`X-H${i}`, 'v']))),
    opts: { maxHeaders: 10 },
    code: SipParseErrorCode.TOO_MANY_HEADERS,
  },
  'no empty line after headers': {
    input: request().slice(0, -2),
    code: SipParseErrorCode.INCOMPLETE,
  },
  'start line without line break': { input: 'OPTIONS sip:a@b SIP/2.0', code: SipParseErrorCode.INCOMPLETE },
  'stream body shorter than Content-Length': {
    input: request({ 'Content-Length': '10' }, undefined, 'abc'),
    code: SipParseErrorCode.INCOMPLETE,
    header: 'Content-Length',
  },
  'garbage start line': { input: '\u0001\u0002 hello\r\n\r\n', code: SipParseErrorCode.BAD_START_LINE },
  'request line without version': {
    input: request({}, 'OPTIONS sip:bob@example.com'),
    code: SipParseErrorCode.BAD_START_LINE,
    answerable: true,
  },
  'two spaces in request line': {
    input: request({}, 'OPTIONS  sip:bob@example.com SIP/2.0'),
    code: SipParseErrorCode.BAD_START_LINE,
    answerable: true,
  },
  'status code of 2 digits': { input: RESPONSE.replace('200 OK', '20 OK'), code: SipParseErrorCode.BAD_START_LINE },
  'status code 700': { input: RESPONSE.replace('200 OK', '700 Nope'), code: SipParseErrorCode.BAD_START_LINE },
  'request with SIP/3.0': {
    input: request({}, 'OPTIONS sip:bob@example.com SIP/3.0'),
    code: SipParseErrorCode.BAD_VERSION,
    answerable: true,
  },
  'response with SIP/1.0': { input: RESPONSE.replace('SIP/2.0 200', 'SIP/1.0 200'), code: SipParseErrorCode.BAD_VERSION },
  'request-URI not a URI': {
    input: request({}, 'OPTIONS bob@example.com SIP/2.0'),
    code: SipParseErrorCode.BAD_REQUEST_URI,
    answerable: true,
  },
  'request-URI with a bad port': {
    input: request({}, 'OPTIONS sip:bob@example.com:99999 SIP/2.0'),
    code: SipParseErrorCode.BAD_REQUEST_URI,
    answerable: true,
  },
  'malformed Via': { input: request({ Via: 'SIP/2.0/UDP' }), code: SipParseErrorCode.BAD_HEADER, header: 'Via', answerable: false },
  'malformed second Via': {
    input: request({ Via: 'SIP/2.0/UDP a.example.com;branch=z9hG4bK1, garbage' }),
    code: SipParseErrorCode.BAD_HEADER,
    header: 'Via',
    answerable: true,
  },
  'malformed From': { input: request({ From: 'Alice <sip:alice@example.com' }), code: SipParseErrorCode.BAD_HEADER, header: 'From', answerable: true },
  'malformed To': { input: request({ To: '"unterminated <sip:bob@example.com>' }), code: SipParseErrorCode.BAD_HEADER, header: 'To', answerable: true },
  'malformed Call-ID': { input: request({ 'Call-ID': 'a b' }), code: SipParseErrorCode.BAD_HEADER, header: 'Call-ID', answerable: true },
  'malformed CSeq': { input: request({ CSeq: 'OPTIONS 1' }), code: SipParseErrorCode.BAD_HEADER, header: 'CSeq', answerable: true },
  'CSeq of 2**31': { input: request({ CSeq: '2147483648 OPTIONS' }), code: SipParseErrorCode.BAD_HEADER, header: 'CSeq', answerable: true },
  'Max-Forwards above 255': { input: request({ 'Max-Forwards': '256' }), code: SipParseErrorCode.BAD_HEADER, header: 'Max-Forwards', answerable: true },
  'Max-Forwards not a number': { input: request({ 'Max-Forwards': 'ten' }), code: SipParseErrorCode.BAD_HEADER, header: 'Max-Forwards', answerable: true },
  'header line without colon': { input: request({}).replace('Max-Forwards: 70', 'Max-Forwards 70'), code: SipParseErrorCode.BAD_HEADER },
  'continuation before any header': {
    input: 'OPTIONS sip:bob@example.com SIP/2.0\r\n  folded\r\n' + request().split('\r\n').slice(1).join('\r\n'),
    code: SipParseErrorCode.BAD_HEADER,
  },
  'missing Via': { input: request({ Via: null }), code: SipParseErrorCode.MISSING_HEADER, header: 'Via', answerable: false },
  'missing From': { input: request({ From: null }), code: SipParseErrorCode.MISSING_HEADER, header: 'From', answerable: true },
  'missing To': { input: request({ To: null }), code: SipParseErrorCode.MISSING_HEADER, header: 'To', answerable: true },
  'missing Call-ID': { input: request({ 'Call-ID': null }), code: SipParseErrorCode.MISSING_HEADER, header: 'Call-ID', answerable: true },
  'missing CSeq': { input: request({ CSeq: null }), code: SipParseErrorCode.MISSING_HEADER, header: 'CSeq', answerable: true },
  'missing Content-Length on a stream': {
    input: request({ 'Content-Length': null }),
    code: SipParseErrorCode.MISSING_HEADER,
    header: 'Content-Length',
    answerable: true,
  },
  'two Call-IDs': {
    input: request({ 'Call-ID': 'one@x\r\ni: two@x' }),
    code: SipParseErrorCode.DUPLICATE_HEADER,
    header: 'Call-ID',
    answerable: true,
  },
  'two Max-Forwards': {
    input: request({ 'Max-Forwards': '70\r\nMax-Forwards: 69' }),
    code: SipParseErrorCode.DUPLICATE_HEADER,
    header: 'Max-Forwards',
    answerable: true,
  },
  'CSeq method differs': { input: request({ CSeq: '1 INVITE' }), code: SipParseErrorCode.CSEQ_MISMATCH, header: 'CSeq', answerable: true },
  'negative Content-Length': { input: request({ 'Content-Length': '-1' }), code: SipParseErrorCode.CONTENT_LENGTH, header: 'Content-Length', answerable: true },
  'conflicting Content-Length': {
    input: request({ 'Content-Length': '0\r\nl: 5' }, undefined, ''),
    code: SipParseErrorCode.CONTENT_LENGTH,
    header: 'Content-Length',
    answerable: true,
  },
  'Content-Length larger than the datagram': {
    input: request({ 'Content-Length': '100' }, undefined, 'short'),
    opts: { datagram: true },
    code: SipParseErrorCode.CONTENT_LENGTH,
    header: 'Content-Length',
    answerable: true,
  },
  'not a Buffer (internal failure is reported, not thrown)': {
    input: null as unknown as Buffer,
    code: SipParseErrorCode.INTERNAL,
  },
};

describe('parseMessage error codes', () => {
  it('covers every code', () => {
    const covered = new Set(Object.values(ERROR_CASES).map((c) => c.code));
    expect([...covered].sort()).toEqual(Object.values(SipParseErrorCode).sort());
  });

  for (const [name, c] of Object.entries(ERROR_CASES)) {
    it(`${name} -> ${c.code}`, () => {
      const input = c.input === null ? (null as unknown as Buffer) : c.input;
      const err = parseErr(input as string | Buffer, c.opts);
      expect(err).toBeInstanceOf(SipParseError);
      expect(err.code).toBe(c.code);
      expect(err.offset).toBeGreaterThanOrEqual(0);
      if (c.header !== undefined) expect(err.header).toBe(c.header);
      if (c.answerable !== undefined) expect(err.request !== undefined).toBe(c.answerable);
    });
  }

  it('names the header in the reason phrase for the 400', () => {
    expect(parseErr(request({ CSeq: 'x' })).reason).toBe('Bad Request (Malformed CSeq)');
    expect(parseErr(request({ 'Call-ID': null })).reason).toBe('Bad Request (Missing Call-ID)');
    expect(parseErr(request({ CSeq: '1 INVITE' })).reason).toBe('Bad Request (CSeq Method Mismatch)');
    const v = parseErr(request({}, 'OPTIONS sip:bob@example.com SIP/3.0'));
    expect([v.status, v.reason]).toEqual([505, 'Version Not Supported']);
  });
});

describe('parseMessage accepts', () => {
  it('a request, with typed essentials cached', () => {
    const m = parseOk(request()) as SipRequest;
    expect(m.isRequest).toBe(true);
    expect(m.method).toBe('OPTIONS');
    expect(m.uri.user).toBe('bob');
    expect(m.via.host).toBe('pc33.example.com');
    expect(m.branch).toBe('z9hG4bK776asdhds');
    expect(m.fromTag).toBe('1928301774');
    expect(m.toTag).toBeUndefined();
    expect(m.callId).toBe('a84b4c76e66710@pc33.example.com');
    expect(m.cseq).toEqual({ seq: 63104, method: 'OPTIONS' });
    expect(m.maxForwards).toBe(70);
  });

  it('a response', () => {
    const m = parseOk(RESPONSE) as SipResponse;
    expect(m.isRequest).toBe(false);
    expect([m.status, m.reason]).toEqual([200, 'OK']);
    expect(m.toTag).toBe('a6c85cf');
    expect(m.via.received).toBe('192.0.2.1');
  });

  it('compact forms and any letter case for names', () => {
    const text =
      'INVITE sip:bob@example.com SIP/2.0\r\n' +
      'v: SIP/2.0/TCP h.example.com;branch=z9hG4bKx\r\n' +
      'f: <sip:a@example.com>;tag=1\r\n' +
      't: <sip:bob@example.com>\r\n' +
      'I: cid@h\r\n' +
      'cSeQ: 1 INVITE\r\n' +
      'm: <sip:a@h.example.com>\r\n' +
      'k: timer\r\n' +
      'c: application/sdp\r\n' +
      'x: 1800\r\n' +
      'o: refer\r\n' +
      'r: <sip:c@example.com>\r\n' +
      'b: <sip:d@example.com>\r\n' +
      'u: presence\r\n' +
      's: hi\r\n' +
      'e: gzip\r\n' +
      'j: *;audio\r\n' +
      'a: *;video\r\n' +
      'd: proxy\r\n' +
      'y: abc\r\n' +
      'l: 4\r\n\r\nbody';
    const m = parseOk(text);
    expect(m.callId).toBe('cid@h');
    expect(m.contacts[0].uri.host).toBe('h.example.com');
    const expected: Array<[string, string]> = [
      ['Supported', 'timer'],
      ['Content-Type', 'application/sdp'],
      ['Session-Expires', '1800'],
      ['Event', 'refer'],
      ['Refer-To', '<sip:c@example.com>'],
      ['Referred-By', '<sip:d@example.com>'],
      ['Allow-Events', 'presence'],
      ['Subject', 'hi'],
      ['Content-Encoding', 'gzip'],
      ['Reject-Contact', '*;audio'],
      ['Accept-Contact', '*;video'],
      ['Request-Disposition', 'proxy'],
      ['Identity', 'abc'],
      ['Content-Length', '4'],
      ['CONTACT', '<sip:a@h.example.com>'],
    ];
    for (const [name, value] of expected) expect([name, m.getHeader(name)]).toEqual([name, value]);
    expect(m.body.toString()).toBe('body');
  });

  it('folded header values (LWS = CRLF + SP/HT) as a single space', () => {
    const m = parseOk(request({ Subject: 'first\r\n second\r\n\tthird', 'X-Empty-Then-Fold': '\r\n value' }));
    expect(m.getHeader('Subject')).toBe('first second third');
    expect(m.getHeader('x-empty-then-fold')).toBe('value');
  });

  it('bare LF line ends and CRLFs before the start line (RFC 3261 §7.5)', () => {
    const m = parseOk('\r\n\r\n' + request().replace(/\r\n/g, '\n'));
    expect(m.callId).toBe('a84b4c76e66710@pc33.example.com');
  });

  it('a malformed non-essential header stays raw', () => {
    const m = parseOk(request({ Contact: '<<<not a contact', Expires: 'soon', Date: 'yesterday' }));
    expect(m.getHeader('Contact')).toBe('<<<not a contact');
    expect(() => m.contacts).toThrow('malformed Contact header');
    expect(m.getHeader('Expires')).toBe('soon');
  });

  it('repeated and comma-separated list headers, not splitting inside quotes or <>', () => {
    const m = parseOk(
      request({
        Contact: '"Doe, John" <sip:j,k@a.example.com;p=1>, <sip:k@b.example.com>\r\nContact: sip:l@c.example.com',
        Route: '<sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
        Allow: 'INVITE, ACK,BYE',
        Authorization: 'Digest username="a", realm="b"',
      }),
    );
    expect(m.getHeaders('Contact')).toEqual(['"Doe, John" <sip:j,k@a.example.com;p=1>', '<sip:k@b.example.com>', 'sip:l@c.example.com']);
    expect(m.contacts.map((c) => c.displayName)).toEqual(['Doe, John', undefined, undefined]);
    expect(m.routes.map((r) => r.uri.host)).toEqual(['p1.example.com', 'p2.example.com']);
    expect(m.getHeaders('allow')).toEqual(['INVITE', 'ACK', 'BYE']);
    // Authorization is not a list header: its commas separate auth-params.
    expect(m.getHeaders('Authorization')).toEqual(['Digest username="a", realm="b"']);
  });

  it('Contact: * sets contactStar', () => {
    const m = parseOk(request({ Contact: '*', Expires: '0' }, 'REGISTER sip:example.com SIP/2.0').replace('63104 OPTIONS', '1 REGISTER'));
    expect(m.contacts).toEqual([]);
    expect(m.contactStar).toBe(true);
  });

  it('binary bodies byte for byte, honouring Content-Length', () => {
    const body = Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10, 13, 10, 0x80]);
    const head = Buffer.from(request({ 'Content-Length': String(body.length) }), 'utf8');
    const m = parseOk(Buffer.concat([head, body]));
    expect(m.body.equals(body)).toBe(true);
  });

  it('datagram: bytes past Content-Length are dropped; without Content-Length the body is the rest', () => {
    const m = parseOk(request({ 'Content-Length': '3' }, undefined, 'abcdef'), { datagram: true });
    expect(m.body.toString()).toBe('abc');
    expect(m.serialize().toString().endsWith('\r\n\r\nabc')).toBe(true);
    const n = parseOk(request({ 'Content-Length': null }, undefined, 'rest of it'), { datagram: true });
    expect(n.body.toString()).toBe('rest of it');
  });

  it('UTF-8 in display names and reason phrases', () => {
    const m = parseOk(request({ From: '"Zoë Ünïcode" <sip:z@example.com>;tag=9' }));
    expect(m.from.displayName).toBe('Zoë Ünïcode');
    const r = parseOk(RESPONSE.replace('200 OK', '200 Très bien')) as SipResponse;
    expect(r.reason).toBe('Très bien');
  });

  it('a status line without reason phrase', () => {
    const r = parseOk(RESPONSE.replace('200 OK', '180')) as SipResponse;
    expect([r.status, r.reason]).toEqual([180, '']);
  });

  it('a tel Request-URI and an IPv6 Request-URI', () => {
    const t = parseOk(request({}, 'OPTIONS tel:+1-201-555-0123;phone-context=example.com SIP/2.0')) as SipRequest;
    expect([t.uri.scheme, t.uri.user, t.uri.params.get('phone-context')]).toEqual(['tel', '+1-201-555-0123', 'example.com']);
    const v6 = parseOk(request({}, 'OPTIONS sip:[2001:DB8::1]:5070;transport=tcp SIP/2.0')) as SipRequest;
    expect([v6.uri.host, v6.uri.port, v6.uri.params.get('transport')]).toEqual(['[2001:db8::1]', 5070, 'tcp']);
  });

  it('header count exactly at the limit', () => {
    const m = parseOk(request(), { maxHeaders: 7 });
    expect(m.hasHeader('cseq')).toBe(true);
  });
});

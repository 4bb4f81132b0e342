import { formatUri, isIpv4, isIpv6, isSupportedUriScheme, parseUri } from '../../../../src/sip/message';
import type { SipUri } from '../../../../src/sip/message';

type Expect = Partial<Omit<SipUri, 'params' | 'headers'>> & { params?: Array<[string, string | null]>; headers?: Array<[string, string]> };

const VALID: Record<string, [string, Expect]> = {
  'host only': ['sip:example.com', { scheme: 'sip', host: 'example.com', user: undefined, port: undefined }],
  'user, port, upper-case scheme and host': ['SIP:alice@EXAMPLE.com:5061', { scheme: 'sip', user: 'alice', host: 'example.com', port: 5061 }],
  'sips with password': ['sips:alice:secret@example.com', { scheme: 'sips', user: 'alice', password: 'secret' }],
  'empty password': ['sip:alice:@example.com', { user: 'alice', password: '' }],
  'IPv4 host': ['sip:192.0.2.4', { host: '192.0.2.4' }],
  'IPv6 reference with port': ['sip:[2001:db8::1]:5060', { host: '[2001:db8::1]', port: 5060 }],
  'IPv4-mapped IPv6': ['sip:u@[::ffff:192.0.2.1]', { host: '[::ffff:192.0.2.1]' }],
  'params with flag, escapes and lower-cased keys': [
    'sip:u@h;LR;transport=TCP;n%61me=v%61lue%25%34%31',
    { params: [['lr', null], ['transport', 'TCP'], ['name', 'value%41']] },
  ],
  'headers': ['sip:u@h?subject=project%20x&priority=urgent', { headers: [['subject', 'project x'], ['priority', 'urgent']] }],
  'user with ; ? and /': ['sip:a;b?c/d@h', { user: 'a;b?c/d', host: 'h' }],
  'escaped user': ['sip:%61lice%40x@h', { user: 'alice@x' }],
  'telephone user': ['sip:+1-212-555-0101@gw.example.com;user=phone', { user: '+1-212-555-0101', params: [['user', 'phone']] }],
  'tel URI': ['tel:+1-201-555-0123', { scheme: 'tel', user: '+1-201-555-0123', host: '', raw: 'tel:+1-201-555-0123' }],
  'tel with params': ['tel:7042;phone-context=example.com;ext=22', { user: '7042', params: [['phone-context', 'example.com'], ['ext', '22']] }],
  'opaque absoluteURI': ['urn:service:sos', { scheme: 'urn', host: '', raw: 'urn:service:sos' }],
  'http absoluteURI': ['http://www.example.com/a?b=c', { scheme: 'http', raw: 'http://www.example.com/a?b=c' }],
  'trailing-dot FQDN': ['sip:example.com.', { host: 'example.com.' }],
};

const INVALID: Record<string, string> = {
  'no scheme': 'alice@example.com',
  'empty': '',
  'scheme starting with digit': '1sip:a@b',
  'space in host': 'sip:exa mple.com',
  'port too large': 'sip:h:65536',
  'non-numeric port': 'sip:h:50a',
  'empty port': 'sip:h:',
  'empty user': 'sip:@h',
  'IPv6 without brackets': 'sip:2001:db8::10',
  'IPv6 with 3 colons (RFC 5118 §4.10)': 'sip:u@[2001:db8:::192.0.2.1]',
  'IPv6 unterminated': 'sip:u@[2001:db8::1',
  'bad escape': 'sip:%zzuser@h',
  'truncated escape': 'sip:u@h;a=%4',
  'header without =': 'sip:u@h?subject',
  'double dot in host': 'sip:a..b',
  'angle brackets': '<sip:a@b>',
  'space in opaque URI': 'urn:a b',
  'empty tel number': 'tel:',
  'garbage after host': 'sip:h>',
};

describe('parseUri', () => {
  for (const [name, [text, exp]] of Object.entries(VALID)) {
    it(`parses ${name}: ${text}`, () => {
      const u = parseUri(text);
      expect(u).toBeDefined();
      const { params, headers, ...scalars } = exp;
      for (const [k, v] of Object.entries(scalars)) expect([k, u![k as keyof SipUri]]).toEqual([k, v]);
      if (params) expect([...u!.params]).toEqual(params);
      if (headers) expect([...u!.headers]).toEqual(headers);
    });
  }
  for (const [name, text] of Object.entries(INVALID)) {
    it(`rejects ${name}: ${JSON.stringify(text)}`, () => {
      expect(parseUri(text)).toBeUndefined();
    });
  }
});

describe('formatUri', () => {
  it('round-trips every valid case through parse(format(parse(x)))', () => {
    for (const [text] of Object.values(VALID)) {
      const u = parseUri(text)!;
      expect(parseUri(formatUri(u))).toEqual(u);
    }
  });

  it('escapes what the grammar forbids and leaves the rest', () => {
    const u: SipUri = { scheme: 'sip', user: 'a b@c', host: 'h', port: 5060, params: new Map([['x', 'y z'], ['lr', null]]), headers: new Map([['Subject', 'hi there']]) };
    expect(formatUri(u)).toBe('sip:a%20b%40c@h:5060;x=y%20z;lr?Subject=hi%20there');
  });

  it('writes opaque URIs from raw', () => {
    expect(formatUri(parseUri('urn:service:sos')!)).toBe('urn:service:sos');
  });
});

describe('IP address syntax', () => {
  it.each([
    ['::', true], ['::1', true], ['2001:db8::1', true], ['1:2:3:4:5:6:7:8', true], ['1:2:3:4:5:6:7::', true],
    ['::ffff:192.0.2.1', true], ['1:2:3:4:5:6:192.0.2.1', true], ['2001:db8:::1', false], ['1:2:3:4:5:6:7:8:9', false],
    ['1::2::3', false], ['12345::', false], [':1', false], ['1:', false], ['g::1', false], ['1:2:3:4:5:6:7:192.0.2.1', false],
  ])('isIpv6(%s) = %s', (addr, ok) => {
    expect(isIpv6(addr)).toBe(ok);
  });
  it.each([
    ['192.0.2.1', true], ['0.0.0.0', true], ['255.255.255.255', true], ['256.1.1.1', false], ['1.2.3', false], ['1.2.3.4.5', false], ['1..2.3', false], ['1.2.3.4.', false],
  ])('isIpv4(%s) = %s', (addr, ok) => {
    expect(isIpv4(addr)).toBe(ok);
  });
});

describe('isSupportedUriScheme', () => {
  it.each([
    ['sip:a@b', true], ['sips:a@b', true], ['tel:+1', true], ['soap.beep://h', false], ['urn:x', false],
  ])('%s -> %s', (text, ok) => {
    expect(isSupportedUriScheme(parseUri(text)!)).toBe(ok);
    expect(isSupportedUriScheme(text)).toBe(ok);
  });
});

import { formatNameAddr, parseNameAddr, parseNameAddrList } from '../../../../src/sip/message';

describe('parseNameAddr', () => {
  it.each([
    ['addr-spec', 'sip:alice@example.com', undefined, 'alice', []],
    ['addr-spec with header params', 'sip:alice@example.com;tag=1;expires=60', undefined, 'alice', [['tag', '1'], ['expires', '60']]],
    ['name-addr without display name', '<sip:alice@example.com;lr>;tag=x', undefined, 'alice', [['tag', 'x']]],
    ['quoted display name with escapes', '"A \\"B\\" \\\\ C" <sip:alice@example.com>', 'A "B" \\ C', 'alice', []],
    ['token display name', 'Alice  Smith <sip:alice@example.com>', 'Alice  Smith', 'alice', []],
    ['no LWS before <', 'caller<sip:caller@example.com>;tag=323', 'caller', 'caller', [['tag', '323']]],
    ['LWS around ; and =', '<sip:a@b> ; tag = 77 ; q=0.5 ;flag', undefined, 'a', [['tag', '77'], ['q', '0.5'], ['flag', null]]],
    ['quoted param value kept with quotes', '<sip:a@b>;+sip.instance="<urn:uuid:1>"', undefined, 'a', [['+sip.instance', '"<urn:uuid:1>"']]],
    ['empty quoted display name', '"" <sip:a@b>', '', 'a', []],
    ['IPv6 host', '<sip:a@[2001:db8::1]:5060>', undefined, 'a', []],
  ])('%s', (_name, text, display, user, params) => {
    const na = parseNameAddr(text);
    expect(na).toBeDefined();
    expect(na!.displayName).toBe(display);
    expect(na!.uri.user).toBe(user);
    expect([...na!.params]).toEqual(params);
  });

  it('keeps URI params inside <> apart from header params outside', () => {
    const na = parseNameAddr('<sip:a@b;transport=tcp>;tag=1')!;
    expect([...na.uri.params]).toEqual([['transport', 'tcp']]);
    expect([...na.params]).toEqual([['tag', '1']]);
  });

  it.each([
    ['unterminated quote', '"Mr. J. User <sip:j.user@example.com>'],
    ['unterminated <', 'Alice <sip:alice@example.com'],
    ['spaces inside <>', '< sip:t.watson@example.org >'],
    ['unquoted comma in display name', 'Bell, Alexander <sip:a.g.bell@example.com>;tag=43'],
    ['? in addr-spec (RFC 3261 §20.10)', 'sip:user@example.com?Route=%3Csip:sip.example.com%3E'],
    ['empty param', '<sip:a@b>;;tag=1'],
    ['empty param value', '<sip:a@b>;tag='],
    ['trailing garbage', '<sip:a@b> junk'],
    ['empty', '   '],
    ['bad URI', '<nope>'],
  ])('rejects %s', (_name, text) => {
    expect(parseNameAddr(text)).toBeUndefined();
  });
});

describe('parseNameAddrList', () => {
  it('splits on top-level commas only', () => {
    const list = parseNameAddrList('"Doe, J" <sip:a@b>, <sip:c,d@e>;q=0.1, sip:f@g');
    expect(list!.map((n) => [n.displayName, n.uri.user])).toEqual([['Doe, J', 'a'], [undefined, 'c,d'], [undefined, 'f']]);
  });
  it('fails when any element is malformed', () => {
    expect(parseNameAddrList('<sip:a@b>, ,<sip:c@d>')).toBeUndefined();
  });
});

describe('formatNameAddr', () => {
  it('round-trips through parse', () => {
    for (const text of [
      'sip:alice@example.com;tag=1',
      '"A \\"B\\"" <sip:a@b;lr>;q=0.7;flag',
      'Alice <sips:alice:pw@[::1]:5061?subject=x>',
      '"BEL:\\\u0007 NUL:\\\u0000" <sip:x@y>',
      '<tel:+1-201-555-0123;ext=1>;tag=z',
    ]) {
      const na = parseNameAddr(text)!;
      expect(na).toBeDefined();
      expect(parseNameAddr(formatNameAddr(na))).toEqual(na);
    }
  });
  it('writes the canonical form', () => {
    const na = parseNameAddr('Alice<sip:alice@example.com>;tag=9')!;
    expect(formatNameAddr(na)).toBe('"Alice" <sip:alice@example.com>;tag=9');
  });
});

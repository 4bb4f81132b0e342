import { parseAuthParams, parseDigestChallenges, selectStrongest } from '../../../../src/sip/auth';

describe('parseAuthParams (RFC 7235 §2.1 / RFC 3261 §25.1 challenge grammar)', () => {
  it('reads quoted strings with escapes, commas and spaces inside', () => {
    const [c] = parseAuthParams('Digest realm="a, \\"quoted\\" realm", nonce="x y", qop="auth,auth-int"');
    expect(c.scheme).toBe('Digest');
    expect(c.params.get('realm')).toBe('a, "quoted" realm');
    expect(c.params.get('nonce')).toBe('x y');
    expect(c.params.get('qop')).toBe('auth,auth-int');
  });

  it('lower-cases parameter names and accepts tokens, BWS around "="', () => {
    const [c] = parseAuthParams('digest  REALM = "r" ,Nonce=abc/def+=, stale=TRUE');
    expect(c.params.get('realm')).toBe('r');
    expect(c.params.get('nonce')).toBe('abc/def+=');
    expect(c.params.get('stale')).toBe('TRUE');
  });

  it('splits several challenges in one field value', () => {
    const list = parseAuthParams('Digest realm="r", nonce="1", algorithm=SHA-256, Digest realm="r", nonce="1", algorithm=MD5, Basic realm="b"');
    expect(list.map((c) => c.scheme)).toEqual(['Digest', 'Digest', 'Basic']);
    expect(list[1].params.get('algorithm')).toBe('MD5');
  });

  it('keeps the good challenges around a broken one', () => {
    // An unterminated quoted string loses that directive: without a nonce the challenge is unusable.
    const list = parseAuthParams('Digest realm="r", nonce="unterminated');
    expect(list[0]?.params.has('nonce')).toBe(false);
    expect(parseDigestChallenges(['Digest realm="r", nonce="unterminated'], 'WWW-Authenticate')).toMatchObject({ challenges: [], unsupported: 1 });
    const ok = parseAuthParams('Digest realm="r", nonce="n" garbage, Digest realm="s", nonce="m"');
    expect(ok.map((c) => c.params.get('realm'))).toEqual(['r', 's']);
  });

  it('never throws on arbitrary text', () => {
    for (const s of ['', ',,,', '"', '=', 'Digest =', 'Digest a=', 'Digest a="\\', '\u0000\u00ff,"a=b']) {
      expect(() => parseAuthParams(s)).not.toThrow();
    }
  });
});

describe('parseDigestChallenges and selectStrongest', () => {
  it('skips unsupported algorithms, other schemes and challenges without realm or nonce', () => {
    const set = parseDigestChallenges(
      ['Digest realm="r", nonce="n", algorithm=SHA-1', 'Basic realm="r"', 'Digest nonce="n"', 'Digest realm="r", nonce="n", algorithm=md5-SESS'],
      'Proxy-Authenticate',
    );
    expect(set.unsupported).toBe(2);
    expect(set.otherSchemes).toBe(1);
    expect(set.challenges).toHaveLength(1);
    expect(set.challenges[0]).toMatchObject({ algorithm: 'MD5-sess', header: 'Proxy-Authenticate', stale: false, qop: [] });
  });

  it('picks the strongest algorithm per realm (RFC 8760 §2.4) and keeps one per realm', () => {
    const set = parseDigestChallenges(
      [
        'Digest realm="a", nonce="1", algorithm=MD5, qop="auth"',
        'Digest realm="a", nonce="1", algorithm=SHA-256, qop="auth"',
        'Digest realm="b", nonce="2", qop="auth"',
        'Digest realm="a", nonce="1", algorithm=SHA-512-256, qop="auth"',
      ],
      'WWW-Authenticate',
    );
    const chosen = selectStrongest(set.challenges);
    expect(chosen.map((c) => [c.realm, c.algorithm])).toEqual([
      ['a', 'SHA-512-256'],
      ['b', 'MD5'],
    ]);
    // A filter (e.g. credentials holding only an MD5 HA1) narrows the choice.
    expect(selectStrongest(set.challenges, (c) => c.algorithm === 'MD5').map((c) => c.realm)).toEqual(['a', 'b']);
  });

  it('reads stale=true case-insensitively', () => {
    expect(parseDigestChallenges(['Digest realm="r", nonce="n", stale=True'], 'WWW-Authenticate').challenges[0].stale).toBe(true);
  });
});

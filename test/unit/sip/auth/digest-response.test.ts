import {
  answerChallenge,
  authorizationFor,
  computeHa1,
  parseDigestAuthorization,
  parseDigestChallenges,
  type DigestChallenge,
} from '../../../../src/sip/auth';

function challengeOf(value: string, header: 'WWW-Authenticate' | 'Proxy-Authenticate' = 'WWW-Authenticate'): DigestChallenge {
  const set = parseDigestChallenges([value], header);
  expect(set.challenges).toHaveLength(1);
  return set.challenges[0];
}

describe('RFC 2617 §3.5 example', () => {
  const challenge = challengeOf(
    'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
  );

  it('computes the published response with qop=auth', () => {
    const a = answerChallenge(challenge, { username: 'Mufasa', password: 'Circle Of Life', method: 'GET', uri: '/dir/index.html', nc: 1, cnonce: '0a4f113b' });
    expect(a.response).toBe('6629fae49393a05397450978507c4ef1');
    expect(a.qop).toBe('auth');
    expect(a.nc).toBe('00000001');
  });

  it('gives the same response from the stored HA1 as from the password', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
    const a = answerChallenge(challenge, { username: 'Mufasa', ha1, method: 'GET', uri: '/dir/index.html', nc: 1, cnonce: '0a4f113b' });
    expect(a.response).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('writes the header with quoted and unquoted directives as RFC 7616 §3.4 does', () => {
    const v = authorizationFor(challenge, { username: 'Mufasa', password: 'Circle Of Life', method: 'GET', uri: '/dir/index.html', nc: 1, cnonce: '0a4f113b' });
    expect(v).toBe(
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", ' +
        'response="6629fae49393a05397450978507c4ef1", cnonce="0a4f113b", opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001',
    );
  });
});

describe('RFC 7616 §3.9.1 example', () => {
  const base =
    'realm="http-auth@example.org", qop="auth, auth-int", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
  const opts = {
    username: 'Mufasa',
    password: 'Circle of Life',
    method: 'GET',
    uri: '/dir/index.html',
    nc: 1,
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  };

  it('MD5 response', () => {
    expect(answerChallenge(challengeOf(`Digest ${base}, algorithm=MD5`), opts).response).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  it('SHA-256 response', () => {
    const c = challengeOf(`Digest ${base}, algorithm=SHA-256`);
    expect(c.algorithm).toBe('SHA-256');
    expect(answerChallenge(c, opts).response).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('echoes algorithm only when the challenge named it', () => {
    expect(authorizationFor(challengeOf(`Digest ${base}, algorithm=SHA-256`), opts)).toContain('algorithm=SHA-256');
    expect(authorizationFor(challengeOf(`Digest ${base}`), opts)).not.toContain('algorithm=');
  });
});

describe('answers without qop and with -sess / auth-int', () => {
  it('RFC 2069 mode: response = H(HA1:nonce:HA2), no cnonce or nc', () => {
    const c = challengeOf('Digest realm="sip.example.com", nonce="abc123"');
    const a = answerChallenge(c, { username: 'alice', password: 'secret', method: 'INVITE', uri: 'sip:bob@example.com', nc: 1 });
    expect(a.qop).toBeUndefined();
    expect(a.cnonce).toBeUndefined();
    expect(a.value).not.toContain('nc=');
    // Independent computation with node:crypto.
    const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
    expect(a.response).toBe(md5(`${md5('alice:sip.example.com:secret')}:abc123:${md5('INVITE:sip:bob@example.com')}`));
  });

  it('MD5-sess folds nonce and cnonce into HA1', () => {
    const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
    const c = challengeOf('Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth"');
    const a = answerChallenge(c, { username: 'u', password: 'p', method: 'REGISTER', uri: 'sip:r', nc: 2, cnonce: 'cn' });
    const ha1 = md5(`${md5('u:r:p')}:n:cn`);
    expect(a.response).toBe(md5(`${ha1}:n:00000002:cn:auth:${md5('REGISTER:sip:r')}`));
  });

  it('auth-int hashes the body into HA2 when it is the only qop offered', () => {
    const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
    const c = challengeOf('Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth-int"');
    const body = Buffer.from('v=0\r\n');
    const a = answerChallenge(c, { username: 'u', password: 'p', method: 'INVITE', uri: 'sip:x@r', nc: 1, cnonce: 'c', body });
    expect(a.qop).toBe('auth-int');
    expect(a.response).toBe(sha(`${sha('u:r:p')}:n:00000001:c:auth-int:${sha(`INVITE:sip:x@r:${sha(body)}`)}`));
  });

  it('refuses an HA1 of another hash than the challenge', () => {
    const c = challengeOf('Digest realm="r", nonce="n", algorithm=SHA-256');
    expect(() => answerChallenge(c, { username: 'u', ha1: computeHa1('MD5', 'u', 'r', 'p'), method: 'INVITE', uri: 'sip:r', nc: 1 })).toThrow(TypeError);
  });

  it('escapes quotes in the username', () => {
    const c = challengeOf('Digest realm="r", nonce="n"');
    expect(authorizationFor(c, { username: 'a"b\\c', password: 'p', method: 'INVITE', uri: 'sip:r', nc: 1 })).toContain('username="a\\"b\\\\c"');
  });
});

describe('parseDigestAuthorization', () => {
  it('round-trips what authorizationFor writes', () => {
    const c = challengeOf('Digest realm="sip.example.com", nonce="n0", algorithm=SHA-256, qop="auth", opaque="op"');
    const v = authorizationFor(c, { username: 'alice', password: 'pw', method: 'REGISTER', uri: 'sip:sip.example.com', nc: 7, cnonce: 'xyz' });
    const p = parseDigestAuthorization(v);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.credentials).toMatchObject({ username: 'alice', realm: 'sip.example.com', nonce: 'n0', uri: 'sip:sip.example.com', algorithm: 'SHA-256', qop: 'auth', nc: '00000007', cnonce: 'xyz', opaque: 'op' });
  });

  it.each([
    ['not-digest', 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='],
    ['missing-directive', 'Digest username="a", realm="r", nonce="n", uri="sip:r"'],
    ['missing-directive', 'Digest username="a", realm="r", nonce="n", uri="sip:r", response="00", qop=auth'],
    ['unsupported-algorithm', 'Digest username="a", realm="r", nonce="n", uri="sip:r", response="00", algorithm=SHA-1'],
    ['malformed', ''],
  ])('reports %s for %s', (error, value) => {
    const p = parseDigestAuthorization(value);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.error).toBe(error);
  });
});

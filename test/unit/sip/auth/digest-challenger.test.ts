import { DigestChallenger, DigestClient, computeHa1, constantTimeEqual, parseDigestAuthorization, type DigestAuthorization } from '../../../../src/sip/auth';
import { parseMessage, type SipResponse } from '../../../../src/sip/message';
import { VirtualClock } from '../../../../src/util';

const SECRET = 'a-shared-secret-of-enough-length';
const REQ = { method: 'REGISTER', uri: 'sip:example.com' };

function responseWith(values: string[]): SipResponse {
  const text = ['SIP/2.0 401 Unauthorized', 'Via: SIP/2.0/UDP h;branch=z9hG4bKx', 'From: <sip:a@example.com>;tag=1', 'To: <sip:a@example.com>;tag=2', 'Call-ID: x', 'CSeq: 1 REGISTER', ...values.map((v) => `WWW-Authenticate: ${v}`), 'Content-Length: 0', '', ''].join('\r\n');
  const r = parseMessage(Buffer.from(text));
  if (!r.ok) throw new Error('bad fixture');
  return r.msg as SipResponse;
}

/** The UAC answers the challenger's 401 through the public client API. */
function answer(challenger: DigestChallenger, password: string, req = REQ): DigestAuthorization {
  const client = new DigestClient({ username: 'alice', password });
  const v = client.handleChallenge(responseWith(challenger.challenge()), req);
  if (!v.retry) throw new Error('no retry');
  const p = parseDigestAuthorization(v.headers[0][1]);
  if (!p.ok) throw new Error('unparseable');
  return p.credentials;
}

const ha1 = (hash: 'MD5' | 'SHA-256'): string => computeHa1(hash, 'alice', 'example.com', 'pw');

describe('DigestChallenger', () => {
  let clock: VirtualClock;
  let challenger: DigestChallenger;
  beforeEach(() => {
    clock = new VirtualClock();
    challenger = new DigestChallenger({ realm: 'example.com', secret: SECRET, clock, nonceTtlMs: 60_000 });
  });

  it('offers SHA-256 before MD5 with qop=auth, and a client picks SHA-256 and verifies against the SHA-256 HA1', () => {
    const values = challenger.challenge();
    expect(values).toHaveLength(2);
    expect(values[0]).toMatch(/^Digest realm="example.com", nonce="[A-Za-z0-9_-]{44}", algorithm=SHA-256, qop="auth"$/);
    const cred = answer(challenger, 'pw');
    expect(cred.algorithm).toBe('SHA-256');
    expect(challenger.verify(cred, REQ, ha1('SHA-256'))).toEqual({ ok: true, username: 'alice', algorithm: 'SHA-256' });
  });

  it('verifies an MD5 answer from the stored MD5 HA1', () => {
    const md5Only = new DigestChallenger({ realm: 'example.com', secret: SECRET, clock, algorithms: ['MD5'] });
    const cred = answer(md5Only, 'pw');
    expect(md5Only.verify(cred, REQ, ha1('MD5')).ok).toBe(true);
  });

  it('rejects a wrong password, an unknown user and the wrong HA1 hash', () => {
    const cred = answer(challenger, 'nope');
    expect(challenger.verify(cred, REQ, ha1('SHA-256'))).toMatchObject({ ok: false, reason: 'response', stale: false });
    expect(challenger.verify(answer(challenger, 'pw'), REQ, undefined)).toMatchObject({ ok: false, reason: 'unknown-user' });
    expect(challenger.verify(answer(challenger, 'pw'), REQ, ha1('MD5'))).toMatchObject({ ok: false, reason: 'unknown-user' });
  });

  it('answers stale=true for an expired nonce with the right password, and a plain failure with a wrong one', () => {
    const good = answer(challenger, 'pw');
    const bad = answer(challenger, 'nope');
    clock.advance(60_001);
    expect(challenger.verify(good, REQ, ha1('SHA-256'))).toMatchObject({ ok: false, reason: 'stale', stale: true });
    expect(challenger.verify(bad, REQ, ha1('SHA-256'))).toMatchObject({ ok: false, reason: 'response', stale: false });
    expect(challenger.challenge({ stale: true })[0]).toContain('stale=true');
  });

  it('accepts nonces issued by another instance sharing the secret, not by one with another secret', () => {
    const other = new DigestChallenger({ realm: 'example.com', secret: SECRET, clock });
    const foreign = new DigestChallenger({ realm: 'example.com', secret: 'another-secret-of-enough-length', clock });
    expect(challenger.checkNonce(other.issueNonce())).toBe('valid');
    expect(challenger.checkNonce(foreign.issueNonce())).toBe('invalid');
    expect(challenger.checkNonce('dcd98b7102dd2f0e8b11d0f600bfb0c093')).toBe('invalid');
    const n = challenger.issueNonce();
    const tampered = (n[0] === 'A' ? 'B' : 'A') + n.slice(1);
    expect(challenger.checkNonce(tampered)).toBe('invalid');
  });

  it('rejects a replayed nonce count and accepts the next one', () => {
    const cred = answer(challenger, 'pw');
    expect(challenger.verify(cred, REQ, ha1('SHA-256')).ok).toBe(true);
    expect(challenger.verify(cred, REQ, ha1('SHA-256'))).toMatchObject({ ok: false, reason: 'replay' });
  });

  it('checks realm, digest-uri and qop', () => {
    const cred = answer(challenger, 'pw');
    expect(challenger.verify({ ...cred, realm: 'other' }, REQ, ha1('SHA-256'))).toMatchObject({ reason: 'realm' });
    expect(challenger.verify(cred, { method: 'REGISTER', uri: 'sip:elsewhere.com' }, ha1('SHA-256'))).toMatchObject({ reason: 'uri' });
    // The same URI written differently still matches.
    expect(challenger.verify(cred, { method: 'REGISTER', uri: 'sip:EXAMPLE.com:5060' }, ha1('SHA-256')).ok).toBe(true);
    const noQop: DigestAuthorization = { username: cred.username, realm: cred.realm, nonce: cred.nonce, uri: cred.uri, response: cred.response, algorithm: cred.algorithm };
    expect(challenger.verify(noQop, REQ, ha1('SHA-256'))).toMatchObject({ reason: 'qop' });
  });

  it('authenticate() finds our realm among several Authorization fields and looks the HA1 up', async () => {
    const cred = answer(challenger, 'pw');
    const value = `Digest username="alice", realm="example.com", nonce="${cred.nonce}", uri="${cred.uri}", response="${cred.response}", algorithm=SHA-256, cnonce="${cred.cnonce}", qop=auth, nc=${cred.nc}`;
    const text = ['REGISTER sip:example.com SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bKy', 'Max-Forwards: 70', 'From: <sip:alice@example.com>;tag=1', 'To: <sip:alice@example.com>', 'Call-ID: y', 'CSeq: 2 REGISTER', 'Authorization: Digest username="x", realm="elsewhere", nonce="n", uri="sip:example.com", response="0"', `Authorization: ${value}`, 'Content-Length: 0', '', ''].join('\r\n');
    const parsed = parseMessage(Buffer.from(text));
    if (!parsed.ok) throw new Error('bad fixture');
    const seen: string[] = [];
    const r = await challenger.authenticate(parsed.msg, REQ, async (user, realm, alg) => {
      seen.push(`${user}@${realm}/${alg}`);
      return ha1('SHA-256');
    });
    expect(r.ok).toBe(true);
    expect(seen).toEqual(['alice@example.com/SHA-256']);
    const missing = await challenger.authenticate(responseWith([]), REQ, () => undefined);
    expect(missing).toMatchObject({ ok: false, reason: 'missing' });
  });

  it('refuses weak configuration', () => {
    expect(() => new DigestChallenger({ realm: 'r', secret: 'short' })).toThrow(TypeError);
    expect(() => new DigestChallenger({ realm: '', secret: SECRET })).toThrow(TypeError);
  });

  it('constantTimeEqual compares case-insensitively and handles length mismatch', () => {
    expect(constantTimeEqual('abcdef', 'ABCDEF')).toBe(true);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
  });
});

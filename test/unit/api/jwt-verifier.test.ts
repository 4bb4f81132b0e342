import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { JwtVerifier } from '../../../src/api';

const SECRET = 'unit-test-secret-unit-test-secret-0123';
const NOW = 1_700_000_000;

function hs(claims: Record<string, unknown>, secret = SECRET): string {
  return jwt.sign({ sub: 'svc', scope: 'numbers:write calls:read', iat: NOW, exp: NOW + 600, ...claims }, secret, { algorithm: 'HS256' });
}

describe('JwtVerifier (HS256)', () => {
  const v = new JwtVerifier({ secret: SECRET, now: () => NOW });

  it('returns the subject, scopes and expiry of a valid token', () => {
    const r = v.verify(hs({ jti: 'id-1' }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.principal.subject).toBe('svc');
    expect([...r.principal.scopes]).toEqual(['numbers:write', 'calls:read']);
    expect(r.principal.expiresAt).toBe(NOW + 600);
    expect(r.principal.tokenId).toBe('id-1');
  });

  it.each([
    ['a bad signature', hs({}, 'another-secret-another-secret-another'), 'invalid_token'],
    ['an expired token (beyond 30 s tolerance)', hs({ exp: NOW - 31 }), 'token_expired'],
    ['a token without exp', jwt.sign({ sub: 'svc', iat: NOW }, SECRET), 'invalid_token'],
    ['a token without sub', jwt.sign({ exp: NOW + 60 }, SECRET), 'invalid_token'],
    ['a token not valid yet', hs({ nbf: NOW + 120 }), 'invalid_token'],
    ['garbage', 'not.a.jwt', 'invalid_token'],
    ['an empty string', '', 'invalid_token'],
    ['an unsigned token', jwt.sign({ sub: 'svc', exp: NOW + 60 }, '', { algorithm: 'none' }), 'invalid_token'],
    ['HS512 (algorithm not accepted)', jwt.sign({ sub: 'svc', exp: NOW + 60 }, SECRET, { algorithm: 'HS512' }), 'invalid_token'],
    ['a huge token', 'a'.repeat(10_000), 'invalid_token'],
  ])('refuses %s', (_name, token, code) => {
    const r = v.verify(token);
    expect(r).toMatchObject({ ok: false, code });
  });

  it('tolerates 30 s of clock skew on exp', () => {
    expect(v.verify(hs({ exp: NOW - 29 })).ok).toBe(true);
  });

  it('reads the Authorization header (RFC 6750 §2.1)', () => {
    expect(v.verifyAuthorization(undefined)).toMatchObject({ ok: false, code: 'missing_token' });
    expect(v.verifyAuthorization('')).toMatchObject({ ok: false, code: 'missing_token' });
    expect(v.verifyAuthorization('Basic abc')).toMatchObject({ ok: false, code: 'invalid_token' });
    expect(v.verifyAuthorization(`bearer ${hs({})}`).ok).toBe(true);
  });

  it('checks audience and issuer when configured', () => {
    const strict = new JwtVerifier({ secret: SECRET, audience: 'sip-api', issuer: 'auth', now: () => NOW });
    expect(strict.verify(hs({ aud: 'sip-api', iss: 'auth' })).ok).toBe(true);
    expect(strict.verify(hs({ aud: 'other', iss: 'auth' }))).toMatchObject({ ok: false, message: 'token audience is not accepted' });
    expect(strict.verify(hs({ aud: 'sip-api', iss: 'evil' }))).toMatchObject({ ok: false, message: 'token issuer is not accepted' });
    expect(strict.verify(hs({})).ok).toBe(false);
  });
});

describe('JwtVerifier (public keys)', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = (k: typeof rsa.publicKey): string => k.export({ type: 'spki', format: 'pem' }).toString();

  it('verifies RS256 with an RSA key and refuses HS256 signed with the public key text (key confusion)', () => {
    const v = new JwtVerifier({ publicKeyPem: pem(rsa.publicKey), now: () => NOW });
    expect(v.algorithms).toEqual(['RS256']);
    expect(v.verify(jwt.sign({ sub: 'a', exp: NOW + 60 }, rsa.privateKey, { algorithm: 'RS256' })).ok).toBe(true);
    const forged = jwt.sign({ sub: 'a', exp: NOW + 60 }, pem(rsa.publicKey), { algorithm: 'HS256', allowInsecureKeySizes: true } as jwt.SignOptions);
    expect(v.verify(forged).ok).toBe(false);
  });

  it('verifies ES256 with a P-256 key', () => {
    const v = new JwtVerifier({ publicKeyPem: pem(ec.publicKey), now: () => NOW });
    expect(v.algorithms).toEqual(['ES256']);
    expect(v.verify(jwt.sign({ sub: 'a', exp: NOW + 60 }, ec.privateKey, { algorithm: 'ES256' })).ok).toBe(true);
    expect(v.verify(jwt.sign({ sub: 'a', exp: NOW + 60 }, rsa.privateKey, { algorithm: 'RS256' })).ok).toBe(false);
  });

  it('accepts both a secret and a key, each with its own algorithm', () => {
    const v = new JwtVerifier({ secret: SECRET, publicKeyPem: pem(ec.publicKey), now: () => NOW });
    expect(v.algorithms).toEqual(['HS256', 'ES256']);
    expect(v.verify(hs({})).ok).toBe(true);
    expect(v.verify(jwt.sign({ sub: 'a', exp: NOW + 60 }, ec.privateKey, { algorithm: 'ES256' })).ok).toBe(true);
  });

  it('refuses unusable keys at construction', () => {
    expect(() => new JwtVerifier({})).toThrow(TypeError);
    expect(() => new JwtVerifier({ publicKeyPem: 'not a pem' })).toThrow(/PEM/);
    const ed = generateKeyPairSync('ed25519');
    expect(() => new JwtVerifier({ publicKeyPem: pem(ed.publicKey) })).toThrow(/RSA|P-256/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    expect(() => new JwtVerifier({ publicKeyPem: pem(p384.publicKey) })).toThrow(/P-256/);
  });
});

import jwt from 'jsonwebtoken';
import { JwtVerifier } from '../../../src/api';

// The verification cache must answer exactly what a fresh verification would: same principal while the token is
// valid, token_expired from the moment jsonwebtoken would say so, and nothing for tokens that never verified.

const SECRET = 'cache-test-secret-cache-test-secret-01';
const START = 1_700_000_000;

function token(claims: Record<string, unknown> = {}, secret = SECRET): string {
  return jwt.sign({ sub: 'svc', scope: 'calls:read', iat: START, exp: START + 60, ...claims }, secret, { algorithm: 'HS256' });
}

describe('JwtVerifier verification cache', () => {
  let now = START;
  beforeEach(() => {
    now = START;
  });

  it('remembers a verified token and returns the same principal', () => {
    const v = new JwtVerifier({ secret: SECRET, now: () => now });
    const t = token();
    const first = v.verify(t);
    expect(first.ok).toBe(true);
    expect(v.cachedTokens).toBe(1);
    const again = v.verify(t);
    expect(again).toBe(first);
  });

  it('stops answering from the cache once exp + tolerance has passed', () => {
    const v = new JwtVerifier({ secret: SECRET, clockToleranceS: 5, now: () => now });
    const t = token();
    expect(v.verify(t).ok).toBe(true);
    now = START + 64; // exp + tolerance - 1: still valid
    expect(v.verify(t).ok).toBe(true);
    now = START + 65; // jsonwebtoken: expired when now >= exp + tolerance
    expect(v.verify(t)).toMatchObject({ ok: false, code: 'token_expired' });
    expect(v.cachedTokens).toBe(0);
  });

  it('never caches a failure: a token that was not valid yet verifies once it is', () => {
    const v = new JwtVerifier({ secret: SECRET, clockToleranceS: 0, now: () => now });
    const t = token({ nbf: START + 10 });
    expect(v.verify(t).ok).toBe(false);
    expect(v.cachedTokens).toBe(0);
    now = START + 10;
    expect(v.verify(t).ok).toBe(true);
  });

  it('does not let a cached token vouch for a forged one that differs in the signature', () => {
    const v = new JwtVerifier({ secret: SECRET, now: () => now });
    const good = token({ scope: 'calls:read' });
    expect(v.verify(good).ok).toBe(true);
    const forged = token({ scope: 'calls:read' }, 'attacker-secret-attacker-secret-000000');
    expect(forged.slice(0, forged.lastIndexOf('.'))).toBe(good.slice(0, good.lastIndexOf('.')));
    expect(v.verify(forged)).toMatchObject({ ok: false, code: 'invalid_token' });
  });

  it('holds at most cacheSize tokens, dropping the oldest', () => {
    const v = new JwtVerifier({ secret: SECRET, cacheSize: 2, now: () => now });
    const [a, b, c] = ['a', 'b', 'c'].map((sub) => token({ sub }));
    const [ra, , rc] = [a, b, c].map((t) => v.verify(t));
    expect(v.cachedTokens).toBe(2);
    // `c` is served from the cache (the very same result); `a` was dropped, so it is verified afresh.
    expect(v.verify(c)).toBe(rc);
    const again = v.verify(a);
    expect(again).not.toBe(ra);
    expect(again.ok && again.principal.subject).toBe('a');
    expect(v.cachedTokens).toBe(2);
  });

  it('is off with cacheSize 0', () => {
    const v = new JwtVerifier({ secret: SECRET, cacheSize: 0, now: () => now });
    expect(v.verify(token()).ok).toBe(true);
    expect(v.cachedTokens).toBe(0);
  });
});

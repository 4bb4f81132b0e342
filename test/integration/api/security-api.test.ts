import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import type { TestServer } from '../../helpers/server';
import { TEST_JWT_SECRET, call, errorOf, mint, startApiServer } from './api-client';

const TRUNK_ID = '00000000-0000-4000-8000-000000000000';

/** Every authenticated route, the scope it needs, and a scope that is not enough. */
const ROUTES: { method: string; path: string; needs: string; notEnough: string; body?: unknown }[] = [
  { method: 'POST', path: '/api/numbers/block', needs: 'numbers:write', notEnough: 'numbers:read', body: { number: '+14155550100' } },
  { method: 'DELETE', path: '/api/numbers/block/+14155550100', needs: 'numbers:write', notEnough: 'numbers:read' },
  { method: 'GET', path: '/api/numbers/blocked', needs: 'numbers:read', notEnough: 'trunks:write' },
  { method: 'GET', path: '/api/numbers/+14155550100', needs: 'numbers:read', notEnough: 'calls:read' },
  { method: 'PUT', path: '/api/numbers/+14155550100', needs: 'numbers:write', notEnough: 'numbers:read', body: { route: 'ai' } },
  { method: 'POST', path: '/api/trunks', needs: 'trunks:write', notEnough: 'trunks:read', body: { name: 'a', proxy_address: 'b.example.com' } },
  { method: 'GET', path: '/api/trunks', needs: 'trunks:read', notEnough: 'numbers:write' },
  { method: 'GET', path: `/api/trunks/${TRUNK_ID}`, needs: 'trunks:read', notEnough: 'sms:write' },
  { method: 'PUT', path: `/api/trunks/${TRUNK_ID}`, needs: 'trunks:write', notEnough: 'trunks:read', body: { weight: 2 } },
  { method: 'DELETE', path: `/api/trunks/${TRUNK_ID}`, needs: 'trunks:write', notEnough: 'numbers:write' },
  { method: 'POST', path: '/api/sms/send', needs: 'sms:write', notEnough: 'sms:read', body: { from_number: '+14155550100', to_number: '+14155550101', message: 'scope check' } },
  { method: 'GET', path: '/api/sms/history', needs: 'sms:read', notEnough: 'calls:write' },
  { method: 'GET', path: '/api/sms/abc', needs: 'sms:read', notEnough: 'numbers:read' },
  { method: 'GET', path: '/api/config/status', needs: 'config:read', notEnough: 'trunks:write' },
];

describe('API authentication and authorisation', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startApiServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  describe.each(ROUTES)('$method $path', ({ method, path, needs, notEnough, body }) => {
    it('answers 401 without a token', async () => {
      const res = await call(t, method, path, { token: null, body });
      expect(res.status).toBe(401);
      expect(errorOf(res).code).toBe('missing_token');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('answers 401 for a token with a bad signature', async () => {
      const res = await call(t, method, path, { token: mint({ secret: 'not-the-server-secret-not-the-server' }), body });
      expect(res.status).toBe(401);
      expect(errorOf(res)).toMatchObject({ code: 'invalid_token', message: 'invalid token signature' });
    });

    it('answers 401 for an expired token', async () => {
      const res = await call(t, method, path, { token: mint({ ttlS: -120 }), body });
      expect(res.status).toBe(401);
      expect(errorOf(res).code).toBe('token_expired');
    });

    it(`answers 403 for a token with ${notEnough} only`, async () => {
      const res = await call(t, method, path, { token: mint({ scope: notEnough }), body });
      expect(res.status).toBe(403);
      expect(errorOf(res)).toMatchObject({ code: 'insufficient_scope' });
      expect(errorOf(res).message).toContain(needs);
    });

    it(`passes authorisation with ${needs}`, async () => {
      const res = await call(t, method, path, { token: mint({ scope: needs }), body });
      expect([200, 201, 202, 204, 404]).toContain(res.status);
    });
  });

  it('refuses a token without exp', async () => {
    const res = await call(t, 'GET', '/api/trunks', { token: mint({ noExp: true }) });
    expect(res.status).toBe(401);
    expect(errorOf(res).message).toContain('exp');
  });

  it('accepts a token expired within the 30 s clock tolerance and refuses one beyond it', async () => {
    expect((await call(t, 'GET', '/api/trunks', { token: mint({ ttlS: -10 }) })).status).toBe(200);
    expect((await call(t, 'GET', '/api/trunks', { token: mint({ ttlS: -40 }) })).status).toBe(401);
  });

  it('refuses unsigned (alg none) tokens and other schemes', async () => {
    const none = jwt.sign({ sub: 'x', scope: 'admin', exp: Math.floor(Date.now() / 1000) + 60 }, '', { algorithm: 'none' });
    expect((await call(t, 'GET', '/api/trunks', { token: none })).status).toBe(401);
    const basic = await call(t, 'GET', '/api/trunks', { token: null, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
    expect(basic.status).toBe(401);
    expect(errorOf(basic).code).toBe('invalid_token');
  });

  it('accepts a scope claim given as an array (scp)', async () => {
    const token = jwt.sign({ sub: 'x', scp: ['trunks:read'], exp: Math.floor(Date.now() / 1000) + 60 }, TEST_JWT_SECRET, { algorithm: 'HS256' });
    expect((await call(t, 'GET', '/api/trunks', { token })).status).toBe(200);
  });

  it('requires a valid token for the OpenAPI document but no scope', async () => {
    expect((await call(t, 'GET', '/api/openapi.json', { token: null })).status).toBe(401);
    expect((await call(t, 'GET', '/api/openapi.json', { token: mint({ scope: '' }) })).status).toBe(200);
  });
});

describe('API request handling', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startApiServer({ API_BODY_LIMIT_BYTES: '2048', API_CORS_ORIGINS: 'https://console.example.com' });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('answers 413 JSON for a body over the limit', async () => {
    const res = await call(t, 'POST', '/api/numbers/block', { body: { number: '+14155550100', reason: 'x'.repeat(4000) } });
    expect(res.status).toBe(413);
    expect(errorOf(res).code).toBe('payload_too_large');
  });

  it('answers 400 JSON for malformed JSON, without parser details', async () => {
    const res = await call(t, 'POST', '/api/numbers/block', { rawBody: '{"number": "+1415555', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'malformed_json', field: 'body' });
    expect(res.text).not.toMatch(/at .*\.js|Unexpected|position/);
  });

  it('answers 415 for a body that is not JSON, and 400 for a missing body', async () => {
    const form = await call(t, 'POST', '/api/numbers/block', { rawBody: 'number=%2B14155550100', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    const none = await call(t, 'POST', '/api/numbers/block');
    expect(none.status).toBe(400);
    expect(errorOf(none).field).toBe('body');
  });

  it('answers 404 JSON for unknown endpoints', async () => {
    const res = await call(t, 'GET', '/api/nothing-here');
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('not_found');
  });

  it('sets security headers and a request id, and hides the framework', async () => {
    const res = await call(t, 'GET', '/health', { token: null, headers: { 'x-request-id': 'gw-123' } });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBeTruthy();
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('x-request-id')).toBe('gw-123');
    const generated = await call(t, 'GET', '/health', { token: null, headers: { 'x-request-id': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers CORS preflights for allowed origins only', async () => {
    const allowed = await call(t, 'OPTIONS', '/api/trunks', {
      token: null,
      headers: { origin: 'https://console.example.com', 'access-control-request-method': 'POST' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://console.example.com');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('Authorization');
    const other = await call(t, 'GET', '/api/trunks', { headers: { origin: 'https://evil.example.com' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('API without CORS configured', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startApiServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('sends no CORS headers at all', async () => {
    const res = await call(t, 'GET', '/api/trunks', { headers: { origin: 'https://console.example.com' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('API rate limits', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startApiServer({ API_RATE_LIMIT_IP_RPS: '1000', API_RATE_LIMIT_IP_BURST: '1000', API_RATE_LIMIT_SUBJECT_RPS: '2', API_RATE_LIMIT_SUBJECT_BURST: '3' });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('answers 429 with Retry-After once a subject spends its burst, then recovers', async () => {
    const token = mint({ sub: 'busy-client' });
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 10 && limited === undefined; i++) {
      const res = await call(t, 'GET', '/api/trunks', { token });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(limited).toBeDefined();
    expect(errorOf(limited!).code).toBe('rate_limited');
    const retryAfter = Number(limited!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // Another subject is not affected.
    expect((await call(t, 'GET', '/api/trunks', { token: mint({ sub: 'other-client' }) })).status).toBe(200);
    await new Promise((r) => setTimeout(r, retryAfter * 1000));
    expect((await call(t, 'GET', '/api/trunks', { token })).status).toBe(200);
  });
});

describe('API per-IP rate limit', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startApiServer({ API_RATE_LIMIT_IP_RPS: '1', API_RATE_LIMIT_IP_BURST: '2' });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('limits unauthenticated floods before the token is checked, and never limits /health', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(t, 'GET', '/api/trunks', { token: 'garbage' })).status);
    expect(statuses.slice(0, 2)).toEqual([401, 401]);
    expect(statuses).toContain(429);
    for (let i = 0; i < 5; i++) expect((await call(t, 'GET', '/health', { token: null })).status).toBe(200);
  });
});

describe('API allow-list', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startApiServer({ API_ALLOWED_CIDRS: '10.0.0.0/8,2001:db8::/32' });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('answers 403 JSON to a client outside API_ALLOWED_CIDRS, even with a valid token', async () => {
    const res = await call(t, 'GET', '/api/trunks');
    expect(res.status).toBe(403);
    expect(errorOf(res).code).toBe('forbidden_source');
    expect((await call(t, 'GET', '/api/no-such-route')).status).toBe(403);
  });

  it('keeps the probes reachable', async () => {
    expect((await call(t, 'GET', '/health', { token: null })).status).toBe(200);
  });
});

describe('API allow-list that includes the client', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startApiServer({ API_ALLOWED_CIDRS: '127.0.0.0/8' });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('lets the client through', async () => {
    expect((await call(t, 'GET', '/api/trunks')).status).toBe(200);
  });
});

describe.each([
  ['RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ['ES256', () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' })],
] as const)('API with a %s public key (JWT_PUBLIC_KEY_FILE)', (alg, generate) => {
  let t: TestServer;
  let dir: string;
  const keys = generate();
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jwt-key-'));
    writeFileSync(join(dir, 'public.pem'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
    t = await startApiServer({ JWT_SECRET_KEY: '', JWT_PUBLIC_KEY_FILE: join(dir, 'public.pem'), JWT_ISSUER: 'https://auth.example.com' });
  });
  afterAll(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const sign = (claims: Record<string, unknown>): string =>
    jwt.sign({ sub: 'ops', scope: 'admin', ...claims }, keys.privateKey, { algorithm: alg, expiresIn: 60 });

  it('accepts a token signed with the private key and the configured issuer', async () => {
    expect((await call(t, 'GET', '/api/trunks', { token: sign({ iss: 'https://auth.example.com' }) })).status).toBe(200);
  });

  it('refuses another issuer and HS256 tokens', async () => {
    expect((await call(t, 'GET', '/api/trunks', { token: sign({ iss: 'https://other.example.com' }) })).status).toBe(401);
    expect((await call(t, 'GET', '/api/trunks', { token: mint() })).status).toBe(401);
  });
});

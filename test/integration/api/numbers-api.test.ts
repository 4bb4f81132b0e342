import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestServer } from '../../helpers/server';
import { call, errorOf, mint, startApiServer } from './api-client';

const run = promisify(execFile);

describe('numbers API', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startApiServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  describe('POST /api/numbers/block', () => {
    it('blocks a number and the block is stored', async () => {
      const res = await call(t, 'POST', '/api/numbers/block', { body: { number: '+14155550100', reason: 'robocaller' } });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ number: '+14155550100', reason: 'robocaller', expires_at: null });
      expect(await t.server.db.query('SELECT 1 FROM blocked_numbers WHERE number = $1', ['+14155550100'])).toMatchObject({ rowCount: 1 });
    });

    it('accepts an expiry in the future and refuses one in the past', async () => {
      const future = new Date(Date.now() + 3_600_000).toISOString();
      const ok = await call(t, 'POST', '/api/numbers/block', { body: { number: '+14155550101', expires_at: future } });
      expect(ok.status).toBe(201);
      expect((ok.body as { expires_at: string }).expires_at).toBe(future);
      const past = await call(t, 'POST', '/api/numbers/block', { body: { number: '+14155550102', expires_at: '2001-01-01T00:00:00Z' } });
      expect(past.status).toBe(400);
      expect(errorOf(past).field).toBe('expires_at');
    });

    it.each([
      ['a number that is not E.164', { number: '4155550100' }, 'number'],
      ['a missing number', { reason: 'x' }, 'number'],
      ['a number of the wrong type', { number: 14155550100 }, 'number'],
      ['an over-long reason', { number: '+14155550100', reason: 'x'.repeat(501) }, 'reason'],
      ['an unknown field', { number: '+14155550100', reson: 'typo' }, 'reson'],
    ])('refuses %s, naming the field', async (_name, body, field) => {
      const res = await call(t, 'POST', '/api/numbers/block', { body });
      expect(res.status).toBe(400);
      expect(errorOf(res)).toMatchObject({ code: 'validation_failed', field });
    });

    it('runs the README curl example as written', async () => {
      const token = mint({ scope: 'numbers:write' });
      // From seed-readme.md "Block a Number", only host:port and the token replaced.
      const { stdout } = await run('curl', [
        '-sS',
        '-X', 'POST', `http://127.0.0.1:${t.server.apiPort}/api/numbers/block`,
        '-H', 'Content-Type: application/json',
        '-H', `Authorization: Bearer ${token}`,
        '-d', `{
    "number": "+1234567890",
    "reason": "Spam caller"
  }`,
        '-w', '\n%{http_code}',
      ]);
      const lines = stdout.trimEnd().split('\n');
      expect(lines[lines.length - 1]).toBe('201');
      expect(JSON.parse(lines.slice(0, -1).join('\n'))).toMatchObject({ number: '+1234567890', reason: 'Spam caller' });
    });
  });

  describe('GET /api/numbers/blocked', () => {
    it('lists active blocks with a total and paging', async () => {
      await call(t, 'POST', '/api/numbers/block', { body: { number: '+14155550110' } });
      const res = await call(t, 'GET', '/api/numbers/blocked?limit=1', { token: mint({ scope: 'numbers:read' }) });
      expect(res.status).toBe(200);
      const body = res.body as { items: unknown[]; total: number; limit: number; offset: number };
      expect(body.items).toHaveLength(1);
      expect(body.total).toBeGreaterThanOrEqual(2);
      expect(body).toMatchObject({ limit: 1, offset: 0 });
    });

    it('is readable with numbers:write too (a write scope grants reading its area)', async () => {
      expect((await call(t, 'GET', '/api/numbers/blocked', { token: mint({ scope: 'numbers:write' }) })).status).toBe(200);
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=abc', 'limit'],
      ['offset=-1', 'offset'],
      ['limit=1&limit=2', 'limit'],
      ['page=2', 'page'],
    ])('refuses the query %s, naming the field', async (query, field) => {
      const res = await call(t, 'GET', `/api/numbers/blocked?${query}`);
      expect(res.status).toBe(400);
      expect(errorOf(res).field).toBe(field);
    });
  });

  describe('DELETE /api/numbers/block/{number}', () => {
    it('unblocks, then answers 404 for a number that is not blocked', async () => {
      await call(t, 'POST', '/api/numbers/block', { body: { number: '+14155550120' } });
      const res = await call(t, 'DELETE', '/api/numbers/block/+14155550120');
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      const again = await call(t, 'DELETE', '/api/numbers/block/%2B14155550120');
      expect(again.status).toBe(404);
      expect(errorOf(again).code).toBe('not_found');
    });

    it('refuses a malformed number, naming the field', async () => {
      const res = await call(t, 'DELETE', '/api/numbers/block/not-a-number');
      expect(res.status).toBe(400);
      expect(errorOf(res).field).toBe('number');
    });
  });

  describe('GET/PUT /api/numbers/{number}', () => {
    it('answers 404 for a number without settings', async () => {
      const res = await call(t, 'GET', '/api/numbers/+14155550199');
      expect(res.status).toBe(404);
    });

    it('creates settings with PUT and reads them back', async () => {
      const put = await call(t, 'PUT', '/api/numbers/+14155550130', {
        body: {
          route: 'forward:+442071234567',
          max_concurrent_calls: 5,
          forwarding_rules: [{ target: 'sip:desk@pbx.example.com', when: 'busy' }],
          status_callback: 'https://hooks.example.com/status',
          ai_settings: { agent: 'support', temperature: 0.3 },
        },
      });
      expect(put.status).toBe(200);
      const get = await call(t, 'GET', '/api/numbers/+14155550130', { token: mint({ scope: 'numbers:read' }) });
      expect(get.status).toBe(200);
      expect(get.body).toMatchObject({
        number: '+14155550130',
        route: 'forward:+442071234567',
        enabled: true,
        max_concurrent_calls: 5,
        forwarding_rules: [{ target: 'sip:desk@pbx.example.com', when: 'busy' }],
        status_callback: 'https://hooks.example.com/status',
        ai_settings: { agent: 'support', temperature: 0.3 },
      });
    });

    it('changes only the fields given, and a route change drops the unconditional forward', async () => {
      await call(t, 'PUT', '/api/numbers/+14155550131', { body: { route: 'forward:+442071234567', description: 'sales' } });
      const res = await call(t, 'PUT', '/api/numbers/+14155550131', { body: { route: 'echo' } });
      expect(res.body).toMatchObject({ route: 'echo', description: 'sales', forwarding_rules: [] });
      const stored = await t.server.db.query<{ forward_rules: unknown }>('SELECT forward_rules FROM numbers WHERE number = $1', ['+14155550131']);
      expect(stored.rows[0].forward_rules).toEqual([]);
    });

    it('routes to an IVR menu only when it exists', async () => {
      const missing = await call(t, 'PUT', '/api/numbers/+14155550132', { body: { route: 'ivr:00000000-0000-4000-8000-000000000000' } });
      expect(missing.status).toBe(400);
      expect(errorOf(missing).field).toBe('route');
      const menu = await t.server.db.query<{ id: string }>('INSERT INTO ivr_menus (name, prompt) VALUES ($1, $2::jsonb) RETURNING id', ['main', JSON.stringify('welcome.wav')]);
      const ok = await call(t, 'PUT', '/api/numbers/+14155550132', { body: { route: `ivr:${menu.rows[0].id}` } });
      expect(ok.status).toBe(200);
      expect((ok.body as { route: string }).route).toBe(`ivr:${menu.rows[0].id}`);
    });

    it.each([
      ['an unknown route', { route: 'voicemail' }, 'route'],
      ['a forward to garbage', { route: 'forward:hello' }, 'route'],
      ['an ivr id that is not a UUID', { route: 'ivr:7' }, 'route'],
      ['a zero call limit', { max_concurrent_calls: 0 }, 'max_concurrent_calls'],
      ['an unconditional forwarding rule', { forwarding_rules: [{ target: '+15550001111', when: 'always' }] }, 'forwarding_rules.0.when'],
      ['a rule with a bad target', { forwarding_rules: [{ target: 'nowhere', when: 'busy' }] }, 'forwarding_rules.0.target'],
      ['a callback that is not http(s)', { status_callback: 'ftp://example.com/x' }, 'status_callback'],
      ['ai settings that are not an object', { ai_settings: [1, 2] }, 'ai_settings'],
      ['a trunk that does not exist', { trunk_id: '00000000-0000-4000-8000-000000000000' }, 'trunk_id'],
    ])('refuses %s, naming the field', async (_name, body, field) => {
      const res = await call(t, 'PUT', '/api/numbers/+14155550140', { body });
      expect(res.status).toBe(400);
      expect(errorOf(res)).toMatchObject({ code: 'validation_failed', field });
    });

    it('refuses a malformed number in the path', async () => {
      const res = await call(t, 'GET', '/api/numbers/bad%20number');
      expect(res.status).toBe(400);
      expect(errorOf(res).field).toBe('number');
    });
  });
});

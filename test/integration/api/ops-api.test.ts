import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestServer } from '../../helpers/server';
import { TEST_JWT_SECRET, call, errorOf, mint, startApiServer } from './api-client';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');

/**
 * Prometheus text exposition format 0.0.4: every line is a `# HELP` / `# TYPE` comment or
 * `name{label="value",...} value [timestamp]`. Returns the offending lines.
 */
function invalidExpositionLines(text: string): string[] {
  const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*,?)?\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( -?\d+)?$/;
  const comment = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$/;
  return text.split('\n').filter((line) => line !== '' && !comment.test(line) && !sample.test(line));
}

describe('operations endpoints', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startApiServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('GET /health answers without a token', async () => {
    const res = await call(t, 'GET', '/health', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', version: expect.any(String) });
  });

  it('GET /ready reports the database and SIP checks', async () => {
    const res = await call(t, 'GET', '/ready', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', checks: { database: { status: 'ok' }, sip: { status: 'ok' } } });
  });

  it('GET /metrics is valid Prometheus text and counts requests by route template', async () => {
    await call(t, 'GET', '/api/numbers/+14155550123');
    await call(t, 'GET', '/api/numbers/+14155550124');
    await call(t, 'GET', '/api/does/not/exist');
    const res = await call(t, 'GET', '/metrics', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(invalidExpositionLines(res.text)).toEqual([]);
    expect(res.text).toMatch(/http_requests_total\{method="GET",route="\/api\/numbers\/:number",status="404"\} 2/);
    expect(res.text).toMatch(/http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    // Raw paths never become labels.
    expect(res.text).not.toContain('+14155550123');
    expect(res.text).toContain('sip_messages_total');
  });

  it('GET /api/config/status reports listeners, version, uptime, calls and trunks', async () => {
    await call(t, 'POST', '/api/trunks', { body: { name: 'status-trunk', proxy_address: 'sip.example.com' } });
    const res = await call(t, 'GET', '/api/config/status', { token: mint({ scope: 'config:read' }) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      version: expect.any(String),
      instance_id: expect.any(String),
      uptime_s: expect.any(Number),
      listeners: { sip: { udp: t.server.sipPorts.udp, tcp: t.server.sipPorts.tcp, public_address: '127.0.0.1' }, api: { port: t.server.apiPort } },
      active_calls: null,
      trunks: [expect.objectContaining({ name: 'status-trunk', status: 'unknown', enabled: true })],
    });
  });

  it('the SMS routes are live: send queues (202), the message is listed and readable, an unknown id is 404', async () => {
    const sent = await call(t, 'POST', '/api/sms/send', { body: { from_number: '+1234567890', to_number: '+0987654321', message: 'Hello from SIP server!' } });
    expect(sent.status).toBe(202);
    const { message_id } = sent.body as { message_id: string };
    expect(sent.headers.get('location')).toBe(`/api/sms/${message_id}`);
    const stored = await t.server.db.query('SELECT body FROM sms_messages WHERE id = $1', [message_id]);
    expect(stored.rows).toEqual([{ body: 'Hello from SIP server!' }]);
    const history = await call(t, 'GET', '/api/sms/history');
    expect(history.status).toBe(200);
    expect((history.body as { items: { message_id: string }[] }).items.map((m) => m.message_id)).toContain(message_id);
    const one = await call(t, 'GET', `/api/sms/${message_id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ message_id, direction: 'outbound', message: 'Hello from SIP server!' });
    const unknown = await call(t, 'GET', '/api/sms/3f1c');
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown)).toMatchObject({ code: 'not_found' });
  });

  it('GET /api/openapi.json is OpenAPI 3.1 and documents every mounted route', async () => {
    const res = await call(t, 'GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body as { openapi: string; paths: Record<string, Record<string, { security?: unknown; requestBody?: unknown; parameters?: { name: string }[] }>> };
    expect(doc.openapi).toBe('3.1.0');
    // Every served route (the unit test test/unit/api/openapi.test.ts compares against Express's own router).
    const served = [
      'get /health', 'get /ready', 'get /metrics', 'get /api/config/status', 'get /api/openapi.json',
      'post /api/numbers/block', 'delete /api/numbers/block/{number}', 'get /api/numbers/blocked',
      'get /api/numbers/{number}', 'put /api/numbers/{number}',
      'post /api/trunks', 'get /api/trunks', 'get /api/trunks/{trunk_id}', 'put /api/trunks/{trunk_id}', 'delete /api/trunks/{trunk_id}',
      'post /api/sms/send', 'get /api/sms/history', 'get /api/sms/{message_id}',
      // The seed README's call endpoints.
      'post /api/calls/initiate', 'get /api/calls/active', 'post /api/calls/{call_id}/hangup', 'post /api/calls/{call_id}/transfer',
      'post /api/calls/{call_id}/hold', 'post /api/calls/{call_id}/resume',
    ];
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    // The seed contract's endpoints are all documented; that nothing served is missing from the document is checked
    // against Express's own router in test/unit/api/openapi.test.ts.
    expect(documented).toEqual(expect.arrayContaining(served));
    expect(doc.paths['/api/trunks']?.['post']?.requestBody).toBeDefined();
    expect(doc.paths['/api/trunks/{trunk_id}']?.['get']?.parameters?.map((p) => p.name)).toEqual(['trunk_id']);
    expect(doc.paths['/health']?.['get']?.security).toEqual([]);
  });
});

describe('npm run token', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startApiServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  const token = (args: string[]) =>
    run(process.execPath, ['--require', './bench/register.js', 'scripts/token.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', JWT_SECRET_KEY: TEST_JWT_SECRET, LOG_LEVEL: 'silent' },
    });

  it('prints a token the server accepts, with the requested scope only', async () => {
    const { stdout } = await token(['--sub', 'ops', '--scope', 'trunks:read', '--ttl', '1h']);
    const minted = stdout.trim();
    expect(minted.split('.')).toHaveLength(3);
    expect((await call(t, 'GET', '/api/trunks', { token: minted })).status).toBe(200);
    expect((await call(t, 'POST', '/api/trunks', { token: minted, body: { name: 'x', proxy_address: 'y.example.com' } })).status).toBe(403);
  });

  it('refuses unknown scopes with a usage message', async () => {
    await expect(token(['--sub', 'ops', '--scope', 'root'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('unknown scope root') });
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startApiServer({ METRICS_TOKEN: 'scrape-token' });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('requires the metrics bearer token', async () => {
    expect((await call(t, 'GET', '/metrics', { token: null })).status).toBe(401);
    expect((await call(t, 'GET', '/metrics', { token: 'wrong' })).status).toBe(401);
    expect((await call(t, 'GET', '/metrics', { token: 'scrape-token' })).status).toBe(200);
  });
});

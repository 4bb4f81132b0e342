import { exec } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { TestServer } from '../../helpers/server';
import { FakeTrunk, eventually, startSipStack, type CapturedMessage, type SipStack } from '../sms/sip-stack';
import { call, errorOf, mint, startApiServer, type ApiResponse } from './api-client';

// The SMS API of the real server (HTTP, JWT, PostgreSQL queue, worker, SIP stack) with SMS_GATEWAY_URI pointing at
// a Node UDP gateway that captures every MESSAGE byte for byte.

const sh = promisify(exec);

interface MessageJson {
  message_id: string;
  direction: string;
  from_number: string;
  to_number: string;
  message: string;
  status: string;
  segments: number;
  encoding: string;
  attempts: number;
  max_attempts: number;
  last_sip_status: number | null;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

interface HistoryJson {
  items: MessageJson[];
  next_cursor: string | null;
  limit: number;
}

describe('SMS API', () => {
  let gateway: FakeTrunk;
  let t: TestServer;
  let peer: SipStack;

  beforeAll(async () => {
    gateway = new FakeTrunk();
    const port = await gateway.start();
    t = await startApiServer({ SMS_GATEWAY_URI: `sip:127.0.0.1:${port}` });
    peer = await startSipStack();
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
    await peer?.close();
    await gateway?.close();
  });

  /** MESSAGEs the gateway got for one message id (other SIP traffic, if any, is ignored). */
  const messagesOf = (id: string): CapturedMessage[] => gateway.messages.filter((m) => m.request.method === 'MESSAGE' && m.request.getHeader('X-SMS-Message-ID') === id);

  const send = (body: Record<string, unknown>, token?: string): Promise<ApiResponse> => call(t, 'POST', '/api/sms/send', { body, token });

  /** Poll GET /api/sms/{id} until the message left queued/sending. */
  const settled = (id: string): Promise<MessageJson> =>
    eventually(async () => {
      const res = await call(t, 'GET', `/api/sms/${id}`);
      const m = res.body as MessageJson;
      return res.status === 200 && m.status !== 'queued' && m.status !== 'sending' ? m : undefined;
    });

  it('runs the README curl example as written: 202, the gateway gets the exact UTF-8 text, the message becomes sent and is listed', async () => {
    const token = mint({ scope: 'sms:write' });
    // seed-readme.md "Send SMS", verbatim but for host:port and the token; -w only reports the status code.
    const readme = `curl -X POST http://localhost:8000/api/sms/send \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer <token>" \\
  -d '{
    "from_number": "+1234567890",
    "to_number": "+0987654321",
    "message": "Hello from SIP server!"
  }'`;
    const command = readme.replace('http://localhost:8000', `http://127.0.0.1:${t.server.apiPort}`).replace('<token>', token);
    const { stdout } = await sh(`${command} -sS -w '\\n%{http_code}'`, { shell: '/bin/sh' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines[lines.length - 1]).toBe('202');
    const accepted = JSON.parse(lines.slice(0, -1).join('\n')) as { message_id: string; status: string; segments: number; encoding: string };
    expect(accepted).toMatchObject({ status: 'queued', segments: 1, encoding: 'GSM-7' });
    expect(accepted.message_id).toMatch(/^[0-9a-f-]{36}$/);

    const sent = await settled(accepted.message_id);
    expect(sent).toMatchObject({ status: 'sent', attempts: 1, last_sip_status: 200, last_error: null, direction: 'outbound', message: 'Hello from SIP server!' });
    expect(sent.sent_at).not.toBeNull();

    const got = messagesOf(accepted.message_id);
    expect(got).toHaveLength(1);
    expect(got[0].body.equals(Buffer.from('Hello from SIP server!', 'utf8'))).toBe(true);
    expect(got[0].request.getHeader('Content-Type')).toBe('text/plain;charset=UTF-8');
    expect(got[0].raw.toString('latin1').split('\r\n')[0]).toBe(`MESSAGE sip:+0987654321@127.0.0.1:${gateway.port} SIP/2.0`);
    expect(got[0].request.getHeader('From')).toContain('sip:+1234567890@');

    const history = await call(t, 'GET', '/api/sms/history?number=%2B0987654321&direction=outbound', { token: mint({ scope: 'sms:read' }) });
    expect(history.status).toBe(200);
    const item = (history.body as HistoryJson).items.find((m) => m.message_id === accepted.message_id);
    expect(item).toMatchObject({ from_number: '+1234567890', to_number: '+0987654321', status: 'sent', message: 'Hello from SIP server!' });
  });

  it('delivers an emoji text byte-exact as UCS-2 counted, one MESSAGE', async () => {
    const text = 'Café ✓ 👋🏽 — see you at 5? 你好';
    const res = await send({ from_number: '+15550001000', to_number: '+15550002000', message: text });
    expect(res.status).toBe(202);
    const { message_id, encoding, segments } = res.body as { message_id: string; encoding: string; segments: number };
    expect({ encoding, segments }).toEqual({ encoding: 'UCS-2', segments: 1 });
    expect((await settled(message_id)).status).toBe('sent');
    const got = messagesOf(message_id);
    expect(got).toHaveLength(1);
    expect(got[0].body.equals(Buffer.from(text, 'utf8'))).toBe(true);
    expect(got[0].request.getHeader('Content-Length')).toBe(String(Buffer.byteLength(text, 'utf8')));
  });

  it('marks a message failed when the gateway refuses it with a final 4xx, without retrying', async () => {
    gateway.answer = (req) => (req.getHeader('To')?.includes('+15550009404') ? 404 : 200);
    try {
      const res = await send({ from_number: '+15550001000', to_number: '+15550009404', message: 'nobody home' });
      expect(res.status).toBe(202);
      const { message_id } = res.body as { message_id: string };
      const failed = await settled(message_id);
      expect(failed).toMatchObject({ status: 'failed', attempts: 1, last_sip_status: 404 });
      expect(messagesOf(message_id)).toHaveLength(1);
    } finally {
      gateway.answer = () => 200;
    }
  });

  it.each([
    ['a destination that is no number', { from_number: '+15550001000', to_number: 'not a number!', message: 'x' }, 'to_number'],
    ['a missing destination', { from_number: '+15550001000', message: 'x' }, 'to_number'],
    ['a destination of the wrong type', { from_number: '+15550001000', to_number: 15550002000, message: 'x' }, 'to_number'],
    ['a bad sender', { from_number: '@@', to_number: '+15550002000', message: 'x' }, 'from_number'],
    ['an empty message', { from_number: '+15550001000', to_number: '+15550002000', message: '' }, 'message'],
    ['a NUL in the message', { from_number: '+15550001000', to_number: '+15550002000', message: 'a\u0000b' }, 'message'],
    ['a message over the segment limit', { from_number: '+15550001000', to_number: '+15550002000', message: '👋'.repeat(700) }, 'message'],
    ['a webhook_url that is not http(s)', { from_number: '+15550001000', to_number: '+15550002000', message: 'x', webhook_url: 'ftp://example.com/' }, 'webhook_url'],
    ['a trunk_id that is no trunk', { from_number: '+15550001000', to_number: '+15550002000', message: 'x', trunk_id: randomUUID() }, 'trunk_id'],
    ['an unknown field', { from_number: '+15550001000', to_number: '+15550002000', message: 'x', priority: 'high' }, 'priority'],
  ])('answers 400 naming the field for %s, and stores nothing', async (_name, body, field) => {
    const before = await t.server.db.query<{ n: string }>('SELECT count(*) AS n FROM sms_messages');
    const res = await send(body);
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'validation_failed', field });
    expect(errorOf(res).message).toContain(field);
    const after = await t.server.db.query<{ n: string }>('SELECT count(*) AS n FROM sms_messages');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('answers 401 without a token and 403 with a token lacking sms:write', async () => {
    const body = { from_number: '+15550001000', to_number: '+15550002000', message: 'x' };
    const anonymous = await call(t, 'POST', '/api/sms/send', { body, token: null });
    expect(anonymous.status).toBe(401);
    expect((await call(t, 'GET', '/api/sms/history', { token: null })).status).toBe(401);
    expect((await call(t, 'GET', `/api/sms/${randomUUID()}`, { token: null })).status).toBe(401);
    expect((await send(body, mint({ scope: 'sms:read' }))).status).toBe(403);
    expect((await call(t, 'GET', '/api/sms/history', { token: mint({ scope: 'numbers:read' }) })).status).toBe(403);
  });

  it('answers 404 for an unknown message id, a UUID or not', async () => {
    for (const id of [randomUUID(), '3f1c', 'history-of-nothing']) {
      const res = await call(t, 'GET', `/api/sms/${id}`);
      expect(res.status).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
  });

  it('pages the history with a cursor, newest first, and filters by status and time', async () => {
    const from = '+15550003000';
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await send({ from_number: from, to_number: `+1555000400${i}`, message: `page ${i}` });
      expect(res.status).toBe(202);
      ids.push((res.body as { message_id: string }).message_id);
    }
    for (const id of ids) await settled(id);
    const first = await call(t, 'GET', `/api/sms/history?number=${encodeURIComponent(from)}&limit=2`);
    expect(first.status).toBe(200);
    const p1 = first.body as HistoryJson;
    expect(p1.items.map((m) => m.message_id)).toEqual([ids[2], ids[1]]);
    expect(p1.next_cursor).not.toBeNull();
    const second = await call(t, 'GET', `/api/sms/history?number=${encodeURIComponent(from)}&limit=2&cursor=${encodeURIComponent(p1.next_cursor!)}`);
    const p2 = second.body as HistoryJson;
    expect(p2.items.map((m) => m.message_id)).toEqual([ids[0]]);
    expect(p2.next_cursor).toBeNull();

    const sentOnly = await call(t, 'GET', `/api/sms/history?number=${encodeURIComponent(from)}&status=sent,delivered`);
    expect((sentOnly.body as HistoryJson).items).toHaveLength(3);
    const queuedOnly = await call(t, 'GET', `/api/sms/history?number=${encodeURIComponent(from)}&status=queued`);
    expect((queuedOnly.body as HistoryJson).items).toHaveLength(0);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const none = await call(t, 'GET', `/api/sms/history?number=${encodeURIComponent(from)}&since=${encodeURIComponent(future)}`);
    expect((none.body as HistoryJson).items).toHaveLength(0);
    const until = await call(t, 'GET', `/api/sms/history?number=${encodeURIComponent(from)}&until=${encodeURIComponent(future)}`);
    expect((until.body as HistoryJson).items).toHaveLength(3);
  });

  it.each([
    ['cursor=not-a-cursor', 'cursor'],
    ['status=lost', 'status'],
    ['direction=sideways', 'direction'],
    ['since=yesterday', 'since'],
    ['since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z', 'until'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['page=2', 'page'],
  ])('answers 400 for history?%s naming %s', async (qs, field) => {
    const res = await call(t, 'GET', `/api/sms/history?${qs}`);
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'validation_failed', field });
  });

  it('stores an inbound MESSAGE sent to the SIP port and lists it with direction inbound', async () => {
    const text = 'Reply from the handset 👍';
    const res = await peer.ua.request('MESSAGE', `sip:+15550005000@127.0.0.1:${t.server.sipPorts.udp}`, {
      from: '<sip:+15550006000@carrier.test.invalid>',
      body: Buffer.from(text, 'utf8'),
      contentType: 'text/plain;charset=UTF-8',
    });
    expect(res.status).toBe(200);
    const history = await call(t, 'GET', '/api/sms/history?number=%2B15550006000&direction=inbound');
    expect(history.status).toBe(200);
    const items = (history.body as HistoryJson).items;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ direction: 'inbound', status: 'received', from_number: '+15550006000', to_number: '+15550005000', message: text, encoding: 'UCS-2' });
    const one = await call(t, 'GET', `/api/sms/${items[0].message_id}`);
    expect(one.body).toMatchObject({ message_id: items[0].message_id, direction: 'inbound', message: text });
  });

  it('documents the SMS routes in the OpenAPI document with their schemas and scopes', async () => {
    const res = await call(t, 'GET', '/api/openapi.json');
    const paths = (res.body as { paths: Record<string, Record<string, Record<string, unknown>>> }).paths;
    const sendOp = paths['/api/sms/send']['post'];
    expect(sendOp['x-required-scope']).toBe('sms:write');
    const schema = (sendOp['requestBody'] as { content: Record<string, { schema: { required: string[]; properties: Record<string, unknown> } }> }).content['application/json'].schema;
    expect(schema.required.sort()).toEqual(['from_number', 'message', 'to_number']);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['webhook_url', 'trunk_id']));
    expect(Object.keys(sendOp['responses'] as object)).toEqual(expect.arrayContaining(['202', '400', '401']));
    expect(paths['/api/sms/history']['get']['x-required-scope']).toBe('sms:read');
    expect((paths['/api/sms/history']['get']['parameters'] as { name: string }[]).map((p) => p.name).sort()).toEqual(['cursor', 'direction', 'limit', 'number', 'since', 'status', 'until']);
    expect(paths['/api/sms/{message_id}']['get']['parameters']).toEqual([expect.objectContaining({ name: 'message_id', in: 'path' })]);
  });
});

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestDatabase, type TestDatabase } from '../../helpers/db';
import { SmsService, type SmsSender, type SmsView } from '../../../src/sms';
import { createRepositories, type Repositories } from '../../../src/store';
import { verifyWebhookSignature } from '../../../src/util';
import { eventually, startSipStack, type SipStack } from './sip-stack';

// Inbound MESSAGE through the real SIP stack: one UA is the server under test, a second UA plays the trunk.

const KEY = 'webhook-secret';

interface Hook {
  body: string;
  signature: string | undefined;
  json: { event: string; message: SmsView };
}

let t: TestDatabase;
let server: SipStack;
let trunk: SipStack;
let repos: Repositories;
let svc: SmsService;
let http: Server;
let hookUrl: string;
const hooks: Hook[] = [];
const inbound: SmsView[] = [];
let failNextHook = 0;

const noSend: SmsSender = { send: async () => ({ status: 0, reason: 'unused' }) };

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString('utf8')));
    req.on('end', () => resolve(data));
  });
}

beforeAll(async () => {
  t = await createTestDatabase('pg');
  repos = createRepositories(t.db);
  server = await startSipStack();
  trunk = await startSipStack();
  http = createServer((req, res) => {
    void readBody(req).then((body) => {
      if (failNextHook > 0) {
        failNextHook--;
        res.writeHead(503).end();
        return;
      }
      hooks.push({ body, signature: req.headers['x-signature'] as string | undefined, json: JSON.parse(body) as Hook['json'] });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/sms`;
  svc = new SmsService({
    repositories: repos,
    sender: noSend,
    instanceId: 'inbound-test',
    webhooks: { signingKey: KEY, baseDelayMs: 20 },
    onInbound: (m) => {
      inbound.push(m);
    },
  });
  server.ua.handle('MESSAGE', svc.handleInbound);
}, 60_000);

afterAll(async () => {
  await svc?.close();
  await trunk?.close();
  await server?.close();
  await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
  await t?.destroy();
});

function sendMessage(to: string, from: string, body: Buffer | string, opts: { contentType?: string; headers?: [string, string][] } = {}) {
  return trunk.ua.request('MESSAGE', `sip:${to}@127.0.0.1:${server.port}`, {
    from: `<sip:${from}@trunk.test.invalid>`,
    body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
    contentType: opts.contentType ?? 'text/plain;charset=UTF-8',
    headers: opts.headers,
  });
}

it('stores a text to one of our numbers, answers 200, forwards it to the AI platform and the signed webhook', async () => {
  await repos.numbers.upsert('+15557000001', { smsWebhook: hookUrl });
  const text = 'Hi 👋 can I book for 2?';
  const res = await sendMessage('+15557000001', '+15558000001', text);
  expect(res.status).toBe(200);
  const stored = await svc.history({ number: '+15557000001', direction: 'inbound' });
  expect(stored.items).toHaveLength(1);
  expect(stored.items[0]).toMatchObject({ status: 'received', from: '+15558000001', to: '+15557000001', body: text, encoding: 'UCS-2', segments: 1 });
  const view = await eventually(async () => inbound.find((m) => m.to === '+15557000001'));
  expect(view.body).toBe(text);
  const hook = await eventually(async () => hooks.find((h) => h.json.message.to === '+15557000001'));
  expect(hook.json.event).toBe('sms.received');
  expect(hook.json.message.body).toBe(text);
  expect(verifyWebhookSignature(hook.body, KEY, hook.signature)).toBe(true);
});

it('retries the webhook when it answers 5xx', async () => {
  await repos.numbers.upsert('+15557000002', { smsWebhook: hookUrl });
  failNextHook = 2;
  expect((await sendMessage('+15557000002', '+15558000002', 'retry hook')).status).toBe(200);
  const hook = await eventually(async () => hooks.find((h) => h.json.message.to === '+15557000002'));
  expect(hook.json.message.body).toBe('retry hook');
  expect(failNextHook).toBe(0);
});

it('refuses a blocked sender with 403 and stores nothing', async () => {
  await repos.blockedNumbers.block('+15558000666', { reason: 'spam' });
  const res = await sendMessage('+15557000003', '+15558000666', 'buy now');
  expect(res.status).toBe(403);
  expect((await svc.history({ number: '+15558000666' })).items).toHaveLength(0);
});

it('answers 415 with Accept to a body type it does not take', async () => {
  const res = await sendMessage('+15557000004', '+15558000004', '<html/>', { contentType: 'text/html' });
  expect(res.status).toBe(415);
  expect(res.getHeader('Accept')).toContain('text/plain');
});

it('reassembles X-SMS-Concat parts into one stored, forwarded message', async () => {
  const parts = ['first part, ', 'second part, ', 'third part'];
  // Out of order, with a duplicate: every part is acknowledged.
  for (const seq of [2, 1, 2, 3]) {
    const res = await sendMessage('+15557000005', '+15558000005', parts[seq - 1], { headers: [['X-SMS-Concat', `ref=513;seq=${seq};total=3`]] });
    expect(res.status).toBe(200);
  }
  const stored = (await svc.history({ number: '+15557000005' })).items;
  expect(stored).toHaveLength(1);
  expect(stored[0]).toMatchObject({ body: parts.join(''), segments: 3, status: 'received' });
  const forwarded = await eventually(async () => inbound.find((m) => m.to === '+15557000005'));
  expect(forwarded.body).toBe(parts.join(''));
  expect(inbound.filter((m) => m.to === '+15557000005')).toHaveLength(1);
});

it('answers 400 to a malformed X-SMS-Concat', async () => {
  const res = await sendMessage('+15557000006', '+15558000006', 'x', { headers: [['X-SMS-Concat', 'ref=1;seq=5;total=2']] });
  expect(res.status).toBe(400);
});

async function sentMessage(to: string): Promise<string> {
  const { id } = await svc.accept({ from: '+15557000009', to, body: 'receipt please', webhookUrl: hookUrl });
  const claimed = await repos.sms.claimDue('inbound-test', 100, 60_000);
  for (const c of claimed) await repos.sms.markSent(c.id, 'inbound-test', { sipCode: 200 });
  return id;
}

it('moves an outbound message to delivered on an IMDN delivery notification', async () => {
  const id = await sentMessage('+15558000010');
  const xml = `<?xml version="1.0" encoding="UTF-8"?><imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>${id}</message-id><datetime>2024-01-01T00:00:00Z</datetime><delivery-notification><status><delivered/></status></delivery-notification></imdn>`;
  const res = await sendMessage('+15557000009', '+15558000010', xml, { contentType: 'message/imdn+xml' });
  expect(res.status).toBe(200);
  const view = await svc.get(id);
  expect(view).toMatchObject({ status: 'delivered' });
  expect(view?.deliveredAt).toBeInstanceOf(Date);
  const hook = await eventually(async () => hooks.find((h) => h.json.event === 'sms.status' && h.json.message.id === id && h.json.message.status === 'delivered'));
  expect(verifyWebhookSignature(hook.body, KEY, hook.signature)).toBe(true);
});

it('applies a provider status MESSAGE (X-SMS-Status) and answers 200 to receipts for unknown ids', async () => {
  const id = await sentMessage('+15558000011');
  const res = await sendMessage('+15557000009', '+15558000011', '', {
    headers: [
      ['X-SMS-Status', 'undelivered'],
      ['X-SMS-Message-ID', id],
      ['X-SMS-Error', 'absent subscriber'],
    ],
  });
  expect(res.status).toBe(200);
  expect(await svc.get(id)).toMatchObject({ status: 'failed', lastError: 'absent subscriber' });
  const unknown = await sendMessage('+15557000009', '+15558000011', '', {
    headers: [
      ['X-SMS-Status', 'delivered'],
      ['X-SMS-Message-ID', '00000000-0000-4000-8000-000000000000'],
    ],
  });
  expect(unknown.status).toBe(200);
});

import { scenarioPath, startSipp } from '../../helpers/sipp';
import type { TestServer } from '../../helpers/server';
import { call, errorOf, startApiServer, type ApiResponse } from '../api/api-client';
import { parseConcatHeader, type ConcatInfo } from '../../../src/sms';
import { FakeTrunk, eventually, startSipStack, type CapturedMessage, type SipStack } from './sip-stack';

// SMS through the whole server as deployed: config (SMS_GATEWAY_URI, SMS_SEGMENTING, SMS_MAX_ATTEMPTS), the REST
// API, the PostgreSQL queue, the worker, the SIP stack, and peers on real sockets (SIPp UAS, Node UDP gateway).

interface MessageJson {
  message_id: string;
  direction: string;
  status: string;
  segments: number;
  encoding: string;
  attempts: number;
  max_attempts: number;
  last_sip_status: number | null;
  trunk_id: string | null;
  message: string;
}

async function send(t: TestServer, body: Record<string, unknown>): Promise<string> {
  const res = await call(t, 'POST', '/api/sms/send', { body });
  if (res.status !== 202) throw new Error(`send failed: ${res.status} ${res.text}`);
  return (res.body as { message_id: string }).message_id;
}

/** GET /api/sms/{id} until the message left queued/sending. */
function settled(t: TestServer, id: string): Promise<MessageJson> {
  return eventually(async () => {
    const res: ApiResponse = await call(t, 'GET', `/api/sms/${id}`);
    const m = res.body as MessageJson;
    return res.status === 200 && m.status !== 'queued' && m.status !== 'sending' ? m : undefined;
  });
}

function messagesTo(peer: FakeTrunk, id: string): CapturedMessage[] {
  return peer.messages.filter((m) => m.request.method === 'MESSAGE' && m.request.getHeader('X-SMS-Message-ID') === id);
}

describe('SMS_GATEWAY_URI pointing at a SIPp UAS', () => {
  it('sends each API message as one MESSAGE the SIPp gateway answers 200; all become sent', async () => {
    const sipp = await startSipp({ scenario: scenarioPath('uas-message'), calls: 3, timeoutS: 30, keys: { body_regexp: '^Hello from SIP server! #[1-3]$' } });
    let t: TestServer | undefined;
    try {
      t = await startApiServer({ SMS_GATEWAY_URI: `sip:127.0.0.1:${sipp.port}` });
      const server = t;
      const ids = await Promise.all([1, 2, 3].map((i) => send(server, { from_number: '+1234567890', to_number: `+1555010000${i}`, message: `Hello from SIP server! #${i}` })));
      for (const id of ids) expect(await settled(server, id)).toMatchObject({ status: 'sent', attempts: 1, last_sip_status: 200 });
      const result = await sipp.done;
      expect(result.errors).toBe('');
      expect(result.successful).toBe(3);
      expect(result.failed).toBe(0);
    } finally {
      await t?.stop();
      await sipp.stop();
    }
  }, 60_000);
});

describe('without SMS_GATEWAY_URI: routed through the stored trunks', () => {
  let trunkPeer: FakeTrunk;
  let t: TestServer;
  beforeAll(async () => {
    trunkPeer = new FakeTrunk();
    await trunkPeer.start();
    t = await startApiServer();
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await trunkPeer?.close();
  });

  it('sends through the trunk whose prefix matches, as the trunk dials (strip_digits, dial_prefix)', async () => {
    const created = await call(t, 'POST', '/api/trunks', {
      body: {
        name: 'sms-carrier',
        proxy_address: '127.0.0.1',
        proxy_port: trunkPeer.port,
        prefixes: ['+44'],
        strip_digits: 3,
        dial_prefix: '0044',
        supports_outbound: true,
      },
    });
    expect(created.status).toBe(201);
    const trunkId = (created.body as { id: string }).id;
    const id = await send(t, { from_number: '+15550001111', to_number: '+442071234567', message: 'via the trunk' });
    expect(await settled(t, id)).toMatchObject({ status: 'sent', attempts: 1, last_sip_status: 200 });
    const got = messagesTo(trunkPeer, id);
    expect(got).toHaveLength(1);
    expect(got[0].raw.toString('latin1').split('\r\n')[0]).toBe(`MESSAGE sip:00442071234567@127.0.0.1:${trunkPeer.port} SIP/2.0`);
    expect(got[0].body.toString('utf8')).toBe('via the trunk');

    // A message naming the trunk goes through it too, and the trunk is recorded on the message.
    const pinned = await send(t, { from_number: '+15550001111', to_number: '+442079999999', message: 'pinned', trunk_id: trunkId });
    expect(await settled(t, pinned)).toMatchObject({ status: 'sent', trunk_id: trunkId });
    expect(messagesTo(trunkPeer, pinned)).toHaveLength(1);
  }, 60_000);

  it('fails a message when no trunk serves the destination', async () => {
    const id = await send(t, { from_number: '+15550001111', to_number: '+15550009999', message: 'no route' });
    expect(await settled(t, id)).toMatchObject({ status: 'failed', attempts: 1, last_sip_status: 0 });
    expect(messagesTo(trunkPeer, id)).toHaveLength(0);
  });
});

describe('SMS_SEGMENTING and SMS_MAX_ATTEMPTS, inbound MESSAGE', () => {
  let gateway: FakeTrunk;
  let t: TestServer;
  let carrier: SipStack;
  beforeAll(async () => {
    gateway = new FakeTrunk();
    const port = await gateway.start();
    t = await startApiServer({ SMS_GATEWAY_URI: `sip:127.0.0.1:${port}`, SMS_SEGMENTING: 'true', SMS_MAX_ATTEMPTS: '1' });
    carrier = await startSipStack();
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await carrier?.close();
    await gateway?.close();
  });

  it('sends a long text as one MESSAGE per segment with X-SMS-Concat, parts joining to the exact text', async () => {
    const text = 'A'.repeat(150) + ' and then some more text to need a second GSM-7 part.';
    const res = await call(t, 'POST', '/api/sms/send', { body: { from_number: '+15550002222', to_number: '+15550003333', message: text } });
    expect(res.status).toBe(202);
    const { message_id, segments, encoding } = res.body as { message_id: string; segments: number; encoding: string };
    expect({ segments, encoding }).toEqual({ segments: 2, encoding: 'GSM-7' });
    expect(await settled(t, message_id)).toMatchObject({ status: 'sent', segments: 2 });
    const parts = messagesTo(gateway, message_id);
    expect(parts).toHaveLength(2);
    const info = (p: CapturedMessage): ConcatInfo => {
      const parsed = parseConcatHeader(p.request.getHeader('X-SMS-Concat') ?? '');
      if (!parsed.ok) throw new Error(`bad X-SMS-Concat: ${parsed.reason}`);
      return parsed.info;
    };
    expect(parts.map((p) => info(p).total)).toEqual([2, 2]);
    expect(new Set(parts.map((p) => info(p).ref)).size).toBe(1);
    const ordered = [...parts].sort((a, b) => info(a).seq - info(b).seq);
    expect(ordered.map((p) => info(p).seq)).toEqual([1, 2]);
    expect(Buffer.concat(ordered.map((p) => p.body)).toString('utf8')).toBe(text);
  });

  it('fails after one attempt of 503 when SMS_MAX_ATTEMPTS=1', async () => {
    gateway.answer = (req) => (req.getHeader('To')?.includes('+15550004444') ? 503 : 200);
    try {
      const id = await send(t, { from_number: '+15550002222', to_number: '+15550004444', message: 'busy gateway' });
      expect(await settled(t, id)).toMatchObject({ status: 'failed', attempts: 1, max_attempts: 1, last_sip_status: 503 });
      expect(messagesTo(gateway, id)).toHaveLength(1);
    } finally {
      gateway.answer = () => 200;
    }
  });

  it('stores an inbound MESSAGE to the SIP port and lists it as inbound; a blocked sender gets 403', async () => {
    const text = 'Yes, 7pm works 🙂';
    const ok = await carrier.ua.request('MESSAGE', `sip:+15550005555@127.0.0.1:${t.server.sipPorts.udp}`, {
      from: '<sip:+15550006666@carrier.test.invalid>',
      body: Buffer.from(text, 'utf8'),
      contentType: 'text/plain;charset=UTF-8',
    });
    expect(ok.status).toBe(200);
    const history = await call(t, 'GET', '/api/sms/history?direction=inbound&number=%2B15550005555');
    const items = (history.body as { items: MessageJson[] }).items;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ direction: 'inbound', status: 'received', message: text });
    // Inbound messages are not listed as outbound.
    const outbound = await call(t, 'GET', '/api/sms/history?direction=outbound&number=%2B15550005555');
    expect((outbound.body as { items: MessageJson[] }).items).toHaveLength(0);

    expect((await call(t, 'POST', '/api/numbers/block', { body: { number: '+15550007777' } })).status).toBe(201);
    const refused = await carrier.ua.request('MESSAGE', `sip:+15550005555@127.0.0.1:${t.server.sipPorts.udp}`, {
      from: '<sip:+15550007777@carrier.test.invalid>',
      body: Buffer.from('spam', 'utf8'),
      contentType: 'text/plain;charset=UTF-8',
    });
    expect(refused.status).toBe(403);
    const none = await call(t, 'GET', '/api/sms/history?number=%2B15550007777');
    expect((none.body as { items: MessageJson[] }).items).toHaveLength(0);
  });

  it('answers the SMS API with 404 for a message of no kind', async () => {
    const res = await call(t, 'GET', '/api/sms/00000000-0000-4000-8000-000000000000');
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('not_found');
  });
});

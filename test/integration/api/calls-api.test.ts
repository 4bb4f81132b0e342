import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRepositories, type Repositories } from '../../../src/store';
import type { TestServer } from '../../helpers/server';
import { freePort, scenarioPath, startSipp } from '../../helpers/sipp';
import { removeScratch, scratchDir, until } from '../call/call-kit';
import { call, errorOf, mint, startApiServer, type ApiResponse } from './api-client';

// The /api/calls endpoints on the real server (SIP over UDP, PostgreSQL): a call placed through the API reaches a
// SIPp UAS standing in for the outbound trunk, and hold, resume, transfer (to a second SIPp UAS) and hangup act on it.

const run = promisify(execFile);
const WEBHOOK_KEY = 'calls-api-webhook-key';

/**
 * sipp/uas-answer.xml with an Allow header that leaves out REFER (RFC 3261 §20.5): a blind transfer of this party
 * cannot be done by REFER, so the server calls the target itself and bridges it (B2BUA transfer).
 */
const UAS_NO_REFER = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="UAS answer without REFER, re-INVITE, wait for BYE">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Allow: INVITE, ACK, BYE, CANCEL, OPTIONS
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=sendrecv

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>

  <label id="1"/>
  <recv request="INVITE" optional="true" next="2"/>
  <recv request="BYE" next="3"/>

  <label id="2"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Allow: INVITE, ACK, BYE, CANCEL, OPTIONS
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 53655765 2353687638 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=recvonly

    ]]>
  </send>
  <!-- RFC 3261 §15: a BYE may come while our 200 to a re-INVITE still waits for its ACK (the server hangs up while
       its own re-INVITE of this leg is in flight); take either. -->
  <recv request="ACK" optional="true" next="1"/>
  <recv request="BYE" next="3"/>

  <label id="3"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <timewait milliseconds="500"/>
</scenario>
`;

interface Hook {
  body: { event: string; call_id: string };
  signature: string | undefined;
  raw: string;
}

let t: TestServer;
let repos: Repositories;
/** The SIPp UAS that OUTBOUND_PROXY points at (started per test on this port). */
let trunkPort: number;
let hooks: Server;
let hookUrl: string;
const hookLog: Hook[] = [];

beforeAll(async () => {
  hooks = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const sig = req.headers['x-signature'];
      hookLog.push({ body: JSON.parse(raw) as Hook['body'], signature: typeof sig === 'string' ? sig : undefined, raw });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/status`;
  trunkPort = await freePort();
  t = await startApiServer({ SIP_TRANSPORTS: 'udp', OUTBOUND_PROXY: `127.0.0.1:${trunkPort}`, WEBHOOK_SIGNING_KEY: WEBHOOK_KEY });
  repos = createRepositories(t.server.db);
});

afterAll(async () => {
  await t?.stop();
  await new Promise<void>((r) => hooks.close(() => r()));
  removeScratch();
});

const initiateBody = { from_number: '+14155550100', to_number: '+14155550199', webhook_url: 'http://127.0.0.1:9/hook' };

/** Every endpoint, with the scope it needs and a request that would otherwise be valid. */
const ENDPOINTS: { method: string; path: string; body?: unknown; scope: string; wrongScope: string }[] = [
  { method: 'POST', path: '/api/calls/initiate', body: initiateBody, scope: 'calls:write', wrongScope: 'calls:read' },
  { method: 'GET', path: '/api/calls/active', scope: 'calls:read', wrongScope: 'numbers:read' },
  { method: 'GET', path: '/api/calls', scope: 'calls:read', wrongScope: 'sms:write' },
  { method: 'GET', path: '/api/calls/abc@host', scope: 'calls:read', wrongScope: 'trunks:read' },
  { method: 'POST', path: '/api/calls/abc@host/hangup', scope: 'calls:write', wrongScope: 'calls:read' },
  { method: 'POST', path: '/api/calls/abc@host/hold', scope: 'calls:write', wrongScope: 'calls:read' },
  { method: 'POST', path: '/api/calls/abc@host/resume', scope: 'calls:write', wrongScope: 'numbers:write' },
  { method: 'POST', path: '/api/calls/abc@host/transfer', body: { target: '+14155550111' }, scope: 'calls:write', wrongScope: 'calls:read' },
];

describe('authentication and scopes', () => {
  describe.each(ENDPOINTS)('$method $path', ({ method, path, body, wrongScope }) => {
    it('refuses a request without a token (401)', async () => {
      const res = await call(t, method, path, { token: null, body });
      expect(res.status).toBe(401);
      expect(errorOf(res).code).toBe('missing_token');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('refuses a token with a bad signature (401)', async () => {
      const res = await call(t, method, path, { token: mint({ secret: 'some-other-secret-0123456789abcdef' }), body });
      expect(res.status).toBe(401);
      expect(errorOf(res)).toMatchObject({ code: 'invalid_token', message: 'invalid token signature' });
    });

    it('refuses an expired token (401)', async () => {
      const res = await call(t, method, path, { token: mint({ ttlS: -3600 }), body });
      expect(res.status).toBe(401);
      expect(errorOf(res).code).toBe('token_expired');
    });

    it('refuses a token without the scope (403)', async () => {
      const res = await call(t, method, path, { token: mint({ scope: wrongScope }), body });
      expect(res.status).toBe(403);
      expect(errorOf(res).code).toBe('insufficient_scope');
    });
  });

  it('lets calls:write read (a write scope grants reading its area)', async () => {
    expect((await call(t, 'GET', '/api/calls/active', { token: mint({ scope: 'calls:write' }) })).status).toBe(200);
  });
});

describe('validation', () => {
  it.each([
    ['a missing from_number', { to_number: '+14155550199', webhook_url: 'https://example.com/h' }, 'from_number'],
    ['a missing to_number', { from_number: '+14155550100', webhook_url: 'https://example.com/h' }, 'to_number'],
    ['a to_number that is neither a number nor a SIP URI', { ...initiateBody, to_number: 'call me maybe' }, 'to_number'],
    ['a from_number with spaces', { ...initiateBody, from_number: 'not a number' }, 'from_number'],
    ['a missing webhook_url', { from_number: '+14155550100', to_number: '+14155550199' }, 'webhook_url'],
    ['a webhook_url that is not http(s)', { ...initiateBody, webhook_url: 'ftp://example.com/x' }, 'webhook_url'],
    ['a webhook_url with credentials', { ...initiateBody, webhook_url: 'https://u:p@example.com/x' }, 'webhook_url'],
    ['a zero timeout', { ...initiateBody, timeout: 0 }, 'timeout'],
    ['a fractional timeout', { ...initiateBody, timeout: 1.5 }, 'timeout'],
    ['a record flag that is not a boolean', { ...initiateBody, record: 'yes' }, 'record'],
    ['an unknown field', { ...initiateBody, form_number: '+1' }, 'form_number'],
  ])('POST /api/calls/initiate refuses %s, naming the field', async (_name, body, field) => {
    const res = await call(t, 'POST', '/api/calls/initiate', { body });
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'validation_failed', field });
  });

  it('POST /api/calls/initiate refuses a body that is not JSON', async () => {
    const res = await call(t, 'POST', '/api/calls/initiate', { rawBody: '{"from_number": ', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'malformed_json', field: 'body' });
  });

  it.each([
    ['a direction that does not exist', '?direction=sideways', 'direction'],
    ['an unknown status', '?status=completed,lost', 'status'],
    ['a since that is not ISO 8601', '?since=yesterday', 'since'],
    ['an until before since', '?since=2024-02-01T00:00:00Z&until=2024-01-01T00:00:00Z', 'until'],
    ['a limit over 500', '?limit=501', 'limit'],
    ['a cursor we never issued', '?cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ['an unknown parameter', '?numbr=%2B1', 'numbr'],
  ])('GET /api/calls refuses %s, naming the field', async (_name, query, field) => {
    const res = await call(t, 'GET', `/api/calls${query}`);
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'validation_failed', field });
  });

  it.each([
    ['a missing target', {}, 'target'],
    ['an unknown type', { target: '+14155550111', type: 'warm' }, 'type'],
    ['a blind target that is not a number or SIP URI', { target: 'bob' }, 'target'],
    ['an attended target that is not a Call-ID', { target: 'two words', type: 'attended' }, 'target'],
  ])('POST /api/calls/{call_id}/transfer refuses %s, naming the field', async (_name, body, field) => {
    const res = await call(t, 'POST', '/api/calls/abc@host/transfer', { body });
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'validation_failed', field });
  });

  it('refuses a call_id that is not a SIP Call-ID, naming the field', async () => {
    const res = await call(t, 'GET', '/api/calls/has%20space');
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'validation_failed', field: 'call_id' });
  });
});

describe('calls that do not exist', () => {
  it.each([
    ['GET', '/api/calls/nobody@nowhere', undefined],
    ['POST', '/api/calls/nobody@nowhere/hangup', undefined],
    ['POST', '/api/calls/nobody@nowhere/hold', undefined],
    ['POST', '/api/calls/nobody@nowhere/resume', undefined],
    ['POST', '/api/calls/nobody@nowhere/transfer', { target: 'sip:carol@127.0.0.1' }],
  ])('%s %s is 404', async (method, path, body) => {
    const res = await call(t, method, path, { body });
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('not_found');
  });

  it('an action on a call that has ended is 409 call_ended', async () => {
    await repos.calls.create({ callId: 'ended-1@test', instanceId: 'x', direction: 'inbound', fromNumber: '+1', toNumber: '+2' });
    await repos.calls.end('ended-1@test', { status: 'completed' });
    const res = await call(t, 'POST', '/api/calls/ended-1@test/hangup');
    expect(res.status).toBe(409);
    expect(errorOf(res).code).toBe('call_ended');
  });
});

describe('GET /api/calls (history)', () => {
  const base = Date.parse('2024-03-01T12:00:00Z');
  beforeAll(async () => {
    // Five CDRs one minute apart, newest last; three involve +15550009001.
    const rows = [
      { callId: 'hist-1@test', direction: 'inbound' as const, fromNumber: '+15550009001', toNumber: '+15550002000', status: 'completed' as const },
      { callId: 'hist-2@test', direction: 'outbound' as const, fromNumber: '+15550002000', toNumber: '+15550009001', status: 'busy' as const },
      { callId: 'hist-3@test', direction: 'inbound' as const, fromNumber: '+15550009002', toNumber: '+15550002000', status: 'completed' as const },
      { callId: 'hist-4@test', direction: 'inbound' as const, fromNumber: '+15550009001', toNumber: '+15550002000', status: 'no_answer' as const },
      { callId: 'hist-5@test', direction: 'outbound' as const, fromNumber: '+15550002000', toNumber: '+15550009003', status: 'completed' as const },
    ];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const startedAt = new Date(base + i * 60_000);
      await repos.calls.create({ callId: r.callId, instanceId: 'history', direction: r.direction, fromNumber: r.fromNumber, toNumber: r.toNumber, startedAt });
      if (r.status === 'completed') await repos.calls.answer(r.callId, new Date(startedAt.getTime() + 2000));
      await repos.calls.end(r.callId, { status: r.status, endedAt: new Date(startedAt.getTime() + 30_000), hangupCause: 'normal-clearing', hangupSide: 'caller' });
    }
    await repos.callEvents.append('hist-1@test', 'initiated', { from: '+15550009001' }, new Date(base));
    await repos.callEvents.append('hist-1@test', 'answered', {}, new Date(base + 2000));
  });

  const ids = (res: ApiResponse): string[] => (res.body as { items: { call_id: string }[] }).items.map((c) => c.call_id);
  const range = `since=${encodeURIComponent('2024-03-01T11:00:00Z')}&until=${encodeURIComponent('2024-03-01T13:00:00Z')}`;

  it('lists CDRs newest first within a time range', async () => {
    const res = await call(t, 'GET', `/api/calls?${range}`, { token: mint({ scope: 'calls:read' }) });
    expect(res.status).toBe(200);
    expect(ids(res)).toEqual(['hist-5@test', 'hist-4@test', 'hist-3@test', 'hist-2@test', 'hist-1@test']);
    const first = (res.body as { items: Record<string, unknown>[] }).items[4];
    expect(first).toMatchObject({
      call_id: 'hist-1@test',
      direction: 'inbound',
      from_number: '+15550009001',
      status: 'completed',
      started_at: '2024-03-01T12:00:00.000Z',
      answered_at: '2024-03-01T12:00:02.000Z',
      ended_at: '2024-03-01T12:00:30.000Z',
      duration_s: 30,
      billable_s: 28,
      hangup_side: 'caller',
      rtp: expect.objectContaining({ packets_sent: 0 }),
    });
  });

  it('filters by number (either party), direction and status', async () => {
    expect(ids(await call(t, 'GET', `/api/calls?${range}&number=${encodeURIComponent('+15550009001')}`))).toEqual(['hist-4@test', 'hist-2@test', 'hist-1@test']);
    expect(ids(await call(t, 'GET', `/api/calls?${range}&direction=outbound`))).toEqual(['hist-5@test', 'hist-2@test']);
    expect(ids(await call(t, 'GET', `/api/calls?${range}&status=busy,no_answer`))).toEqual(['hist-4@test', 'hist-2@test']);
    expect(ids(await call(t, 'GET', `/api/calls?since=${encodeURIComponent('2024-03-01T12:02:00Z')}&until=${encodeURIComponent('2024-03-01T12:04:00Z')}`))).toEqual([
      'hist-4@test',
      'hist-3@test',
    ]);
  });

  it('pages with a cursor until the last page', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const res = await call(t, 'GET', `/api/calls?${range}&limit=2${q}`);
      expect(res.status).toBe(200);
      const body = res.body as { items: { call_id: string }[]; next_cursor: string | null; limit: number };
      expect(body.limit).toBe(2);
      seen.push(...body.items.map((c) => c.call_id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(['hist-5@test', 'hist-4@test', 'hist-3@test', 'hist-2@test', 'hist-1@test']);
  });

  it('GET /api/calls/{call_id} gives the CDR and its timeline', async () => {
    const res = await call(t, 'GET', '/api/calls/hist-1@test', { token: mint({ scope: 'calls:read' }) });
    expect(res.status).toBe(200);
    const body = res.body as { call_id: string; cdr: Record<string, unknown>; live: unknown; events: { type: string; at: string }[] };
    expect(body.call_id).toBe('hist-1@test');
    expect(body.cdr).toMatchObject({ call_id: 'hist-1@test', status: 'completed' });
    expect(body.live).toBeNull();
    expect(body.events.map((e) => e.type)).toEqual(['initiated', 'answered']);
    expect(body.events[1].at).toBe('2024-03-01T12:00:02.000Z');
  });
});

describe('POST /api/calls/initiate refusals from call control', () => {
  it.each([
    ['an unknown route', { route: 'bogus' }, 400, 'bad_route', 'route'],
    ['an unknown trunk', { trunk: 'no-such-trunk' }, 400, 'no_trunk', 'trunk'],
  ])('refuses %s', async (_name, extra, status, code, field) => {
    const before = t.server.calls.size;
    const res = await call(t, 'POST', '/api/calls/initiate', { body: { ...initiateBody, ...extra } });
    expect(res.status).toBe(status);
    expect(errorOf(res)).toMatchObject({ code, field });
    expect(t.server.calls.size).toBe(before);
  });
});

describe('POST /api/calls/initiate with record and machine_detection', () => {
  it('places the call with recording and answering-machine detection armed, and can hang it up', async () => {
    // Straight to a closed loopback port (not the outbound proxy the SIPp tests below use): the call fails on its own.
    const res = await call(t, 'POST', '/api/calls/initiate', { body: { ...initiateBody, to_number: 'sip:amd@127.0.0.1:9', record: true, machine_detection: true } });
    expect(res.status).toBe(201);
    const callId = (res.body as { call_id: string }).call_id;
    const hung = await call(t, 'POST', `/api/calls/${encodeURIComponent(callId)}/hangup`, { body: {} });
    expect([200, 404, 409]).toContain(hung.status);
  });
});

interface ActiveCall {
  call_id: string;
  state: string;
  on_hold: boolean;
  direction: string;
  from_number: string;
  to_number: string;
  b_leg: { call_id: string } | null;
}

async function active(callId: string): Promise<ActiveCall | undefined> {
  const res = await call(t, 'GET', '/api/calls/active', { token: mint({ scope: 'calls:read' }) });
  expect(res.status).toBe(200);
  const body = res.body as { items: ActiveCall[]; count: number };
  expect(body.count).toBe(body.items.length);
  return body.items.find((c) => c.call_id === callId);
}

describe('live calls through SIPp', () => {
  it('the README curl example places a real call; hold, resume, transfer and hangup act on it', async () => {
    const dir = scratchDir();
    const uasA = join(dir, 'uas-no-refer.xml');
    writeFileSync(uasA, UAS_NO_REFER);
    const trunk = await startSipp({ scenario: uasA, localPort: trunkPort, calls: 1, timeoutS: 60 });
    const carol = await startSipp({ scenario: scenarioPath('uas-answer'), calls: 1, timeoutS: 60 });
    try {
      // From seed-readme.md "Initiate a Call", only host:port, the token and the webhook host replaced (tests talk to
      // loopback only: the webhook goes to a closed local port instead of your-app.com).
      const token = mint({ scope: 'calls:write' });
      const { stdout } = await run('curl', [
        '-sS',
        '-X', 'POST', `http://127.0.0.1:${t.server.apiPort}/api/calls/initiate`,
        '-H', 'Content-Type: application/json',
        '-H', `Authorization: Bearer ${token}`,
        '-d', `{
    "from_number": "+1234567890",
    "to_number": "+0987654321",
    "webhook_url": "http://127.0.0.1:9/webhook"
  }`,
        '-w', '\n%{http_code}',
      ]);
      const lines = stdout.trimEnd().split('\n');
      expect(lines[lines.length - 1]).toBe('201');
      const created = JSON.parse(lines.slice(0, -1).join('\n')) as { call_id: string; direction: string; from_number: string; to_number: string; state: string };
      expect(created).toMatchObject({ direction: 'outbound', from_number: '+1234567890', to_number: '+0987654321', webhook_url: 'http://127.0.0.1:9/webhook' });
      const callId = created.call_id;
      expect(callId).toEqual(expect.any(String));

      // The INVITE went to the outbound proxy (the SIPp UAS), which answers.
      const answered = await until(async () => {
        const c = await active(callId);
        return c?.state === 'answered' ? c : undefined;
      }, 'the call to be answered');
      expect(answered).toMatchObject({ direction: 'outbound', from_number: '+1234567890', to_number: '+0987654321', on_hold: false, b_leg: null });

      const detail = await call(t, 'GET', `/api/calls/${encodeURIComponent(callId)}`);
      expect(detail.status).toBe(200);
      expect((detail.body as { live: ActiveCall }).live).toMatchObject({ call_id: callId, state: 'answered' });

      const held = await call(t, 'POST', `/api/calls/${encodeURIComponent(callId)}/hold`);
      expect(held.status).toBe(200);
      expect(held.body).toEqual({ call_id: callId, action: 'hold', state: 'held' });
      expect(await active(callId)).toMatchObject({ state: 'held', on_hold: true });

      const resumed = await call(t, 'POST', `/api/calls/${encodeURIComponent(callId)}/resume`);
      expect(resumed.status).toBe(200);
      expect(resumed.body).toEqual({ call_id: callId, action: 'resume', state: 'answered' });

      // The party does not take REFER (its Allow says so): the server calls carol and bridges her in.
      const transferred = await call(t, 'POST', `/api/calls/${encodeURIComponent(callId)}/transfer`, { body: { target: `sip:carol@127.0.0.1:${carol.port}`, type: 'blind' } });
      expect(transferred.status).toBe(200);
      expect(transferred.body).toMatchObject({ call_id: callId, action: 'transfer', type: 'blind', outcome: 'completed', method: 'bridge', sip_status: 200 });
      const bridged = await active(callId);
      expect(bridged?.b_leg).toEqual(expect.objectContaining({ call_id: expect.any(String) }));

      const hung = await call(t, 'POST', `/api/calls/${encodeURIComponent(callId)}/hangup`);
      expect(hung.status).toBe(200);
      expect(hung.body).toEqual({ call_id: callId, action: 'hangup', state: null });
      expect(await active(callId)).toBeUndefined();

      // Both SIPp parties got their BYE and finished their scenario.
      const [a, c] = await Promise.all([trunk.done, carol.done]);
      expect(a.errors).toBe('');
      expect(a.successful).toBe(1);
      expect(c.errors).toBe('');
      expect(c.successful).toBe(1);

      // The CDR and the timeline, through the API.
      const done = await until(async () => {
        const res = await call(t, 'GET', `/api/calls/${encodeURIComponent(callId)}`);
        const body = res.body as { cdr: { ended_at: string | null } | null };
        return body.cdr !== null && body.cdr.ended_at !== null ? (res.body as { cdr: Record<string, unknown>; live: unknown; events: { type: string }[] }) : undefined;
      }, 'the closed CDR');
      expect(done.cdr).toMatchObject({ call_id: callId, direction: 'outbound', status: 'completed', hangup_side: 'api', from_number: '+1234567890' });
      expect(done.live).toBeNull();
      expect(done.events.map((e) => e.type)).toEqual(expect.arrayContaining(['initiated', 'answered', 'held', 'transferring', 'completed']));

      const history = await call(t, 'GET', `/api/calls?number=${encodeURIComponent('+1234567890')}&direction=outbound`);
      expect((history.body as { items: { call_id: string }[] }).items.map((i) => i.call_id)).toContain(callId);

      // Ended: further actions are refused as such.
      expect(errorOf(await call(t, 'POST', `/api/calls/${encodeURIComponent(callId)}/hold`)).code).toBe('call_ended');
    } finally {
      await trunk.stop();
      await carol.stop();
    }
  }, 90_000);

  it('a ringing call cannot be held (409); hangup cancels it; the webhook follows the call, signed', async () => {
    const peer = await startSipp({ scenario: scenarioPath('uas-noanswer'), calls: 1, timeoutS: 60 });
    try {
      const res = await call(t, 'POST', '/api/calls/initiate', {
        body: { from_number: '+15550001000', to_number: `sip:late@127.0.0.1:${peer.port}`, webhook_url: hookUrl, timeout: 30, route: 'echo' },
      });
      expect(res.status).toBe(201);
      const callId = (res.body as { call_id: string }).call_id;
      expect(res.headers.get('location')).toBe(`/api/calls/${encodeURIComponent(callId)}`);
      await until(async () => (await active(callId))?.state === 'ringing', 'ringing');

      const hold = await call(t, 'POST', `/api/calls/${encodeURIComponent(callId)}/hold`);
      expect(hold.status).toBe(409);
      expect(errorOf(hold).code).toBe('call_state');
      const transfer = await call(t, 'POST', `/api/calls/${encodeURIComponent(callId)}/transfer`, { body: { target: '+14155550111' } });
      expect(transfer.status).toBe(409);

      const hung = await call(t, 'POST', `/api/calls/${encodeURIComponent(callId)}/hangup`);
      expect(hung.status).toBe(200);
      const r = await peer.done;
      expect(r.errors).toBe('');
      expect(r.successful).toBe(1);

      const seen = await until(() => {
        const mine = hookLog.filter((h) => h.body.call_id === callId);
        return mine.some((h) => h.body.event !== 'initiated' && h.body.event !== 'ringing') ? mine : undefined;
      }, 'the final webhook');
      expect(seen.map((h) => h.body.event)).toContain('initiated');
      for (const h of seen) expect(h.signature).toBe(`sha256=${createHmac('sha256', WEBHOOK_KEY).update(h.raw).digest('hex')}`);
      const cdr = await until(async () => {
        const d = await call(t, 'GET', `/api/calls/${encodeURIComponent(callId)}`);
        const c = (d.body as { cdr: { ended_at: string | null; status: string; webhook_url: string | null } | null }).cdr;
        return c !== null && c.ended_at !== null ? c : undefined;
      }, 'the closed CDR');
      expect(cdr).toMatchObject({ status: 'cancelled', webhook_url: hookUrl });
    } finally {
      await peer.stop();
    }
  }, 90_000);
});


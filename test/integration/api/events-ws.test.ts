import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { MockAiPlatform } from '../../../scripts/mock-ai';
import { startTestServer, type TestServer } from '../../helpers/server';
import { SipRtpPeer } from '../bridge/sip-rtp-peer';

// /ws/events on the API port: JWT in the Authorization header or ?token=, scope calls:read, live call events
// (start, answer, dtmf, end) and inbound SMS as JSON frames.

const SECRET = 'events-ws-test-secret-0123456789abcdef';

let mock: MockAiPlatform;
let srv: TestServer;
const sockets: WebSocket[] = [];
const peers: SipRtpPeer[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function token(scope: string, expiresInS = 600): string {
  return jwt.sign({ sub: 'dashboard', scope }, SECRET, { algorithm: 'HS256', expiresIn: expiresInS });
}

function url(query = ''): string {
  return `ws://127.0.0.1:${srv.server.apiPort}/ws/events${query}`;
}

interface Subscription {
  ws: WebSocket;
  events: Record<string, unknown>[];
}

/** Open a subscription; resolves once the server said `connected`. */
function subscribe(query: string, headers: Record<string, string> = {}): Promise<Subscription> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url(query), { headers });
    sockets.push(ws);
    const events: Record<string, unknown>[] = [];
    ws.on('message', (data: WebSocket.RawData) => {
      const ev = JSON.parse(String(data)) as Record<string, unknown>;
      if (ev['event'] === 'connected') resolve({ ws, events });
      else events.push(ev);
    });
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode ?? 0}`)));
    ws.on('error', reject);
  });
}

/** The HTTP status a refused handshake gets. */
function refusal(query: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url(query), { headers });
    sockets.push(ws);
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => reject(new Error('the handshake was accepted')));
    ws.on('error', () => undefined);
  });
}

beforeAll(async () => {
  mock = new MockAiPlatform({ echo: false, hangupDigit: 'X', clearDigit: 'X' });
  await mock.listen();
  srv = await startTestServer({ DEFAULT_ROUTE: 'ai', OPEN_INBOUND: 'true', AI_PLATFORM_URL: mock.url, AI_RECONNECT_S: '0', JWT_SECRET_KEY: SECRET });
}, 30_000);

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  for (const p of peers) p.close();
  await srv?.stop();
  await mock?.close();
});

describe('/ws/events', () => {
  it('refuses handshakes without a valid token or without scope calls:read', async () => {
    expect(await refusal('')).toBe(401);
    expect(await refusal('?token=not-a-jwt')).toBe(401);
    expect(await refusal('', { Authorization: `Bearer ${token('calls:read', -60)}` })).toBe(401);
    expect(await refusal('', { Authorization: `Bearer ${token('sms:read numbers:write')}` })).toBe(403);
  });

  it('streams start, answer, dtmf and end of a call, and inbound SMS, to authorised subscribers', async () => {
    const all = await subscribe('', { Authorization: `Bearer ${token('calls:read')}` });
    const viaQuery = await subscribe(`?token=${token('admin')}&events=sms`);

    const peer = await SipRtpPeer.create(srv.server.sipPorts.udp!, { allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO' });
    peers.push(peer);
    const index = mock.connections.length;
    const call = await peer.invite('+15550004000');
    const conn = await mock.waitForConnection(index);
    await waitFor('call_start', () => conn.ofType('call_start').length === 1);
    expect(await peer.info('9')).toBe(200);
    await waitFor('dtmf at the AI', () => conn.digits.length === 1);
    conn.sendHangup();
    await peer.waitForBye();
    await waitFor('end event', () => all.events.some((e) => e['event'] === 'end'));

    const mine = all.events.filter((e) => e['call_id'] === call.callId);
    const names = mine.map((e) => e['event']);
    expect(names[0]).toBe('start');
    expect(names).toEqual(expect.arrayContaining(['start', 'answer', 'dtmf', 'end']));
    expect(names.indexOf('answer')).toBeLessThan(names.indexOf('dtmf'));
    expect(names.indexOf('dtmf')).toBeLessThan(names.indexOf('end'));
    expect(mine[0]).toMatchObject({ direction: 'inbound', from: 'caller', to: '+15550004000' });
    expect(mine.find((e) => e['event'] === 'dtmf')).toMatchObject({ digit: '9', source: 'info' });
    expect(mine.find((e) => e['event'] === 'end')).toMatchObject({ cause: 'ai-hangup', side: 'ai' });
    expect(mine.every((e) => typeof e['timestamp'] === 'string' && !Number.isNaN(Date.parse(String(e['timestamp']))))).toBe(true);

    // An inbound SMS: everyone with calls:read sees it; the text only goes to holders of sms:read (admin here).
    expect(await peer.message('+15550004000', 'hello from a phone')).toBe(200);
    await waitFor('sms events', () => all.events.some((e) => e['event'] === 'sms') && viaQuery.events.length === 1);
    expect(viaQuery.events[0]).toMatchObject({ event: 'sms', from: 'caller', to: '+15550004000', message: 'hello from a phone' });
    const plain = all.events.find((e) => e['event'] === 'sms')!;
    expect(plain).toMatchObject({ from: 'caller', to: '+15550004000' });
    expect(plain).not.toHaveProperty('message');
    // The events filter kept call events away from the second subscriber.
    expect(viaQuery.events.every((e) => e['event'] === 'sms')).toBe(true);
  }, 30_000);
});

import { join, resolve } from 'node:path';
import { z } from 'zod';
import { MockAiPlatform, type MockAiConnection } from '../../../scripts/mock-ai';
import { createRepositories } from '../../../src/store';
import { PCMA, PCMU } from '../../../src/dsp';
import { decodeRtp, RtpPacket } from '../../../src/rtp';
import { readPcapUdp } from '../../helpers/pcap';
import { startTestServer, type TestServer } from '../../helpers/server';
import { SipRtpPeer } from '../bridge/sip-rtp-peer';

// Twilio Media Streams mode end to end, checked by a client written to Twilio's published message schema
// (https://www.twilio.com/docs/voice/media-streams/websocket-messages), plus the Twilio-shaped REST hang-up that
// agents (e.g. Pipecat's Twilio serializer) call when the conversation is over.

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'twilio-test-auth-token';
const FIXTURES = resolve(__dirname, '../../fixtures/rtp');

// ---- Twilio's schema: every field Twilio documents, with its JSON type (numbers are sent as strings).
const numericString = z.string().regex(/^\d+$/);
const streamSid = z.string().regex(/^MZ[0-9a-f]{32}$/);
const connectedSchema = z.strictObject({ event: z.literal('connected'), protocol: z.literal('Call'), version: z.literal('1.0.0') });
const startSchema = z.strictObject({
  event: z.literal('start'),
  sequenceNumber: numericString,
  start: z.strictObject({
    accountSid: z.literal(ACCOUNT_SID),
    streamSid,
    callSid: z.string().regex(/^CA[0-9a-f]{32}$/),
    tracks: z.array(z.enum(['inbound', 'outbound'])).min(1),
    customParameters: z.record(z.string(), z.string()),
    mediaFormat: z.strictObject({ encoding: z.literal('audio/x-mulaw'), sampleRate: z.literal(8000), channels: z.literal(1) }),
  }),
  streamSid,
});
const mediaSchema = z.strictObject({
  event: z.literal('media'),
  sequenceNumber: numericString,
  media: z.strictObject({ track: z.literal('inbound'), chunk: numericString, timestamp: numericString, payload: z.string().regex(/^[A-Za-z0-9+/]+=*$/) }),
  streamSid,
});
const dtmfSchema = z.strictObject({ event: z.literal('dtmf'), streamSid, sequenceNumber: numericString, dtmf: z.strictObject({ track: z.literal('inbound_track'), digit: z.string().length(1) }) });
const markSchema = z.strictObject({ event: z.literal('mark'), sequenceNumber: numericString, streamSid, mark: z.strictObject({ name: z.string() }) });
const stopSchema = z.strictObject({
  event: z.literal('stop'),
  sequenceNumber: numericString,
  streamSid,
  stop: z.strictObject({ accountSid: z.literal(ACCOUNT_SID), callSid: z.string().regex(/^CA[0-9a-f]{32}$/) }),
});
const twilioErrorSchema = z.object({ code: z.number().int(), message: z.string(), more_info: z.string(), status: z.number().int() });

let mock: MockAiPlatform;
let srv: TestServer;
const peers: SipRtpPeer[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function restUrl(accountSid: string, callSid: string): string {
  return `http://127.0.0.1:${srv.server.apiPort}/2010-04-01/Accounts/${accountSid}/Calls/${callSid}.json`;
}

function hangUp(accountSid: string, callSid: string, user = ACCOUNT_SID, token = AUTH_TOKEN, status = 'completed'): Promise<Response> {
  return fetch(restUrl(accountSid, callSid), {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ Status: status }).toString(),
  });
}

beforeAll(async () => {
  mock = new MockAiPlatform({ protocol: 'twilio', echo: false, hangupDigit: 'X', clearDigit: 'X' });
  await mock.listen();
  srv = await startTestServer({
    DEFAULT_ROUTE: 'ai',
    // Callers here are no trunk: accept calls from any source.
    OPEN_INBOUND: 'true',
    AI_PLATFORM_URL: mock.url,
    AI_PROTOCOL: 'twilio',
    AI_RECONNECT_S: '0',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  });
  // The number's ai_settings become the stream's customParameters.
  await createRepositories(srv.server.db).numbers.upsert('+15550001000', { route: 'ai', aiSettings: { agent: 'support', custom_parameters: { tier: 'gold' } } });
}, 30_000);

afterAll(async () => {
  for (const p of peers) p.close();
  await srv?.stop();
  await mock?.close();
});

describe('Twilio Media Streams mode', () => {
  let peer: SipRtpPeer;
  let conn: MockAiConnection;
  let callId: string;

  it('speaks Twilio’s schema: connected, start, media, dtmf, mark; the app’s media, mark and clear work', async () => {
    peer = await SipRtpPeer.create(srv.server.sipPorts.udp!, { allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO' });
    peers.push(peer);
    const index = mock.connections.length;
    callId = (await peer.invite('+15550001000')).callId;
    conn = await mock.waitForConnection(index);
    await waitFor('start', () => conn.ofType('start').length === 1);

    expect(conn.invalid).toEqual([]);
    expect(connectedSchema.parse(conn.messages[0])).toBeTruthy();
    const start = startSchema.parse(conn.messages[1]);
    expect(start.start.customParameters).toMatchObject({ agent: 'support', tier: 'gold', to: '+15550001000', direction: 'inbound' });

    // Caller audio: one second of the pcap's A-law packets, at their real rate.
    const packets = readPcapUdp(join(FIXTURES, 'g711a.pcap'))
      .map((u) => u.payload)
      .slice(0, 34);
    const t0 = performance.now();
    for (let i = 0; i < packets.length; i++) {
      const wait = t0 + i * 30 - performance.now();
      if (wait > 0) await sleep(wait);
      peer.sendRtp(packets[i]);
    }
    expect(await peer.info('7')).toBe(200);
    await waitFor('dtmf', () => conn.ofType('dtmf').length === 1);
    await sleep(200);

    const media = conn.ofType('media').map((m) => mediaSchema.parse(m));
    expect(media.length).toBeGreaterThan(45);
    // sequenceNumber counts every message of the stream (start was 1); chunk counts media messages from 1.
    expect(media.map((m) => Number(m.media.chunk))).toEqual(media.map((_m, i) => i + 1));
    expect(media.every((m) => Buffer.from(m.media.payload, 'base64').length === 160)).toBe(true);
    const pkt = new RtpPacket();
    const sentAlaw = Buffer.concat(packets.map((p) => (decodeRtp(p, pkt) === null ? Buffer.from(pkt.payload) : Buffer.alloc(0))));
    const expectedUlaw = Buffer.from(PCMU.encode(PCMA.decode(sentAlaw)));
    const got = Buffer.concat(media.map((m) => Buffer.from(m.media.payload, 'base64')));
    expect(got.indexOf(expectedUlaw)).toBeGreaterThanOrEqual(0);

    const dtmf = dtmfSchema.parse(conn.ofType('dtmf')[0]);
    expect(dtmf.dtmf.digit).toBe('7');
    expect(dtmf.streamSid).toBe(start.streamSid);

    // The app speaks (mu-law), marks, and the mark comes back once played.
    conn.sendAudio(new Int16Array(1600).map((_v, i) => Math.round(5000 * Math.sin(i / 3))));
    conn.sendMark('greeting-done');
    await waitFor('mark', () => conn.ofType('mark').length === 1);
    expect(markSchema.parse(conn.ofType('mark')[0]).mark.name).toBe('greeting-done');
    // clear with a pending mark: Twilio sends the mark back as well.
    conn.sendAudio(new Int16Array(40_000).fill(3000));
    conn.sendMark('interrupted');
    conn.sendClear();
    await waitFor('second mark', () => conn.ofType('mark').length === 2);
    expect(markSchema.parse(conn.ofType('mark')[1]).mark.name).toBe('interrupted');
    expect(srv.server.calls.call(callId)!.a.media!.queuedSamples).toBe(0);
  }, 30_000);

  it('hangs up through POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json with basic auth', async () => {
    const callSid = startSchema.parse(conn.messages[1]).start.callSid;
    expect(srv.server.ai.callIdForTwilioSid(callSid)).toBe(callId);

    const wrong = await hangUp(ACCOUNT_SID, callSid, ACCOUNT_SID, 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(twilioErrorSchema.parse(await wrong.json()).code).toBe(20003);
    const otherAccount = await hangUp('AC' + 'f'.repeat(32), callSid);
    expect(otherAccount.status).toBe(401);
    const unknown = await hangUp(ACCOUNT_SID, 'CA' + '0'.repeat(32));
    expect(unknown.status).toBe(404);
    expect(twilioErrorSchema.parse(await unknown.json()).code).toBe(20404);
    const unsupported = await hangUp(ACCOUNT_SID, callSid, ACCOUNT_SID, AUTH_TOKEN, 'in-progress');
    expect(unsupported.status).toBe(400);
    expect(peer.byeReceived).toBe(false);

    const res = await hangUp(ACCOUNT_SID, callSid);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sid: callSid, account_sid: ACCOUNT_SID, status: 'completed', to: '+15550001000', api_version: '2010-04-01' });
    await peer.waitForBye();
    await waitFor('stop', () => conn.ofType('stop').length === 1);
    expect(stopSchema.parse(conn.ofType('stop')[0]).stop.callSid).toBe(callSid);
    // Every frame the client got was JSON text and matched one of the documented messages.
    const all = z.union([connectedSchema, startSchema, mediaSchema, dtmfSchema, markSchema, stopSchema]);
    for (const m of conn.messages) expect(all.safeParse(m).success).toBe(true);
    expect(conn.binary).toHaveLength(0);
  }, 30_000);
});

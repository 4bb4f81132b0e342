import { join, resolve } from 'node:path';
import { MockAiPlatform } from '../../../scripts/mock-ai';
import { PCMA } from '../../../src/dsp';
import { decodeRtp, RtpPacket } from '../../../src/rtp';
import { createRepositories } from '../../../src/store';
import { readPcapUdp } from '../../helpers/pcap';
import { startTestServer, type TestServer } from '../../helpers/server';
import { SipRtpPeer } from './sip-rtp-peer';

// Per-number AI settings: the server's default AI speaks the native protocol, but number +15550003000 is set to a
// jambonz `listen` app at 16 kHz with its own URL. The jambonz app gets the metadata text frame first, then binary
// L16 frames at the wideband rate; its echoed audio reaches the caller; DTMF arrives as events; `disconnect` ends
// the call.

const FIXTURES = resolve(__dirname, '../../fixtures/rtp');

let nativeAi: MockAiPlatform;
let jambonz: MockAiPlatform;
let srv: TestServer;
let peer: SipRtpPeer | undefined;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

beforeAll(async () => {
  nativeAi = new MockAiPlatform({ protocol: 'native' });
  jambonz = new MockAiPlatform({ protocol: 'jambonz', echo: true });
  await Promise.all([nativeAi.listen(), jambonz.listen()]);
  srv = await startTestServer({ DEFAULT_ROUTE: 'ai', OPEN_INBOUND: 'true', AI_PLATFORM_URL: nativeAi.url, AI_RECONNECT_S: '0' });
  await createRepositories(srv.server.db).numbers.upsert('+15550003000', {
    route: 'ai',
    aiSettings: { url: jambonz.url, protocol: 'jambonz', sample_rate: 16000, agent: 'wideband-bot' },
  });
}, 30_000);

afterAll(async () => {
  peer?.close();
  await srv?.stop();
  await Promise.all([nativeAi?.close(), jambonz?.close()]);
});

describe('ai route with a number set to jambonz (per-number URL, protocol and wideband rate)', () => {
  it('sends metadata then binary L16 at 16 kHz, plays the app’s audio, passes DTMF, and disconnect hangs up', async () => {
    peer = await SipRtpPeer.create(srv.server.sipPorts.udp!, { allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO' });
    const call = await peer.invite('+15550003000');
    const conn = await jambonz.waitForConnection(0);
    expect(conn.request.headers['sec-websocket-protocol']).toBe('audio.jambonz.org');
    await waitFor('metadata', () => conn.messages.length >= 1);
    expect(conn.messages[0]).toMatchObject({ callSid: expect.any(String), from: 'caller', to: '+15550003000', direction: 'inbound', sampleRate: 16000, agent: 'wideband-bot' });
    expect(nativeAi.connections).toHaveLength(0);

    const packets = readPcapUdp(join(FIXTURES, 'g711a.pcap'))
      .map((u) => u.payload)
      .slice(0, 50);
    const t0 = performance.now();
    for (let i = 0; i < packets.length; i++) {
      const wait = t0 + i * 30 - performance.now();
      if (wait > 0) await sleep(wait);
      peer.sendRtp(packets[i]);
    }
    expect(await peer.info('5')).toBe(200);
    await waitFor('dtmf event', () => conn.digits.length === 1);
    expect(conn.digits).toEqual(['5']);
    await sleep(300);

    // 20 ms of L16 at 16 kHz = 640 bytes per binary frame.
    expect(conn.binary.length).toBeGreaterThan(50);
    expect(conn.binary.every((b) => b.length === 640)).toBe(true);
    // The echo (16 kHz, resampled to 8 kHz by the bridge) reached the caller: speech energy, not silence.
    const heard = PCMA.decode(Buffer.concat(peer.received.filter((p) => p.payloadType === 8).map((p) => p.payload)));
    const loudSamples = (pcm: Int16Array): number => pcm.reduce((n, v) => (Math.abs(v) > 1000 ? n + 1 : n), 0);
    const pkt = new RtpPacket();
    const sent = PCMA.decode(Buffer.concat(packets.map((p) => (decodeRtp(p, pkt) === null ? Buffer.from(pkt.payload) : Buffer.alloc(0)))));
    expect(loudSamples(sent)).toBeGreaterThan(100);
    expect(loudSamples(heard)).toBeGreaterThan(loudSamples(sent) * 0.5);

    conn.send({ type: 'disconnect' });
    await peer.waitForBye();
    const res = await srv.server.db.query('SELECT hangup_side FROM calls WHERE call_id = $1', [call.callId]);
    expect(res.rows.length).toBe(1);
  }, 30_000);
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MockAiPlatform, type MockAiConnection } from '../../../scripts/mock-ai';
import { PCMA } from '../../../src/dsp';
import { decodeRtp, RtpPacket } from '../../../src/rtp';
import { readPcapUdp } from '../../helpers/pcap';
import { startTestServer, type TestServer } from '../../helpers/server';
import { runSipp, scenarioPath, startSipp } from '../../helpers/sipp';
import { SipRtpPeer } from './sip-rtp-peer';

// The `ai` route end to end: a real server (DEFAULT_ROUTE=ai) bridged to an in-process MockAiPlatform, callers
// played by SIPp (pcap audio and RFC 4733 DTMF) and by a Node SIP/RTP peer that records what the caller hears.

const FIXTURES = resolve(__dirname, '../../fixtures/rtp');
const FRAME = 160;

let mock: MockAiPlatform;
let srv: TestServer;
let dir: string;
const peers: SipRtpPeer[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A short WAV (PCM16 8 kHz mono) of a 600 Hz tone: the fallback message. */
function toneWav(ms: number): Buffer {
  const n = (8000 * ms) / 1000;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 600 * i) / 8000)), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** Deterministic "speech": a chirp whose every 20 ms frame differs from the others. */
function speech(samples: number): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round(6000 * Math.sin((2 * Math.PI * (300 + (i % 8000) / 10) * i) / 8000));
  return out;
}

function indexOfSeq(haystack: Int16Array, needle: Int16Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function pcapAudio(name: string): Int16Array {
  const pkt = new RtpPacket();
  const payloads: Buffer[] = [];
  for (const udp of readPcapUdp(join(FIXTURES, name))) {
    if (decodeRtp(udp.payload, pkt) === null && pkt.payloadType === 8) payloads.push(Buffer.from(pkt.payload));
  }
  return PCMA.decode(Buffer.concat(payloads));
}

function dataOf(m: Record<string, unknown>): Record<string, unknown> {
  return (m['data'] ?? {}) as Record<string, unknown>;
}

function sendSpeech(conn: MockAiConnection, pcm: Int16Array): void {
  // 100 ms chunks: the server must take any chunk size and pace playout on its own clock.
  for (let i = 0; i < pcm.length; i += 800) conn.sendAudio(pcm.subarray(i, Math.min(pcm.length, i + 800)));
}

async function newPeer(): Promise<SipRtpPeer> {
  // No REFER in Allow: a transfer of this party is done by the server as a B2BUA (RFC 3261 §20.5).
  const p = await SipRtpPeer.create(srv.server.sipPorts.udp!, { allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS' });
  peers.push(p);
  return p;
}

async function cdr(callId: string): Promise<{ status: string; hangup_cause: string | null; hangup_side: string | null }> {
  let row: { status: string; hangup_cause: string | null; hangup_side: string | null; ended_at: unknown } | undefined;
  for (let i = 0; i < 500; i++) {
    const res = await srv.server.db.query('SELECT status, hangup_cause, hangup_side, ended_at FROM calls WHERE call_id = $1', [callId]);
    row = res.rows[0] as typeof row;
    if (row?.ended_at != null) return row;
    await sleep(20);
  }
  throw new Error(`CDR of ${callId} never closed`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ai-route-'));
  writeFileSync(join(dir, 'sorry.wav'), toneWav(400));
  // Digits must reach the AI and nothing else: the mock's scripted reactions are switched off.
  mock = new MockAiPlatform({ echo: false, hangupDigit: 'X', clearDigit: 'X', transferDigit: 'X' });
  await mock.listen();
  srv = await startTestServer({
    DEFAULT_ROUTE: 'ai',
    // Callers here are no trunk: accept calls from any source.
    OPEN_INBOUND: 'true',
    AI_PLATFORM_URL: mock.url,
    AI_CONNECT_TIMEOUT_MS: '2000',
    AI_RECONNECT_S: '0',
    AI_FALLBACK: 'hangup',
    AI_FALLBACK_MESSAGE: join(dir, 'sorry.wav'),
  });
}, 30_000);

afterEach(() => {
  mock.rejectStatus = 0;
});

afterAll(async () => {
  for (const p of peers) p.close();
  await srv?.stop();
  await mock?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ai route: SIPp plays G.711 and RFC 2833 captures to the AI', () => {
  it('delivers call_start, the pcap audio frame for frame without gaps, and each digit once', async () => {
    const xml = readFileSync(scenarioPath('uac-pcap'), 'utf8').replace(/play_pcap_audio="test\/fixtures\/rtp\//g, `play_pcap_audio="${FIXTURES}/`);
    const scenario = join(dir, 'uac-pcap.xml');
    writeFileSync(scenario, xml);
    const index = mock.connections.length;
    const run = runSipp({ scenario, target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 40 });
    const conn = await mock.waitForConnection(index);
    const result = await run;
    expect(result.errors).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.successful).toBe(1);
    await waitFor('call_end', () => conn.ofType('call_end').length === 1);

    const start = conn.ofType('call_start');
    expect(start).toHaveLength(1);
    const sd = dataOf(start[0]);
    expect(sd).toMatchObject({ from_number: 'sipp', to_number: '1000', direction: 'inbound', codec: 'PCMA', sample_rate: 8000, resumed: false });
    expect(typeof sd['call_id']).toBe('string');

    const frames = conn.ofType('audio_data').map(dataOf);
    // The uplink takes the caller's audio as it arrives (no playout clock, so no concealment after the stream ends):
    // at least the capture's 354 frames.
    expect(frames.length).toBeGreaterThanOrEqual(354);
    // seq counts frames from 0: any gap would mean a dropped frame.
    expect(frames.map((f) => f['seq'])).toEqual(frames.map((_f, i) => i));
    expect(frames.every((f) => f['call_id'] === sd['call_id'] && typeof f['timestamp'] === 'number')).toBe(true);
    const bytes = frames.map((f) => Buffer.from(String(f['audio']), 'base64'));
    expect(bytes.every((b) => b.length === 320)).toBe(true);
    const all = Buffer.concat(bytes);
    const received = new Int16Array(all.buffer, all.byteOffset, all.length / 2);
    const expected = pcapAudio('g711a.pcap');
    // 236 packets of 30 ms = 354 frames of 20 ms: the whole capture, in order, sample for sample, frame aligned.
    const at = indexOfSeq(received, expected);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(at % FRAME).toBe(0);

    expect(conn.digits.join('')).toBe('0123456789*#');
    expect(conn.ofType('dtmf').every((m) => dataOf(m)['source'] === 'rfc4733')).toBe(true);
    expect(dataOf(conn.ofType('call_end')[0])['reason']).toBe('normal-clearing');
  }, 60_000);
});

describe('ai route: the AI talks to the caller', () => {
  it('plays AI audio as RTP paced at 20 ms, reports marks played, and clear stops playback at once', async () => {
    const peer = await newPeer();
    const index = mock.connections.length;
    const call = await peer.invite('2000');
    const conn = await mock.waitForConnection(index);
    await waitFor('call_start', () => conn.ofType('call_start').length === 1);

    const media = srv.server.calls.call(call.callId)!.a.media!;
    // 1 s of speech, then a mark: it comes back `played` once the audio before it was sent.
    const first = speech(8000);
    sendSpeech(conn, first);
    conn.sendMark('spoken');
    await waitFor('mark spoken', () => conn.ofType('mark').some((m) => dataOf(m)['name'] === 'spoken'));
    expect(dataOf(conn.ofType('mark').find((m) => dataOf(m)['name'] === 'spoken')!)).toMatchObject({ event: 'played' });
    // Every packet sent so far has reached the peer (same host: nothing is lost on the way, it may only be late).
    const sentSoFar = (): number => media.stats().framesSent + media.stats().silenceSent;
    const sentAtMark = sentSoFar();
    await waitFor('the packets sent to reach the peer', () => peer.received.filter((p) => p.payloadType === 8).length >= sentAtMark);

    const pcma = peer.received.filter((p) => p.payloadType === 8);
    const heard = PCMA.decode(Buffer.concat(pcma.map((p) => p.payload)));
    const spoken = PCMA.decode(Buffer.from(PCMA.encode(first)));
    // When the process was starved mid-utterance (a stall of the 20 ms clock), the send queue drops as many of the
    // oldest frames as periods were lost while 200 ms or less was left queued (PcmQueue: playout stays in real time)
    // and counts them. Every frame of the utterance is either heard, in order and unchanged, or counted as dropped;
    // with no stall, all of it is heard as one unbroken run.
    const stallDropped = media.stats().queueStallDropped / FRAME;
    if (stallDropped === 0) {
      expect(indexOfSeq(heard, spoken)).toBeGreaterThanOrEqual(0);
    } else {
      let cursor = 0;
      let heardFrames = 0;
      for (let f = 0; f < spoken.length; f += FRAME) {
        const at = indexOfSeq(heard, spoken.subarray(f, f + FRAME), cursor);
        if (at < 0) continue;
        cursor = at + FRAME;
        heardFrames++;
      }
      expect(heardFrames + stallDropped).toBe(spoken.length / FRAME);
    }
    // One packet per 20 ms of audio: within a talk spurt RTP timestamps step by 160 (RFC 3551 §4.5). A packet after a
    // gap in sending (the clock stalled) starts a new talk spurt: marker set, timestamp moved on by the time that
    // passed (RFC 3550 §5.1), never back.
    const steps: number[] = [];
    const spurtSteps: number[] = [];
    for (let i = 1; i < pcma.length; i++) {
      if (((pcma[i].seq - pcma[i - 1].seq) & 0xffff) !== 1) continue;
      const step = (pcma[i].timestamp - pcma[i - 1].timestamp) >>> 0;
      (pcma[i].marker ? spurtSteps : steps).push(step);
    }
    expect(steps.length + spurtSteps.length).toBeGreaterThan(40);
    expect(steps.every((s) => s === FRAME)).toBe(true);
    expect(spurtSteps.every((s) => s >= FRAME && s < 0x80000000)).toBe(true);
    // Paced, not sent in a burst: the utterance's packets leave one per 20 ms tick, never more than one period early,
    // so their arrivals span at least about a second. A starved machine only spreads them further; the bound is half
    // of that, to allow for a late read of the first packet in this process.
    const utterance = pcma.filter((p) => p.payload.some((b) => b !== 0xd5 && b !== 0x55));
    expect(utterance.length).toBeGreaterThan(40);
    expect(utterance[utterance.length - 1].at - utterance[0].at).toBeGreaterThan(500);

    // Barge-in: 5 s queued, `clear` after a few frames: nothing queued is sent after it, the mark is `cleared`.
    const sentBefore = media.stats().framesSent;
    sendSpeech(conn, speech(40_000));
    conn.sendMark('long');
    await waitFor('playback to start', () => media.stats().framesSent >= sentBefore + 5);
    conn.sendClear();
    await waitFor('mark long', () => conn.ofType('mark').some((m) => dataOf(m)['name'] === 'long'));
    expect(dataOf(conn.ofType('mark').find((m) => dataOf(m)['name'] === 'long')!)).toMatchObject({ event: 'cleared' });
    expect(media.queuedSamples).toBe(0);
    const sentAtClear = media.stats().framesSent;
    await sleep(300);
    expect(media.stats().framesSent).toBe(sentAtClear);
    expect(sentAtClear - sentBefore).toBeLessThan(250);

    expect(await peer.bye()).toBe(200);
    await waitFor('call_end', () => conn.ofType('call_end').length === 1);
  }, 30_000);

  it('AI hangup sends BYE to the caller; the CDR says the AI ended it', async () => {
    const peer = await newPeer();
    const index = mock.connections.length;
    const call = await peer.invite('2001');
    const conn = await mock.waitForConnection(index);
    await waitFor('call_start', () => conn.ofType('call_start').length === 1);
    conn.sendHangup();
    await peer.waitForBye();
    const row = await cdr(call.callId);
    expect(row).toMatchObject({ status: 'completed', hangup_cause: 'ai-hangup', hangup_side: 'ai' });
  }, 30_000);

  it('AI transfer moves the caller to the target (a SIPp UAS) and ends the AI session', async () => {
    const carol = await startSipp({ scenario: scenarioPath('uas-answer'), calls: 1, timeoutS: 40 });
    try {
      const peer = await newPeer();
      const index = mock.connections.length;
      await peer.invite('2002');
      const conn = await mock.waitForConnection(index);
      await waitFor('call_start', () => conn.ofType('call_start').length === 1);
      conn.sendTransfer(`sip:carol@127.0.0.1:${carol.port}`);
      await waitFor('call_end to the AI', () => conn.ofType('call_end').length === 1, 15_000);
      expect(dataOf(conn.ofType('call_end')[0])['reason']).toBe('transferred');
      expect(peer.byeReceived).toBe(false);
      // The caller now talks to carol; its hang-up ends carol's leg too.
      expect(await peer.bye()).toBe(200);
      const result = await carol.done;
      expect(result.successful).toBe(1);
    } finally {
      await carol.stop();
    }
  }, 60_000);
});

describe('ai route: the AI platform is unreachable', () => {
  it('answers, plays the fallback message, hangs up, and the CDR says ai-unavailable', async () => {
    mock.rejectStatus = 503;
    const peer = await newPeer();
    const call = await peer.invite('2003');
    await peer.waitForBye();
    // The message (a 600 Hz tone) was played before the BYE.
    const heard = PCMA.decode(Buffer.concat(peer.received.filter((p) => p.payloadType === 8).map((p) => p.payload)));
    let loud = 0;
    for (let i = 0; i < heard.length; i++) if (Math.abs(heard[i]) > 4000) loud++;
    expect(loud).toBeGreaterThan(1000);
    const row = await cdr(call.callId);
    expect(row).toMatchObject({ hangup_cause: 'ai-unavailable', hangup_side: 'ai' });
    const events = await srv.server.db.query('SELECT type FROM call_events WHERE call_id = $1', [call.callId]);
    expect(events.rows.map((r) => (r as { type: string }).type)).toContain('ai-unavailable');
  }, 30_000);
});

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ivrMenuSchema, ivrMenuToRecord } from '../../../src/call';
import { decodeWav, loadWavAs8kMono, PCMU } from '../../../src/dsp';
import { createRepositories } from '../../../src/store';
import { MockAiPlatform } from '../../../scripts/mock-ai';
import { scenarioPath, startSipp } from '../../helpers/sipp';
import type { TestServer } from '../../helpers/server';
import { WebhookSink } from '../../helpers/webhook-sink';
import { call, recordingOf, startApiServer } from '../api/api-client';
import { endedCdr, removeScratch, scratchDir, until } from './call-kit';
import { channel, toneSamples, toneShare, wavOf } from './ivr-queue-kit';

// POST /api/calls/initiate with `record` and `machine_detection`, end to end: the real HTTP API (JWT), the real
// PostgreSQL, and a SIPp UAS that answers and plays known audio from a capture (play_pcap_audio). The captures are
// written here from 8 kHz PCM (a 440 Hz tone, the committed AMD fixtures) as PCMU RTP in 20 ms packets.

const AMD_FIXTURES = resolve(__dirname, '../../fixtures/audio/amd');

let srv: TestServer;
let hooks: WebhookSink;
let mock: MockAiPlatform;
let menuId = '';

const tone = (hz: number, ms: number, dbm0 = -14): Int16Array => toneSamples({ segments: [{ frequencies: [hz], levelsDbm0: [dbm0], durationMs: ms }], repeat: false }, ms);

/**
 * A classic pcap (Ethernet, IPv4, UDP) of `pcm` as PCMU RTP (RFC 3551), one 20 ms packet per 160 samples, time-stamped
 * 20 ms apart so SIPp replays it at real time. Addresses and ports are placeholders: SIPp sends from its media port
 * to the address of the SDP it received.
 */
function pcapOf(pcm: Int16Array): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  parts.push(head);
  const ssrc = 0x5eed1234;
  for (let off = 0, n = 0; off < pcm.length; off += 160, n++) {
    const payload = new Uint8Array(160).fill(0xff);
    PCMU.encodeInto(pcm.subarray(off, Math.min(off + 160, pcm.length)), payload);
    const rtp = Buffer.alloc(12 + 160);
    rtp[0] = 0x80;
    rtp[1] = (n === 0 ? 0x80 : 0) | 0; // marker on the first packet, PT 0 (PCMU)
    rtp.writeUInt16BE((1000 + n) & 0xffff, 2);
    rtp.writeUInt32BE((n * 160) >>> 0, 4);
    rtp.writeUInt32BE(ssrc, 8);
    Buffer.from(payload).copy(rtp, 12);
    const udpLen = 8 + rtp.length;
    const ipLen = 20 + udpLen;
    const frame = Buffer.alloc(14 + ipLen);
    frame.writeUInt16BE(0x0800, 12);
    frame[14] = 0x45;
    frame.writeUInt16BE(ipLen, 16);
    frame[22] = 64;
    frame[23] = 17;
    Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]).copy(frame, 26);
    frame.writeUInt16BE(4000, 34);
    frame.writeUInt16BE(6000, 36);
    frame.writeUInt16BE(udpLen, 38);
    rtp.copy(frame, 42);
    const rec = Buffer.alloc(16);
    const us = n * 20_000;
    rec.writeUInt32LE(1_700_000_000 + Math.floor(us / 1e6), 0);
    rec.writeUInt32LE(us % 1e6, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  }
  return Buffer.concat(parts);
}

/** sipp/uas-answer.xml (answers with PCMU, takes re-INVITEs, answers our BYE) playing `pcap` once the ACK is in. */
function uasScenario(pcap: string): string {
  const ack = '<recv request="ACK" crlf="true"/>';
  const xml = readFileSync(scenarioPath('uas-answer'), 'utf8');
  if (!xml.includes(ack)) throw new Error(`no ${ack} in sipp/uas-answer.xml`);
  // play_pcap_audio returns at once; the scenario's wait for the BYE keeps the call up while the capture plays.
  const file = join(scratchDir(), 'uas-pcap.xml');
  writeFileSync(file, xml.replace(ack, () => `${ack}\n  <nop><action><exec play_pcap_audio="${pcap}"/></action></nop>`));
  return file;
}

/**
 * Share of the 20 ms frames of `mono` (8 kHz) in which `hz` dominates. Frame by frame, not over the whole signal: the
 * recorder writes one frame per media tick, and after a stall of the tick the frames of the skipped periods are
 * missing from the file (see onReceiveTick), so the phase of a steady tone jumps at each such gap. A Goertzel sum
 * over the whole channel adds the pieces incoherently and can report a few percent for a channel that is all tone.
 */
function frameToneShare(mono: Int16Array, hz: number): number {
  let frames = 0;
  let holding = 0;
  for (let off = 0; off + 160 <= mono.length; off += 160) {
    frames++;
    if (toneShare(mono.subarray(off, off + 160), hz) > 0.5) holding++;
  }
  return frames === 0 ? 0 : holding / frames;
}

/** The interleaved stereo samples of a recording (also one still being written: whole sample pairs so far). */
function stereoSamples(path: string): Int16Array {
  const data = readFileSync(path).subarray(44);
  const bytes = data.length - (data.length % 4);
  const copy = Buffer.from(data.subarray(0, bytes));
  return new Int16Array(copy.buffer, copy.byteOffset, bytes / 2);
}

/** Frames of the left channel of `path` in which `hz` dominates. */
function leftToneFrames(path: string, hz: number): number {
  if (!statSync(path, { throwIfNoEntry: false })) return 0;
  const left = channel(stereoSamples(path), 0);
  return Math.round(frameToneShare(left, hz) * Math.floor(left.length / 160));
}

type Uas = Awaited<ReturnType<typeof startSipp>>;

/** A SIPp UAS that will play `pcm` to whoever calls it. */
async function uasPlaying(pcm: Int16Array): Promise<Uas> {
  const pcap = join(scratchDir(), 'audio.pcap');
  writeFileSync(pcap, pcapOf(pcm));
  return startSipp({ scenario: uasScenario(pcap), calls: 1, timeoutS: 90 });
}

/** Places a call to `uas` through the API; returns its call id. */
async function initiate(uas: Uas, body: Record<string, unknown>): Promise<string> {
  const r = await call(srv, 'POST', '/api/calls/initiate', { body: { from_number: '+15550001000', to_number: `sip:uas@127.0.0.1:${uas.port}`, webhook_url: hooks.url, timeout: 20, ...body } });
  expect(r.status).toBe(201);
  return (r.body as { call_id: string }).call_id;
}

async function answered(callId: string): Promise<void> {
  await until(async () => {
    const r = await call(srv, 'GET', `/api/calls/${encodeURIComponent(callId)}`);
    return r.status === 200 && (r.body as { answered_at: string | null }).answered_at !== null;
  }, 'the answer');
}

/** Hangs the call up through the API; the UAS must have seen its one call through. */
async function hangUp(callId: string, uas: Uas): Promise<void> {
  expect((await call(srv, 'POST', `/api/calls/${encodeURIComponent(callId)}/hangup`)).status).toBe(200);
  expect((await uas.done).successful).toBe(1);
}

beforeAll(async () => {
  hooks = await WebhookSink.start();
  mock = new MockAiPlatform({ echo: false, hangupDigit: 'X', clearDigit: 'X', transferDigit: 'X' });
  await mock.listen();
  const prompts = scratchDir();
  writeFileSync(join(prompts, 'side.wav'), wavOf(tone(1000, 40_000)));
  srv = await startApiServer({ SIP_TRANSPORTS: 'udp', MOH_DIR: prompts, RECORDINGS_DIR: join(scratchDir(), 'rec'), DEFAULT_ROUTE: 'reject', AI_PLATFORM_URL: mock.url });
  const menu = await createRepositories(srv.server.db).ivrMenus.save(ivrMenuToRecord(ivrMenuSchema.parse({ name: 'side', prompt: 'side.wav', timeoutS: 60, maxRetries: 0 })));
  menuId = menu.id;
}, 60_000);

afterAll(async () => {
  await srv?.stop();
  await hooks?.close();
  await mock?.close();
  removeScratch();
});

describe('POST /api/calls/initiate with record', () => {
  it('records the placed call: a recordings row linked to the CDR, the callee on the left, our side on the right', async () => {
    // The callee's tone lasts longer than the call: whatever part of it the recording holds, the left channel is
    // the tone from the first packet to the hang-up (a starved machine may start or drop some of it late).
    const uas = await uasPlaying(tone(440, 40_000));
    try {
      const callId = await initiate(uas, { route: `ivr:${menuId}`, record: true });
      await answered(callId);
      const live = await recordingOf(srv, callId, 'recording');
      expect(live).toMatchObject({ source: 'originate', channels: 2 });
      // Wait for 3 s of the callee's audio to be in the file (150 frames holding the tone), then hang up.
      const path = join(srv.server.config.media.recordingsDir, live.file_name);
      await until(() => leftToneFrames(path, 440) >= 150, 'the callee audio in the recording', 600);
      await hangUp(callId, uas);

      const rec = await recordingOf(srv, callId, 'completed');
      const cdr = await endedCdr(srv.server.db, 'call_id = $1', [callId]);
      expect(cdr['recording_id']).toBe(rec.id);
      expect(cdr['direction']).toBe('outbound');
      const wav = decodeWav(readFileSync(path));
      expect(wav.channels).toBe(2);
      expect(wav.samples.length * 2 + 44).toBe(rec.size_bytes);
      // The callee's 440 Hz only on the left, the IVR prompt's 1 kHz only on the right.
      const left = channel(wav.samples, 0);
      const right = channel(wav.samples, 1);
      expect(frameToneShare(left, 440)).toBeGreaterThan(0.5);
      expect(frameToneShare(left, 1000)).toBeLessThan(0.1);
      expect(frameToneShare(right, 1000)).toBeGreaterThan(0.5);
      expect(frameToneShare(right, 440)).toBeLessThan(0.1);
      const hook = await hooks.find('recording.completed', callId, 'the recording webhook');
      expect(hook).toMatchObject({ recording_id: rec.id, channels: 2, source: 'originate' });
    } finally {
      await uas.stop();
    }
  }, 150_000);
});

describe('POST /api/calls/initiate with machine_detection', () => {
  const cdrAmd = async (callId: string): Promise<{ result: string; reason: string; beep: { frequency_hz: number } | null }> => {
    const row = await until(async () => {
      const r = await call(srv, 'GET', `/api/calls/${encodeURIComponent(callId)}`);
      const meta = (r.body as { cdr: { metadata?: { amd?: unknown } } | null }).cdr?.metadata;
      return meta?.amd !== undefined ? (meta.amd as { result: string; reason: string; beep: { frequency_hz: number } | null }) : undefined;
    }, 'metadata.amd on the call');
    return row;
  };

  it('classifies a greeting and a beep as a machine, reports it, and starts the route only after the beep', async () => {
    const uas = await uasPlaying(loadWavAs8kMono(readFileSync(join(AMD_FIXTURES, 'machine-greeting-beep.wav'))));
    try {
      const callId = await initiate(uas, { route: `ivr:${menuId}`, machine_detection: true, machine_detection_wait_for_beep: true });
      const hook = await hooks.find('machine_detection', callId, 'the machine_detection webhook', 400);
      const amd = hook['amd'] as { result: string; beep: { after_ms: number; frequency_hz: number } | null };
      expect(amd.result).toBe('machine');
      expect(amd.beep).not.toBeNull();
      expect(amd.beep?.frequency_hz).toBeGreaterThan(900);
      expect(amd.beep?.frequency_hz).toBeLessThan(1100);
      expect(await cdrAmd(callId)).toMatchObject({ result: 'machine' });
      // The IVR (the route) ran only once the verdict and the beep were in: its first event follows the amd event.
      const timeline = await until(async () => {
        const r = await srv.server.db.query<{ id: string; type: string }>('SELECT id, type FROM call_events WHERE call_id = $1 ORDER BY id', [callId]);
        const types = r.rows.map((row) => row.type);
        return types.includes('amd') && types.some((t) => t.startsWith('ivr.')) ? types : undefined;
      }, 'the amd and ivr events');
      expect(timeline.indexOf('amd')).toBeLessThan(timeline.findIndex((t) => t.startsWith('ivr.')));
      expect(timeline.indexOf('answered')).toBeLessThan(timeline.indexOf('amd'));
      await hangUp(callId, uas);
    } finally {
      await uas.stop();
    }
  }, 90_000);

  it('classifies a short hello and silence as a human', async () => {
    const uas = await uasPlaying(loadWavAs8kMono(readFileSync(join(AMD_FIXTURES, 'human-hello.wav'))));
    try {
      const callId = await initiate(uas, { route: 'answer', machine_detection: true });
      const hook = await hooks.find('machine_detection', callId, 'the machine_detection webhook', 300);
      expect(hook['amd']).toMatchObject({ result: 'human', reason: 'short-greeting' });
      expect(await cdrAmd(callId)).toMatchObject({ result: 'human', beep: null });
      const events = await srv.server.db.query<{ data: Record<string, unknown> }>(`SELECT data FROM call_events WHERE call_id = $1 AND type = 'amd'`, [callId]);
      expect(events.rows[0]?.data['result']).toBe('human');
      await hangUp(callId, uas);
    } finally {
      await uas.stop();
    }
  }, 90_000);

  it('gives an AI route the verdict in call_start: the AI session starts only once it is known', async () => {
    const uas = await uasPlaying(loadWavAs8kMono(readFileSync(join(AMD_FIXTURES, 'human-hello.wav'))));
    try {
      const index = mock.connections.length;
      const callId = await initiate(uas, { route: 'ai', machine_detection: true });
      const conn = await mock.waitForConnection(index);
      await until(() => conn.ofType('call_start').length === 1, 'call_start at the AI', 300);
      const start = conn.ofType('call_start')[0] as Record<string, unknown>;
      const data = (start['data'] ?? start) as Record<string, unknown>;
      expect(data['custom_parameters']).toMatchObject({ amd_result: 'human', amd_reason: 'short-greeting' });
      await hangUp(callId, uas);
    } finally {
      await uas.stop();
    }
  }, 90_000);
});

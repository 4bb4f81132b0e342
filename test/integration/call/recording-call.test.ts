import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ivrMenuSchema, ivrMenuToRecord } from '../../../src/call';
import { decodeWav } from '../../../src/dsp';
import { createRepositories, type Repositories } from '../../../src/store';
import type { TestServer } from '../../helpers/server';
import { call, mint, recordingOf, startApiServer, type RecordingJson } from '../api/api-client';
import { endedCdr, removeScratch, scratchDir, until } from './call-kit';
import { expectTonesBySide, SipPeer, toneSamples, wavOf } from './ivr-queue-kit';

// Recording over real sockets and the real PostgreSQL: the caller sends a 440 Hz tone, the server side (an IVR prompt)
// plays 1 kHz. The stereo WAV must hold the caller on the left and the other side on the right; the row, the CDR
// link, the webhook, Range downloads, mid-call start/stop, deletion, and the transcript from the transcriber.

let srv: TestServer;
let repos: Repositories;
let hooks: Server;
const hookEvents: Record<string, unknown>[] = [];
const transcribed: { callId: string; type: string; bytes: number }[] = [];
let menuId = '';

const tone = (hz: number, ms: number, dbm0 = -14): Int16Array => toneSamples({ segments: [{ frequencies: [hz], levelsDbm0: [dbm0], durationMs: ms }], repeat: false }, ms);

beforeAll(async () => {
  hooks = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/transcribe') {
        transcribed.push({ callId: String(req.headers['x-call-id']), type: String(req.headers['content-type']), bytes: body.length });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ segments: [{ channel: 0, text: 'a steady tone', start: 0.2, end: 2.5 }, { channel: 1, text: 'a higher tone', start: 0, end: 3 }] }));
        return;
      }
      hookEvents.push(JSON.parse(body.toString('utf8')) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', () => r()));
  const port = (hooks.address() as AddressInfo).port;
  const prompts = scratchDir();
  writeFileSync(join(prompts, 'side.wav'), wavOf(tone(1000, 8000)));
  srv = await startApiServer({
    SIP_TRANSPORTS: 'udp',
    MOH_DIR: prompts,
    RECORDINGS_DIR: join(scratchDir(), 'rec'),
    DEFAULT_ROUTE: 'reject',
    TRANSCRIBER_URL: `http://127.0.0.1:${port}/transcribe`,
  });
  repos = createRepositories(srv.server.db);
  const menu = await repos.ivrMenus.save(ivrMenuToRecord(ivrMenuSchema.parse({ name: 'listen', prompt: 'side.wav', timeoutS: 30, maxRetries: 0 })));
  menuId = menu.id;
  const hook = `http://127.0.0.1:${port}/status`;
  await repos.numbers.upsert('7000', { route: 'ivr', ivrMenuId: menuId, recordingEnabled: true, statusCallback: hook });
  await repos.numbers.upsert('7001', { route: 'ivr', ivrMenuId: menuId, recordingEnabled: false, statusCallback: hook });
}, 60_000);

afterAll(async () => {
  await srv?.stop();
  await new Promise<void>((r) => hooks.close(() => r()));
  removeScratch();
});

describe('call recording', () => {
  it('records a number that records: caller left, other side right; metadata, CDR link, webhook, Range download, transcript', async () => {
    const peer = await SipPeer.open({ user: 'recorded' });
    try {
      await peer.call(srv.server.sipPorts.udp as number, '7000');
      await peer.sendPcm(tone(440, 3000));
      expect(await peer.hangup()).toBe(200);
    } finally {
      await peer.close();
    }
    const rec = await recordingOf(srv, peer.callId, 'completed');
    expect(rec).toMatchObject({ call_id: peer.callId, channels: 2, source: 'number' });
    expect(rec.duration_s).toBeGreaterThan(2);

    const meta = await call(srv, 'GET', `/api/recordings/${rec.id}`);
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({ id: rec.id, status: 'completed', layout: 'caller-left', sample_rate: 8000 });

    const full = await call(srv, 'GET', `/api/recordings/${rec.id}/audio`);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toContain('audio/wav');
    const res = await fetch(`http://127.0.0.1:${srv.server.apiPort}/api/recordings/${rec.id}/audio`, { headers: { authorization: `Bearer ${mint()}` } });
    const wavBytes = Buffer.from(await res.arrayBuffer());
    expect(wavBytes.length).toBe(rec.size_bytes);
    const wav = decodeWav(wavBytes);
    expect(wav.channels).toBe(2);
    // The caller's 440 Hz on the left only; the prompt's 1 kHz on the right only.
    expectTonesBySide(wav.samples, 440, 1000);

    const range = await fetch(`http://127.0.0.1:${srv.server.apiPort}/api/recordings/${rec.id}/audio`, { headers: { authorization: `Bearer ${mint()}`, range: 'bytes=0-43' } });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toBe(`bytes 0-43/${rec.size_bytes}`);
    const head = Buffer.from(await range.arrayBuffer());
    expect(head.length).toBe(44);
    expect(head.subarray(0, 4).toString('latin1')).toBe('RIFF');
    const tail = await fetch(`http://127.0.0.1:${srv.server.apiPort}/api/recordings/${rec.id}/audio`, { headers: { authorization: `Bearer ${mint()}`, range: `bytes=${rec.size_bytes - 100}-` } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(wavBytes.subarray(rec.size_bytes - 100))).toBe(true);
    const bad = await fetch(`http://127.0.0.1:${srv.server.apiPort}/api/recordings/${rec.id}/audio`, { headers: { authorization: `Bearer ${mint()}`, range: `bytes=${rec.size_bytes + 10}-` } });
    expect(bad.status).toBe(416);
    await bad.arrayBuffer().catch(() => undefined);

    const cdr = await endedCdr(srv.server.db, 'call_id = $1', [peer.callId]);
    expect(cdr['recording_id']).toBe(rec.id);
    const hook = await until(() => hookEvents.find((e) => e['event'] === 'recording.completed' && e['call_id'] === peer.callId), 'the recording webhook');
    expect(hook).toMatchObject({ recording_id: rec.id, size_bytes: rec.size_bytes, channels: 2, audio_url: `/api/recordings/${rec.id}/audio` });

    const transcript = await until(async () => {
      const t = await call(srv, 'GET', `/api/calls/${encodeURIComponent(peer.callId)}/transcript`);
      const entries = (t.body as { entries: { speaker: string; text: string; source: string }[] }).entries;
      return entries.length >= 2 ? entries : undefined;
    }, 'the transcript');
    expect(transcript.map((e) => [e.speaker, e.text, e.source])).toEqual([
      ['caller', 'a steady tone', 'transcriber'],
      ['agent', 'a higher tone', 'transcriber'],
    ]);
    expect(transcribed.find((t) => t.callId === peer.callId)).toMatchObject({ type: 'audio/wav', bytes: rec.size_bytes });
  }, 60_000);

  it('starts and stops mid-call through the API, and deletes', async () => {
    const peer = await SipPeer.open({ user: 'midcall' });
    try {
      await peer.call(srv.server.sipPorts.udp as number, '7001');
      const talk = peer.sendPcm(tone(440, 3000));
      const readOnly = mint({ scope: 'calls:read' });
      expect((await call(srv, 'POST', `/api/calls/${encodeURIComponent(peer.callId)}/recording/start`, { token: readOnly })).status).toBe(403);
      const started = await call(srv, 'POST', `/api/calls/${encodeURIComponent(peer.callId)}/recording/start`);
      expect(started.status).toBe(201);
      expect(started.body).toMatchObject({ status: 'recording', source: 'api' });
      const again = await call(srv, 'POST', `/api/calls/${encodeURIComponent(peer.callId)}/recording/start`);
      expect(again.status).toBe(409);
      await new Promise((r) => setTimeout(r, 1000));
      const stopped = await call(srv, 'POST', `/api/calls/${encodeURIComponent(peer.callId)}/recording/stop`);
      expect(stopped.status).toBe(200);
      const rec = stopped.body as RecordingJson;
      expect(rec.status).toBe('completed');
      expect(rec.size_bytes).toBeGreaterThan(44);
      const notRecording = await call(srv, 'POST', `/api/calls/${encodeURIComponent(peer.callId)}/recording/stop`);
      expect(notRecording.status).toBe(409);
      await talk;
      expect(await peer.hangup()).toBe(200);
      const row = await repos.calls.getByCallId(peer.callId);
      expect(row).toBeDefined();
      const stored = await until(async () => (await call(srv, 'GET', `/api/recordings/${rec.id}`)).body as RecordingJson, 'the stored recording');
      const path = join(srv.server.config.media.recordingsDir, stored.file_name);
      expect(statSync(path).size).toBe(rec.size_bytes);
      expect(readFileSync(path).subarray(0, 4).toString('latin1')).toBe('RIFF');
      expect((await call(srv, 'DELETE', `/api/recordings/${rec.id}`)).status).toBe(204);
      expect(() => statSync(path)).toThrow();
      expect((await call(srv, 'GET', `/api/recordings/${rec.id}/audio`)).status).toBe(404);
      expect((await call(srv, 'GET', `/api/recordings/${rec.id}`)).body).toMatchObject({ status: 'deleted' });
    } finally {
      await peer.close();
    }
  }, 60_000);

  it('answers 404 for recording a call that does not exist', async () => {
    const r = await call(srv, 'POST', '/api/calls/no-such-call/recording/start');
    expect(r.status).toBe(404);
  });
});

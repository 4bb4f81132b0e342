import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandOnPath } from '../../../src/config';
import { createRepositories } from '../../../src/store';
import type { TestServer } from '../../helpers/server';
import { call, startApiServer } from '../api/api-client';
import { removeScratch, scratchDir, until } from './call-kit';
import { rms, SipPeer, toneSamples, toneShare, wavOf } from './ivr-queue-kit';

// Position announcements of waiting callers, every announceIntervalS, over real sockets: spoken by TTS (espeak-ng,
// found on PATH at start when TTS_COMMAND is unset), else the queue's recorded announcement
// (queue-announce-<queue>.wav in MOH_DIR), else the two-note cue. The music is a steady 300 Hz tone, so every frame
// that is not 300 Hz is the announcement; the test finds each announcement in the received audio and counts the
// audio between them.

const INTERVAL_S = 5;
const tone = (hz: number, ms: number, dbm0 = -14): Int16Array => toneSamples({ segments: [{ frequencies: [hz], levelsDbm0: [dbm0], durationMs: ms }], repeat: false }, ms);

type FrameKind = 'music' | 'silence' | 'other';

function classify(frame: Int16Array): FrameKind {
  if (rms(frame) < 100) return 'silence';
  return toneShare(frame, 300) > 0.6 ? 'music' : 'other';
}

/** Announcements in the received audio: runs of matching frames (gaps of up to `gap` frames inside a run, as between words). */
function announcements(pcm: Int16Array, isAnnouncement: (frame: Int16Array) => boolean, gap: number): { start: number; frames: number }[] {
  const runs: { start: number; frames: number; last: number }[] = [];
  for (let o = 0, f = 0; o + 160 <= pcm.length; o += 160, f++) {
    const frame = pcm.subarray(o, o + 160);
    if (!isAnnouncement(frame)) continue;
    const cur = runs[runs.length - 1];
    if (cur && f - cur.last <= gap) {
      cur.frames++;
      cur.last = f;
    } else runs.push({ start: o, frames: 1, last: f });
  }
  return runs.map(({ start, frames }) => ({ start, frames }));
}

async function server(env: Record<string, string>, files: Record<string, Int16Array>): Promise<TestServer> {
  const dir = join(scratchDir(), 'moh');
  mkdirSync(dir);
  writeFileSync(join(dir, 'default.wav'), wavOf(tone(300, 4000)));
  for (const [name, pcm] of Object.entries(files)) writeFileSync(join(dir, name), wavOf(pcm));
  return startApiServer({ SIP_TRANSPORTS: 'udp', MOH_DIR: dir, DEFAULT_ROUTE: 'reject', ...env });
}

async function queueNumber(srv: TestServer, name: string, number: string): Promise<void> {
  const r = await call(srv, 'POST', '/api/queues', { body: { name, targets: [], announcePosition: true, announceIntervalS: INTERVAL_S } });
  expect(r.status).toBe(201);
  await createRepositories(srv.server.db).numbers.upsert(number, { route: 'queue', queueId: (r.body as { id: string }).id });
}

async function positionEvents(srv: TestServer, callId: string): Promise<Record<string, unknown>[]> {
  const r = await srv.server.db.query<{ data: Record<string, unknown> }>(`SELECT data FROM call_events WHERE call_id = $1 AND type = 'queue.position' ORDER BY id`, [callId]);
  return r.rows.map((row) => row.data);
}

/** A caller waits until it has had two announcements (and 1.5 s of music after the second); returns what it heard. */
async function waitTwoAnnouncements(srv: TestServer, number: string, isAnnouncement: (f: Int16Array) => boolean, gap = 5): Promise<{ peer: SipPeer; runs: { start: number; frames: number }[] }> {
  const peer = await SipPeer.open({ user: `waiting-${number}` });
  await peer.call(srv.server.sipPorts.udp as number, number);
  void peer.sendSilence(60_000);
  const runs = await until(
    () => {
      const pcm = peer.receivedPcm();
      const found = announcements(pcm, isAnnouncement, gap);
      return found.length >= 2 && pcm.length - found[1].start > (found[1].frames + 75) * 160 ? found : undefined;
    },
    'two announcements',
    400,
  );
  return { peer, runs };
}

/** The two announcements are one interval of received audio apart (generous bounds: audio, not clock, is counted). */
function expectInterval(runs: { start: number }[]): void {
  const apartS = (runs[1].start - runs[0].start) / 8000;
  expect(apartS).toBeGreaterThan(INTERVAL_S * 0.7);
  expect(apartS).toBeLessThan(INTERVAL_S * 1.6);
}

afterAll(() => removeScratch());

describe('queue position announcements without TTS (TTS_COMMAND=none)', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await server({ TTS_COMMAND: 'none' }, { 'queue-announce-recorded.wav': tone(1000, 800) });
    await queueNumber(srv, 'recorded', '6200');
    await queueNumber(srv, 'plain', '6201');
  }, 60_000);
  afterAll(async () => {
    await srv?.stop();
  });

  it("plays the queue's recorded announcement at the interval, music between", async () => {
    const { peer, runs } = await waitTwoAnnouncements(srv, '6200', (f) => classify(f) === 'other' && toneShare(f, 1000) > 0.6);
    try {
      expectInterval(runs);
      // 800 ms of announcement each time (40 frames; a frame cut at either end tolerated).
      for (const r of runs.slice(0, 2)) expect(r.frames).toBeGreaterThanOrEqual(38);
      const events = await positionEvents(srv, peer.callId);
      expect(events.length).toBeGreaterThanOrEqual(2);
      expect(events[0]).toMatchObject({ queue: 'recorded', position: 1, audio: 'file' });
    } finally {
      await peer.hangup();
      await peer.close();
    }
  }, 90_000);

  it('plays the two-note cue when there is no recorded announcement either', async () => {
    const { peer, runs } = await waitTwoAnnouncements(srv, '6201', (f) => classify(f) === 'other' && (toneShare(f, 880) > 0.6 || toneShare(f, 660) > 0.6));
    try {
      expectInterval(runs);
      const events = await positionEvents(srv, peer.callId);
      expect(events[0]).toMatchObject({ queue: 'plain', position: 1, audio: 'cue' });
      // Both notes are heard: 880 Hz then 660 Hz.
      const pcm = peer.receivedPcm().subarray(runs[0].start, runs[0].start + runs[0].frames * 160);
      expect(toneShare(pcm.subarray(0, 1280), 880)).toBeGreaterThan(0.5);
      expect(toneShare(pcm.subarray(pcm.length - 1280), 660)).toBeGreaterThan(0.5);
    } finally {
      await peer.hangup();
      await peer.close();
    }
  }, 90_000);
});

// espeak-ng is the default TTS when it is installed: the server is given this machine's PATH and no TTS_COMMAND.
const espeak = commandOnPath('espeak-ng', process.env['PATH']);

(espeak ? describe : describe.skip)('queue position announcements spoken by espeak-ng found on PATH', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await server({ PATH: process.env['PATH'] ?? '' }, {});
    await queueNumber(srv, 'spoken', '6300');
  }, 60_000);
  afterAll(async () => {
    await srv?.stop();
  });

  it('speaks the position at the interval', async () => {
    expect(srv.server.config.media.ttsCommand).toContain('espeak-ng');
    // Pauses between the words and sentences (up to 1 s) belong to one announcement.
    const { peer, runs } = await waitTwoAnnouncements(srv, '6300', (f) => classify(f) === 'other', 50);
    try {
      expectInterval(runs);
      // "You are next in line. Thank you for waiting.": well over a second of speech each time.
      expect(runs[0].frames).toBeGreaterThan(50);
      const events = await positionEvents(srv, peer.callId);
      expect(events[0]).toMatchObject({ queue: 'spoken', position: 1, audio: 'tts' });
    } finally {
      await peer.hangup();
      await peer.close();
    }
  }, 90_000);
});

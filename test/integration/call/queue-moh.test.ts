import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PCMU } from '../../../src/dsp';
import { createRepositories } from '../../../src/store';
import type { TestServer } from '../../helpers/server';
import { call, startApiServer } from '../api/api-client';
import { removeScratch, scratchDir, until } from './call-kit';
import { SipPeer, wavOf } from './ivr-queue-kit';

// Music on hold as a shared stream (MOH_MODE=shared) or from the top for each caller (per-listener), over real
// sockets. The track is 20 s of seeded noise, so every 20 ms frame a caller receives is found at exactly one offset
// of the (G.711-decoded) track: two callers in a queue are compared by where in the track their latest frames are.

const TRACK_SAMPLES = 20 * 8000;
/** Two callers' latest frames are "at the same point" within this many samples (0.5 s, far below the 2 s gap). */
const SAME_POINT = 4000;

/** 20 s of noise from a fixed seed (xorshift32), about -12 dBFS. */
function noiseTrack(): Int16Array {
  const pcm = new Int16Array(TRACK_SAMPLES);
  let x = 0x2545f491;
  for (let i = 0; i < pcm.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    pcm[i] = ((x >>> 0) % 16001) - 8000;
  }
  return pcm;
}

const track = noiseTrack();
/** What a caller hears of the track: G.711 mu-law encoded and decoded. */
const heard = PCMU.decode(PCMU.encode(track));
/** Offsets of the track by their first four samples. */
const index = new Map<string, number[]>();
for (let i = 0; i < heard.length; i++) {
  const key = `${heard[i]},${heard[(i + 1) % heard.length]},${heard[(i + 2) % heard.length]},${heard[(i + 3) % heard.length]}`;
  const list = index.get(key);
  if (list) list.push(i);
  else index.set(key, [i]);
}

/** The track offset a received 160-sample frame was cut from, or undefined (silence, a tone, a partial frame). */
function offsetOf(frame: Int16Array): number | undefined {
  if (frame.length < 160) return undefined;
  for (const off of index.get(`${frame[0]},${frame[1]},${frame[2]},${frame[3]}`) ?? []) {
    let ok = true;
    for (let k = 0; k < 160 && ok; k++) ok = heard[(off + k) % heard.length] === frame[k];
    if (ok) return off;
  }
  return undefined;
}

/** Offsets of every received frame that is music, in arrival order. */
function offsets(peer: SipPeer): number[] {
  const pcm = peer.receivedPcm();
  const out: number[] = [];
  for (let o = 0; o + 160 <= pcm.length; o += 160) {
    const off = offsetOf(pcm.subarray(o, o + 160));
    if (off !== undefined) out.push(off);
  }
  return out;
}

/** Circular distance of two track offsets. */
function distance(a: number, b: number): number {
  const d = Math.abs(a - b) % TRACK_SAMPLES;
  return Math.min(d, TRACK_SAMPLES - d);
}

interface Bench {
  srv: TestServer;
  queueNumber: string;
  holdNumber: string;
}

async function bench(mode: string): Promise<Bench> {
  const moh = join(scratchDir(), 'moh');
  mkdirSync(moh);
  writeFileSync(join(moh, 'default.wav'), wavOf(track));
  const srv = await startApiServer({ SIP_TRANSPORTS: 'udp', MOH_DIR: moh, MOH_MODE: mode, DEFAULT_ROUTE: 'reject' });
  const created = await call(srv, 'POST', '/api/queues', { body: { name: `moh-${mode}`, targets: [] } });
  expect(created.status).toBe(201);
  const repos = createRepositories(srv.server.db);
  await repos.numbers.upsert('6100', { route: 'queue', queueId: (created.body as { id: string }).id });
  await repos.numbers.upsert('6101', { route: 'answer' });
  return { srv, queueNumber: '6100', holdNumber: '6101' };
}

/** Two callers join the queue, the second once the first has heard 2 s of music; both keep listening. */
async function twoCallers(b: Bench): Promise<{ a: SipPeer; b: SipPeer; peers: SipPeer[] }> {
  const a = await SipPeer.open({ user: 'first' });
  await a.call(b.srv.server.sipPorts.udp as number, b.queueNumber);
  void a.sendSilence(60_000);
  await until(() => offsets(a).length >= 100, 'two seconds of music to the first caller', 300);
  const second = await SipPeer.open({ user: 'second' });
  await second.call(b.srv.server.sipPorts.udp as number, b.queueNumber);
  void second.sendSilence(60_000);
  await until(() => offsets(second).length >= 50, 'music to the second caller', 300);
  return { a, b: second, peers: [a, second] };
}

/** Where each peer is in the track now (its latest music frame), read at one instant. */
function latest(peers: SipPeer[]): number[] {
  return peers.map((p) => {
    const list = offsets(p);
    return list[list.length - 1];
  });
}

async function closeAll(peers: SipPeer[]): Promise<void> {
  for (const p of peers) {
    await p.hangup().catch(() => 0);
    await p.close();
  }
}

afterAll(() => removeScratch());

describe('queue music on hold, MOH_MODE=shared', () => {
  let b: Bench;
  beforeAll(async () => {
    b = await bench('shared');
  }, 60_000);
  afterAll(async () => {
    await b?.srv.stop();
  });

  it('lets a caller who joins later hear the stream where the first caller is, not from the top; a held call joins it too', async () => {
    const { a, b: second, peers } = await twoCallers(b);
    try {
      // The second caller joined 2 s into the stream: its first music frame is that far in, not the top.
      expect(offsets(second)[0]).toBeGreaterThanOrEqual(8000);
      expect(offsets(a)[0]).toBeLessThan(8000);
      // At the same instant both are at the same point of the stream (a few snapshots, as audio flows).
      for (let i = 0; i < 5; i++) {
        const [pa, pb] = latest([a, second]);
        expect(distance(pa, pb)).toBeLessThan(SAME_POINT);
        const before = offsets(a).length;
        await until(() => offsets(a).length >= before + 10, 'more music');
      }

      // Hold uses the same library: a held call hears the very stream the queue callers hear.
      const held = await SipPeer.open({ user: 'held' });
      peers.push(held);
      await held.call(b.srv.server.sipPorts.udp as number, b.holdNumber);
      void held.sendSilence(60_000);
      const r = await call(b.srv, 'POST', `/api/calls/${encodeURIComponent(held.callId)}/hold`);
      expect(r.status).toBe(200);
      await until(() => offsets(held).length >= 25, 'music on hold to the held call', 300);
      const [pa, ph] = latest([a, held]);
      expect(distance(pa, ph)).toBeLessThan(SAME_POINT);
      expect(offsets(held)[0]).toBeGreaterThanOrEqual(8000);
    } finally {
      await closeAll(peers);
    }
  }, 120_000);
});

describe('queue music on hold, MOH_MODE=per-listener', () => {
  let b: Bench;
  beforeAll(async () => {
    b = await bench('per-listener');
  }, 60_000);
  afterAll(async () => {
    await b?.srv.stop();
  });

  it('plays the track from the top for each caller', async () => {
    const { a, b: second, peers } = await twoCallers(b);
    try {
      expect(offsets(a)[0]).toBe(0);
      expect(offsets(second)[0]).toBe(0);
      // Each caller's frames follow on from its own start: the second is about its 2 s later join behind the first.
      const [pa, pb] = latest([a, second]);
      expect(distance(pa, pb)).toBeGreaterThan(SAME_POINT);
    } finally {
      await closeAll(peers);
    }
  }, 120_000);
});

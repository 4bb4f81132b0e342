import { PCMA, PCMU } from '../../../src/dsp';
import { MediaSession } from '../../../src/media';
import { encodeTelephoneEventInto } from '../../../src/rtp';
import { VirtualClock } from '../../../src/util';
import { concat, openLeg, rtp, sine, type Leg } from './harness';

const FRAME = 160;

let legs: Leg[] = [];

afterEach(async () => {
  for (const l of legs) await l.session.close();
  legs = [];
});

async function leg(clock: VirtualClock, opts: Parameters<typeof openLeg>[1] = {}): Promise<Leg> {
  const l = await openLeg(clock, opts);
  legs.push(l);
  return l;
}

interface Got {
  pcm: Int16Array;
  concealed: boolean;
  /** Virtual time at which the frame was emitted. */
  at: number;
}

function collect(session: MediaSession, event: 'frame' | 'arrivalframe', clock: VirtualClock): Got[] {
  const got: Got[] = [];
  session.on(event, (pcm, concealed) => got.push({ pcm: pcm.slice(), concealed, at: clock.now() }));
  return got;
}

/** Lets setImmediate callbacks run (the arrival path gives up a gap only after pending I/O has been read). */
function afterIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function payloads(n: number, codec = PCMU): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => codec.encode(sine(300 + 10 * i, FRAME, 5000 + 100 * i, i * FRAME)));
}

describe('MediaSession arrivalframe (caller audio at arrival)', () => {
  it('emits each in-order packet the moment it is received (latency 0), while the clocked frame path still plays every frame once', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { telephoneEventPt: null });
    const live = collect(session, 'arrivalframe', clock);
    const clocked = collect(session, 'frame', clock);
    const p = payloads(20);
    for (let i = 0; i < 20; i++) {
      clock.advance(i === 0 ? 3 : 20);
      const at = clock.now();
      socket.receive(rtp(0, 500 + i, i * FRAME, p[i]));
      // Synchronously, at the arrival time: no wait for a tick or a jitter-buffer depth.
      expect(live).toHaveLength(i + 1);
      expect(live[i].at).toBe(at);
      expect(live[i].concealed).toBe(false);
      expect(live[i].pcm).toEqual(PCMU.decode(p[i]));
    }
    clock.advance(200);
    const real = clocked.filter((f) => !f.concealed);
    expect(real.map((f) => Array.from(f.pcm))).toEqual(live.map((f) => Array.from(f.pcm)));
    // The clocked path lags by its jitter-buffer depth and tick phase.
    expect(real[0].at).toBeGreaterThan(live[0].at);
    expect(session.stats().arrivalFrames).toBe(20);
    expect(session.stats().arrivalConcealed).toBe(0);
  });

  it('restores the order of a packet reordered within the wait, and conceals a packet lost after it', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { telephoneEventPt: null });
    const live = collect(session, 'arrivalframe', clock);
    const p = payloads(8);
    const send = (i: number): void => socket.receive(rtp(0, 65533 + i, i * FRAME, p[i]));
    // Sequence numbers 65533..4: across the 16-bit wrap. 3 (seq 0) comes 5 ms after 4 (seq 1); 6 (seq 3) is lost.
    send(0);
    send(1);
    send(2);
    send(4);
    expect(live).toHaveLength(3);
    clock.advance(5);
    send(3);
    expect(live).toHaveLength(5);
    expect(live.slice(0, 5).map((f) => Array.from(f.pcm))).toEqual([0, 1, 2, 3, 4].map((i) => Array.from(PCMU.decode(p[i]))));
    send(5);
    send(7);
    expect(live).toHaveLength(6);
    clock.advance(19);
    await afterIo();
    expect(live).toHaveLength(6);
    clock.advance(1);
    await afterIo();
    // The wait (20 ms) ended: frame 6 concealed with a repeat of frame 5, then frame 7.
    expect(live).toHaveLength(8);
    expect(live[6].concealed).toBe(true);
    expect(live[6].pcm).toEqual(PCMU.decode(p[5]));
    expect(live[7].concealed).toBe(false);
    expect(live[7].pcm).toEqual(PCMU.decode(p[7]));
    // Too late now: dropped, not emitted out of order.
    send(6);
    expect(live).toHaveLength(8);
    const st = session.stats();
    expect([st.arrivalReordered, st.arrivalLost, st.arrivalLate, st.arrivalConcealed]).toEqual([2, 1, 1, 1]);
  });

  it('drops duplicates and conceals at most five frames of a long gap', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { telephoneEventPt: null });
    const live = collect(session, 'arrivalframe', clock);
    const p = payloads(20);
    socket.receive(rtp(0, 10, 0, p[0]));
    socket.receive(rtp(0, 10, 0, p[0]));
    socket.receive(rtp(0, 11, FRAME, p[1]));
    socket.receive(rtp(0, 11, FRAME, p[1]));
    expect(live).toHaveLength(2);
    // Twelve packets lost, then 24 arrives.
    socket.receive(rtp(0, 24, 14 * FRAME, p[14]));
    clock.advance(20);
    await afterIo();
    expect(live.map((f) => f.concealed)).toEqual([false, false, true, true, true, true, true, false]);
    const peak = (a: Int16Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 3; i < 7; i++) expect(peak(live[i].pcm)).toBeLessThan(peak(live[i - 1].pcm));
    expect(session.stats().arrivalLost).toBe(12);
  });

  it('steps over RFC 4733 event packets without concealment', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { telephoneEventPt: 101 });
    const live = collect(session, 'arrivalframe', clock);
    const p = payloads(6);
    const ev = Buffer.alloc(4);
    socket.receive(rtp(0, 1, 0, p[0]));
    socket.receive(rtp(0, 2, FRAME, p[1]));
    // Three event packets take 3..5 (RFC 4733 §2.1: same sequence space); 5 arrives after audio 6.
    encodeTelephoneEventInto({ event: 5, end: false, volume: 10, duration: 160 }, ev);
    socket.receive(rtp(101, 3, 2 * FRAME, ev, true));
    encodeTelephoneEventInto({ event: 5, end: false, volume: 10, duration: 320 }, ev);
    socket.receive(rtp(101, 4, 2 * FRAME, ev));
    socket.receive(rtp(0, 6, 5 * FRAME, p[2]));
    expect(live).toHaveLength(2);
    encodeTelephoneEventInto({ event: 5, end: true, volume: 10, duration: 480 }, ev);
    socket.receive(rtp(101, 5, 2 * FRAME, ev));
    expect(live).toHaveLength(3);
    clock.advance(100);
    await afterIo();
    expect(live.every((f) => !f.concealed)).toBe(true);
    expect(session.stats().arrivalLost).toBe(0);
  });

  it('re-chunks 30 ms packets into 20 ms frames as they arrive', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { codec: 'PCMA', telephoneEventPt: null });
    const live = collect(session, 'arrivalframe', clock);
    const p = Array.from({ length: 4 }, (_, k) => PCMA.encode(sine(350 + k * 20, 240, 7000, k * 240)));
    const counts: number[] = [];
    for (let k = 0; k < 4; k++) {
      socket.receive(rtp(8, 300 + k, k * 240, p[k]));
      counts.push(live.length);
    }
    // 30, 60, 90, 120 ms received: 1, 3, 4, 6 whole 20 ms frames.
    expect(counts).toEqual([1, 3, 4, 6]);
    expect(concat(live.map((f) => f.pcm))).toEqual(PCMA.decode(Buffer.concat(p)));
  });

  it('runs only while listened to: a later listener starts from the stream as it is, not from a stale gap', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { telephoneEventPt: null });
    const p = payloads(10);
    socket.receive(rtp(0, 1, 0, p[0]));
    expect(session.stats().arrivalFrames).toBe(0);
    const got: number[] = [];
    const listener = (): void => {
      got.push(clock.now());
    };
    session.on('arrivalframe', listener);
    socket.receive(rtp(0, 2, FRAME, p[1]));
    session.off('arrivalframe', listener);
    socket.receive(rtp(0, 3, 2 * FRAME, p[2]));
    // 4 and 5 lost while nobody listened.
    socket.receive(rtp(0, 6, 5 * FRAME, p[3]));
    session.on('arrivalframe', listener);
    socket.receive(rtp(0, 7, 6 * FRAME, p[4]));
    expect(got).toHaveLength(2);
    expect(session.stats().arrivalLost).toBe(0);
  });
});

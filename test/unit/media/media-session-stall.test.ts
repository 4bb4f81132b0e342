import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWav, PCMU } from '../../../src/dsp';
import { MediaTicker } from '../../../src/media';
import { VirtualClock } from '../../../src/util';
import { openLeg, rtp, sine, stallingClock, type Leg } from './harness';

// An event-loop stall in virtual time: the ticker's timer fires late, and the packets that arrived meanwhile are
// still in the socket when it fires (Node runs timers before the poll phase that reads them).

const FRAME = 160;

let legs: Leg[] = [];
let tickers: MediaTicker[] = [];

afterEach(async () => {
  for (const l of legs) await l.session.close();
  for (const t of tickers) t.close();
  legs = [];
  tickers = [];
});

/**
 * A 20 ms stream received by a session whose ticker stalls 100 ms at t = 200. Packets due while the timer is
 * overdue stay "in the socket" until the late timer has fired; then the test plays the poll phase (delivers them) and
 * runs what the ticker deferred. Returns the session's stats.
 */
async function streamThroughStall(lateMs?: number, recordTo?: string): Promise<{ concealed: number; lost: number; received: number }> {
  const vclock = new VirtualClock();
  const clock = stallingClock(vclock, 200, 100);
  const deferred: (() => void)[] = [];
  const ticker = new MediaTicker({ clock, lateMs, defer: (fn) => deferred.push(fn) });
  tickers.push(ticker);
  const leg = await openLeg(vclock, { ticker, codec: 'PCMU', telephoneEventPt: null });
  legs.push(leg);
  const { socket, session } = leg;
  const payload = PCMU.encode(sine(440, FRAME, 6000));
  if (recordTo !== undefined) await session.record(recordTo, { mode: 'stereo' });
  const inSocket: Buffer[] = [];
  let timerFiredAt = -1;
  ticker.add({ onSendTick: () => (timerFiredAt = vclock.now()), onReceiveTick: () => undefined });
  let k = 0;
  const frames = 40;
  while (vclock.now() < frames * 20 + 200) {
    const t = vclock.now();
    if (k < frames && t === k * 20 + 7) {
      const pkt = rtp(0, 1000 + k, k * FRAME, payload);
      k++;
      // The stall: from the overdue tick's due time (220) until its timer fires (320), the loop reads nothing.
      if (t > 220 && t < 320) inSocket.push(pkt);
      else socket.receive(pkt);
    }
    vclock.advance(1);
    if (timerFiredAt === 320 || deferred.length > 0) {
      // The poll phase: the datagrams that waited in the socket are read, then setImmediate callbacks run.
      for (const p of inSocket.splice(0)) socket.receive(p);
      for (const fn of deferred.splice(0)) fn();
      timerFiredAt = -1;
    }
  }
  if (recordTo !== undefined) await session.stopRecording();
  const st = session.stats();
  return { concealed: st.framesConcealed, lost: st.jitterLost, received: st.framesReceived };
}

describe('MediaSession after an event-loop stall', () => {
  it('conceals nothing when the packets of the stall wait in the socket: the late tick receives after reading them', async () => {
    const r = await streamThroughStall();
    // Concealment only at the end of the stream (the tail, when packets stop), none in the middle.
    expect(r.lost).toBe(5);
    expect(r.concealed).toBe(5);
    expect(r.received).toBeGreaterThanOrEqual(40);
  });

  it('(control) receiving in the late tick itself, before the socket is read, conceals audio that was waiting', async () => {
    const r = await streamThroughStall(Infinity);
    expect(r.lost).toBeGreaterThan(5);
  });

  it('records the periods the stall skipped: every frame received reaches the recording', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stall-rec-'));
    try {
      const path = join(dir, 'stall.wav');
      const r = await streamThroughStall(undefined, path);
      const wav = decodeWav(readFileSync(path));
      expect(wav.channels).toBe(2);
      // Every packet carries the same 20 ms of tone: count the blocks of the received (left) channel that hold
      // exactly its decoded audio (concealment frames are attenuated copies and do not match).
      const frame = PCMU.decode(PCMU.encode(sine(440, FRAME, 6000)));
      let exact = 0;
      for (let b = 0; (b + 1) * FRAME <= wav.frames; b++) {
        let same = true;
        for (let i = 0; i < FRAME && same; i++) same = wav.samples[2 * (b * FRAME + i)] === frame[i];
        if (same) exact++;
      }
      // All 40 packets, the ones read for the stall's skipped ticks included, are in the file (the first
      // concealment frame after the stream ends may repeat the last frame unchanged, so one more may match).
      expect(r.concealed).toBe(5);
      expect(exact).toBeGreaterThanOrEqual(40);
      expect(exact).toBeLessThanOrEqual(41);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

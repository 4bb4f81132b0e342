import { PCMU } from '../../../src/dsp';
import { MediaTicker } from '../../../src/media';
import { Clock, TimerHandle, VirtualClock } from '../../../src/util';
import { openLeg, type Leg } from './harness';

// Playout of the AI's audio (MediaSession's PCM queue) on the shared 20 ms ticker, in virtual time: the first frame
// of a talk spurt leaves at once, a frame never waits past the next tick, one packet per period without drift, and
// a stall of the event loop does not leave lasting delay behind.

const FRAME = 160;

/**
 * Virtual time with event-loop stalls: a timer falling due inside a stall window runs when the stall ends, in the
 * order the timers fell due (a blocked loop runs nothing, then catches up).
 */
class StallingClock implements Clock {
  private readonly windows: { from: number; to: number }[] = [];
  constructor(readonly inner: VirtualClock) {}
  now(): number {
    return this.inner.now();
  }
  wallNow(): number {
    return this.inner.wallNow();
  }
  /** Block the loop during [from, from + ms). */
  stall(from: number, ms: number): void {
    this.windows.push({ from, to: from + ms });
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = { id: 0, inner: undefined as TimerHandle | undefined };
    const fire = (): void => {
      const t = this.inner.now();
      const w = this.windows.find((x) => t >= x.from && t < x.to);
      if (w) handle.inner = this.inner.setTimeout(fire, w.to - t);
      else fn();
    };
    handle.inner = this.inner.setTimeout(fire, ms);
    return handle;
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    this.inner.clearTimeout((handle as { inner?: TimerHandle } | undefined)?.inner);
  }
}

/** A packet the session sent: when, its header, and which AI frame it carries (-1: not one of ours, e.g. silence). */
interface Sent {
  at: number;
  seq: number;
  ts: number;
  marker: boolean;
  id: number;
}

/** Mu-law codes 0..99 survive decode -> encode unchanged: three of them number a frame. */
function frameOf(id: number): Int16Array {
  const codes = new Uint8Array(FRAME).fill(0x20);
  codes[0] = id % 100;
  codes[1] = Math.floor(id / 100) % 100;
  codes[2] = Math.floor(id / 10_000) % 100;
  return PCMU.decode(codes);
}

/** A near-silent frame (a pause in speech): codes 0x70..0x7e decode to less than 130 in magnitude. */
function quietFrameOf(id: number): Int16Array {
  const codes = new Uint8Array(FRAME).fill(0x7e);
  codes[0] = 0x70 + (id % 15);
  codes[1] = 0x70 + (Math.floor(id / 15) % 15);
  codes[2] = 0x70 + (Math.floor(id / 225) % 15);
  codes[3] = 0x7d;
  return PCMU.decode(codes);
}

function idOf(payload: Buffer): number {
  if (payload[3] === 0x7d) return payload[0] - 0x70 + (payload[1] - 0x70) * 15 + (payload[2] - 0x70) * 225;
  if (payload[3] !== 0x20 || payload[0] >= 100 || payload[1] >= 100 || payload[2] >= 100) return -1;
  return payload[0] + payload[1] * 100 + payload[2] * 10_000;
}

/** Route what the session sends to `onPacket` instead of keeping it. */
function tap(leg: Leg, clock: VirtualClock, onPacket: (p: Sent) => void): void {
  leg.socket.send = (data: Buffer, _port: number, _address: string, cb?: () => void): void => {
    onPacket({ at: clock.now(), seq: data.readUInt16BE(2), ts: data.readUInt32BE(4), marker: (data[1] & 0x80) !== 0, id: idOf(data.subarray(12)) });
    cb?.();
  };
}

/**
 * An AI that speaks at real time: frame i of a spurt arrives at start + 20 i + jitter(i) (jitter below 20 ms keeps
 * the order). Arrivals are timers on the stalling clock, so a stall delays them like any other I/O.
 */
function realTimeSpurt(
  clock: Clock,
  leg: Leg,
  start: number,
  frames: number,
  firstId: number,
  arrived: Map<number, number>,
  jitter: (i: number) => number,
  emptyOnArrival?: Set<number>,
  make: (id: number) => Int16Array = frameOf,
): void {
  let i = 0;
  const next = (): void => {
    const due = start + 20 * i + jitter(i);
    clock.setTimeout(() => {
      arrived.set(firstId + i, clock.now());
      if (leg.session.queuedSamples === 0) emptyOnArrival?.add(firstId + i);
      leg.session.enqueuePcm(make(firstId + i));
      if (++i < frames) next();
    }, Math.max(0, due - clock.now()));
  };
  next();
}

let legs: Leg[] = [];
let tickers: MediaTicker[] = [];

afterEach(async () => {
  for (const l of legs) await l.session.close();
  for (const t of tickers) t.close();
  legs = [];
  tickers = [];
});

async function setup(): Promise<{ vclock: VirtualClock; clock: StallingClock; ticker: MediaTicker; leg: Leg; sent: Sent[] }> {
  const vclock = new VirtualClock();
  const clock = new StallingClock(vclock);
  // No socket I/O is pending in virtual time: a late tick's receive phase may follow at once.
  const ticker = new MediaTicker({ clock, defer: (fn) => fn() });
  tickers.push(ticker);
  const leg = await openLeg(vclock, { ticker, codec: 'PCMU', telephoneEventPt: null });
  legs.push(leg);
  const sent: Sent[] = [];
  tap(leg, vclock, (p) => sent.push(p));
  return { vclock, clock, ticker, leg, sent };
}

function expectContinuous(sent: Sent[]): void {
  for (let i = 1; i < sent.length; i++) {
    expect(sent[i].seq).toBe((sent[i - 1].seq + 1) & 0xffff);
    expect(sent[i].ts).toBe((sent[i - 1].ts + FRAME) >>> 0);
  }
}

describe('AI playout: talk spurt start', () => {
  it('sends the first frame on an idle stream at once with the marker bit, then one per tick, one packet per period', async () => {
    const { vclock, leg, sent } = await setup();
    vclock.advance(0); // tick 0: silence
    vclock.advance(7);
    // A burst (an agent's TTS ahead of real time) arrives 7 ms into the period.
    for (let id = 1; id <= 5; id++) leg.session.enqueuePcm(frameOf(id));
    expect(sent.map((p) => [p.at, p.id, p.marker])).toEqual([
      [0, -1, true], // the stream's first packet
      [7, 1, true],
    ]);
    vclock.advance(153); // to t = 160
    expect(sent.map((p) => [p.at, p.id, p.marker])).toEqual([
      [0, -1, true],
      [7, 1, true], // the packet of the period ending at 20
      [20, 2, false], // period ending at 40, and so on: each frame one period ahead of its tick
      [40, 3, false],
      [60, 4, false],
      [80, 5, false], // period ending at 100
      [120, -1, false], // nothing new at 100 (its packet already left); silence on the tick from then on
      [140, -1, false],
      [160, -1, false],
    ]);
    // One stream: sequence numbers and timestamps run on without a jump, whichever source and whenever sent.
    expectContinuous(sent);
    expect(leg.session.stats().framesSent).toBe(5);
  });

  it('marks the start of each talk spurt after silence, and only that', async () => {
    const { vclock, leg, sent } = await setup();
    vclock.advance(0);
    leg.session.enqueuePcm(frameOf(1));
    leg.session.enqueuePcm(frameOf(2));
    vclock.advance(200);
    leg.session.enqueuePcm(frameOf(3));
    vclock.advance(100);
    const audio = sent.filter((p) => p.id > 0);
    expect(audio.map((p) => [p.id, p.marker])).toEqual([
      [1, true],
      [2, false],
      [3, true],
    ]);
    expect(audio[2].at).toBe(200);
    expectContinuous(sent);
  });

  it('without idle silence, the first frame still leaves at once and the timestamp jumps by the idle time (RFC 3550 §5.1)', async () => {
    const vclock = new VirtualClock();
    const ticker = new MediaTicker({ clock: vclock });
    tickers.push(ticker);
    const leg = await openLeg(vclock, { ticker, codec: 'PCMU', telephoneEventPt: null, sendSilenceWhenIdle: false });
    legs.push(leg);
    const sent: Sent[] = [];
    tap(leg, vclock, (p) => sent.push(p));
    vclock.advance(0);
    leg.session.enqueuePcm(frameOf(1));
    vclock.advance(143);
    leg.session.enqueuePcm(frameOf(2));
    leg.session.enqueuePcm(frameOf(3));
    vclock.advance(500);
    leg.session.enqueuePcm(frameOf(4));
    vclock.advance(100);
    expect(sent.map((p) => [p.at, p.id, p.marker])).toEqual([
      [0, 1, true],
      [143, 2, true],
      [160, 3, false],
      [643, 4, true],
    ]);
    expect(sent.every((p) => p.seq === ((sent[0].seq + sent.indexOf(p)) & 0xffff))).toBe(true);
    // Silence without packets: the timestamp moved by the time that passed, so the stream stays on its clock.
    expect((sent[1].ts - sent[0].ts) >>> 0).toBe(143 * 8);
    expect((sent[2].ts - sent[1].ts) >>> 0).toBe(FRAME);
    expect((sent[3].ts - sent[0].ts) >>> 0).toBe(643 * 8);
  });
});

describe('AI playout: a real-time stream', () => {
  it.each([
    ['just after the tick', 2, 0],
    ['mid-period with jitter', 9, 8],
    ['just before the tick with jitter across it', 17, 6],
  ])('adds no delay beyond the source jitter (%s)', async (_name, phase, spread) => {
    const { vclock, clock, leg, sent, ticker } = await setup();
    vclock.advance(0);
    const arrived = new Map<number, number>();
    let seed = 7;
    const jitter = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return phase + (seed % (spread + 1));
    };
    realTimeSpurt(clock, leg, 20, 500, 1, arrived, jitter);
    vclock.advance(20 * 505);
    const audio = sent.filter((p) => p.id > 0);
    expect(audio.map((p) => p.id)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    const latency = audio.map((p) => p.at - (arrived.get(p.id) ?? NaN));
    // The playout adds no more than the source's own jitter: a frame waits only when it came early, right behind
    // its predecessor in the same period; with a steady phase every frame leaves the moment it arrives.
    expect(Math.max(...latency)).toBeLessThanOrEqual(spread);
    expect(latency.filter((l) => l === 0).length).toBeGreaterThanOrEqual(250);
    // One packet per period: as many packets as ticks ran (one may be a period ahead), a continuous stream.
    expect(sent.length - ticker.ticks).toBeGreaterThanOrEqual(0);
    expect(sent.length - ticker.ticks).toBeLessThanOrEqual(1);
    expectContinuous(sent);
  });
});

describe('AI playout: stalls', () => {
  it('drops the backlog a stall leaves in a real-time stream, so the delay does not last', async () => {
    const { vclock, clock, leg, sent, ticker } = await setup();
    vclock.advance(0);
    const arrived = new Map<number, number>();
    // An echo-like source: every frame 4 ms after the tick, for 20 s; the event loop stalls for 200 ms at 5.01 s.
    realTimeSpurt(clock, leg, 4, 1000, 1, arrived, () => 0);
    clock.stall(5010, 200);
    vclock.advance(20 * 1010);
    expect(ticker.skippedTicks).toBeGreaterThan(0);
    const audio = sent.filter((p) => p.id > 0);
    const latency = (p: Sent): number => p.at - (arrived.get(p.id) ?? NaN);
    // Before the stall every frame left when it arrived; from 0.5 s after it, again.
    expect(audio.filter((p) => p.at < 5000).every((p) => latency(p) === 0)).toBe(true);
    const after = audio.filter((p) => (arrived.get(p.id) ?? 0) > 5700);
    expect(after.length).toBeGreaterThan(600);
    expect(after.every((p) => latency(p) === 0)).toBe(true);
    // What was dropped is about the stall's length of audio (10 periods), the oldest frames, and nothing else.
    const dropped = 1000 - audio.length;
    expect(dropped).toBeGreaterThanOrEqual(8);
    expect(dropped).toBeLessThanOrEqual(11);
    expect(leg.session.stats().queueStallDropped).toBe(dropped * FRAME);
    const ids = audio.map((p) => p.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // No burst beyond the pacer's catch-up: never more than two packets at one instant.
    const perInstant = new Map<number, number>();
    for (const p of sent) perInstant.set(p.at, (perInstant.get(p.at) ?? 0) + 1);
    expect(Math.max(...perInstant.values())).toBeLessThanOrEqual(2);
  });

  it.each([
    ['one period late (the catch-up tick follows at once)', 35],
    ['ten periods late (ticks skipped)', 205],
  ])('an echo loop sends each frame as it arrives again after the clock ran %s', async (_name, stallMs) => {
    const { vclock, clock, leg, sent, ticker } = await setup();
    const arrived = new Map<number, number>();
    let id = 0;
    // The AI answers the caller's frame of each tick 2 ms later (an echo), and the frames the receive side drains
    // after skipped ticks as one burst: the playout's input is clocked by its own ticker.
    ticker.add({
      onSendTick: () => undefined,
      onReceiveTick: (missed) => {
        const burst = 1 + missed;
        clock.setTimeout(() => {
          for (let k = 0; k < burst; k++) {
            arrived.set(++id, clock.now());
            leg.session.enqueuePcm(frameOf(id));
          }
        }, 2);
      },
    });
    vclock.advance(3010);
    clock.stall(3010, stallMs);
    vclock.advance(3000);
    const audio = sent.filter((p) => p.id > 0);
    const latency = (p: Sent): number => p.at - (arrived.get(p.id) ?? NaN);
    expect(audio.filter((p) => p.at < 3000).every((p) => latency(p) === 0)).toBe(true);
    const after = audio.filter((p) => p.at > 3600);
    expect(after.length).toBeGreaterThan(100);
    expect(after.every((p) => latency(p) === 0)).toBe(true);
    expect(leg.session.stats().queueStallDropped / FRAME).toBeLessThanOrEqual(stallMs / 20 + 1);
  });

  it('keeps a pre-buffered utterance whole through a stall: its delay ends with it', async () => {
    const { vclock, clock, leg, sent } = await setup();
    vclock.advance(0);
    vclock.advance(5);
    // 4 s of speech at once (TTS far ahead of real time), then a 300 ms stall in the middle of it.
    for (let id = 1; id <= 200; id++) leg.session.enqueuePcm(frameOf(id));
    clock.stall(1505, 300);
    vclock.advance(5000);
    expect(sent.filter((p) => p.id > 0).map((p) => p.id)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(leg.session.stats().queueStallDropped).toBe(0);
    expect(leg.session.queuedSamples).toBe(0);
  });

  it('takes nothing from audio that starts after a stall of an idle stream', async () => {
    const { vclock, clock, leg, sent } = await setup();
    vclock.advance(0);
    clock.stall(1005, 400);
    vclock.advance(1500);
    // Twenty frames of real-time speech right after the stall, the first part arriving as one burst.
    const arrived = new Map<number, number>();
    realTimeSpurt(clock, leg, 1380, 20, 1, arrived, () => 3);
    vclock.advance(1000);
    expect(sent.filter((p) => p.id > 0).map((p) => p.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(leg.session.stats().queueStallDropped).toBe(0);
  });
});

describe('AI playout: jitter of a real-time source', () => {
  it('takes back the frame of delay one late frame left in a continuous stream, preferably a quiet one', async () => {
    const { vclock, clock, leg, sent } = await setup();
    vclock.advance(0);
    const arrived = new Map<number, number>();
    // 8 s of speech 4 ms after each tick; frame 100 comes 18 ms late (after the next tick); every 7th frame is a pause.
    realTimeSpurt(clock, leg, 4, 400, 1, arrived, (i) => (i === 99 ? 18 : 0), undefined, (id) => (id % 7 === 0 ? quietFrameOf(id) : frameOf(id)));
    vclock.advance(8100);
    const audio = sent.filter((p) => p.id > 0);
    const latency = (p: Sent): number => p.at - (arrived.get(p.id) ?? NaN);
    // The late frame cost a period of silence and left the stream a period behind...
    const late = audio.find((p) => p.id === 100)!;
    expect(late.marker).toBe(true);
    expect(audio.filter((p) => p.id > 100 && p.id < 125).every((p) => latency(p) === 16)).toBe(true);
    // ...until, half a second later, one frame (a quiet one) was dropped: from then on each frame leaves on arrival.
    expect(leg.session.stats().queueStandingDropped).toBe(FRAME);
    const ids = new Set(audio.map((p) => p.id));
    const missing = Array.from({ length: 400 }, (_, i) => i + 1).filter((id) => !ids.has(id));
    expect(missing).toHaveLength(1);
    expect(missing[0] % 7).toBe(0);
    expect(audio.filter((p) => p.id > 200).every((p) => latency(p) === 0)).toBe(true);
  });

  it('halves a deeper standing delay step by step (an AI hiccup delivered 160 ms of frames at once)', async () => {
    const { vclock, clock, leg, sent } = await setup();
    vclock.advance(0);
    const arrived = new Map<number, number>();
    // Real time 4 ms after each tick, except that frames 100..108 all arrive together with frame 108.
    realTimeSpurt(clock, leg, 4, 400, 1, arrived, (i) => (i >= 99 && i < 107 ? 20 * (107 - i) : 0));
    vclock.advance(8100);
    const audio = sent.filter((p) => p.id > 0);
    const latency = (p: Sent): number => p.at - (arrived.get(p.id) ?? NaN);
    const dropped = leg.session.stats().queueStandingDropped / FRAME;
    // Eight frames behind: 4, 2, 1 and 1 dropped (none of these frames is quiet: each step waited half a second more).
    expect(dropped).toBe(8);
    const late = audio.filter((p) => p.id > 108).map(latency);
    expect(new Set(late.slice(0, 40))).toEqual(new Set([156]));
    // About four seconds after the hiccup every frame leaves as it arrives again, and the order never changed.
    expect(audio.filter((p) => p.id > 330).every((p) => latency(p) === 0)).toBe(true);
    const ids = audio.map((p) => p.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('leaves alone a queue that grows (speech sent a little faster than real time)', async () => {
    const { vclock, clock, leg, sent } = await setup();
    vclock.advance(0);
    const arrived = new Map<number, number>();
    // 5% faster than real time for 6 s: the queue grows by a frame every 400 ms, never drains.
    let i = 0;
    const next = (): void => {
      clock.setTimeout(() => {
        arrived.set(++i, clock.now());
        leg.session.enqueuePcm(frameOf(i));
        if (i < 315) next();
      }, 19);
    };
    next();
    vclock.advance(9000);
    expect(sent.filter((p) => p.id > 0).map((p) => p.id)).toEqual(Array.from({ length: 315 }, (_, k) => k + 1));
    expect(leg.session.stats().queueStandingDropped).toBe(0);
  });
});

describe('AI playout over a simulated hour', () => {
  it('one packet per period, a timestamp that stays on the clock, a frame on an empty queue never later than the next tick', async () => {
    const { vclock, clock, leg, ticker } = await setup();
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let packets = 0;
    let audio = 0;
    let first: Sent | undefined;
    let prev: Sent | undefined;
    let maxEarly = 0;
    let maxLate = 0;
    let badSeq = 0;
    let maxLatencyCalm = 0;
    const arrived = new Map<number, number>();
    const emptyOnArrival = new Set<number>();
    const stalls: number[] = [];
    tap(leg, vclock, (p) => {
      packets++;
      if (first === undefined) first = p;
      if (prev !== undefined && p.seq !== ((prev.seq + 1) & 0xffff)) badSeq++;
      // Where the packet's timestamp says it belongs on the clock, against when it left.
      const offsetMs = ((p.ts - first.ts) >>> 0) / 8 - (p.at - first.at);
      maxEarly = Math.max(maxEarly, offsetMs);
      maxLate = Math.max(maxLate, -offsetMs);
      if (p.id > 0) {
        audio++;
        const at = arrived.get(p.id);
        arrived.delete(p.id);
        // Outside stalls (and the second after one), a frame that finds the queue empty leaves by the next tick.
        if (at !== undefined && emptyOnArrival.delete(p.id) && !stalls.some((s) => at >= s && at < s + 1500)) maxLatencyCalm = Math.max(maxLatencyCalm, p.at - at);
      }
      prev = p;
    });
    vclock.advance(0);
    // One hour of conversation: real-time talk spurts (1-20 s) with jitter, TTS bursts, pauses; a stall of
    // 60-400 ms of the event loop about every 30 s. Each spurt is scheduled when the previous one starts, so the
    // virtual clock's timer list stays short.
    const HOUR = 3_600_000;
    let id = 1;
    const spurt = (start: number): void => {
      if (start > HOUR - 30_000) return;
      const firstId = id;
      let frames: number;
      if (rand(3) < 2) {
        frames = 50 + rand(950);
        const phase = rand(20);
        const spread = rand(6);
        clock.setTimeout(() => realTimeSpurt(clock, leg, start, frames, firstId, arrived, () => Math.min(19, phase + rand(spread + 1)), emptyOnArrival), start - 50 - vclock.now());
      } else {
        frames = 10 + rand(300);
        clock.setTimeout(() => {
          if (leg.session.queuedSamples === 0) emptyOnArrival.add(firstId);
          for (let k = 0; k < frames; k++) {
            arrived.set(firstId + k, vclock.now());
            leg.session.enqueuePcm(frameOf(firstId + k));
          }
        }, start - vclock.now());
      }
      id += frames;
      const nextStart = start + frames * 20 + 200 + rand(3000);
      clock.setTimeout(() => spurt(nextStart), start - vclock.now());
    };
    spurt(100);
    for (let s = 20_000 + rand(20_000); s < HOUR - 60_000; s += 20_000 + rand(20_000)) {
      clock.stall(s, 60 + rand(340));
      stalls.push(s);
    }
    // Run the hour a minute at a time (spurts are scheduled one ahead of time to keep the timer list short).
    for (let m = 0; m < 60; m++) vclock.advance(60_000);
    expect(badSeq).toBe(0);
    // One packet per period that ran (the pacer skipped the periods a stall swallowed), plus at most one ahead.
    expect(packets - ticker.ticks).toBeGreaterThanOrEqual(0);
    expect(packets - ticker.ticks).toBeLessThanOrEqual(1);
    expect(ticker.ticks + ticker.skippedTicks).toBeGreaterThanOrEqual(HOUR / 20);
    expect(ticker.ticks + ticker.skippedTicks).toBeLessThanOrEqual(HOUR / 20 + 1);
    // No drift: after an hour the timestamp still maps to the clock within fixed bounds. A packet leaves at most a
    // period ahead of its tick, plus what the RTP sender's re-sync after a stall adds (the catch-up period and the
    // tick's lateness, RFC 3550 §5.1); it is late only by a stalled tick.
    expect(maxEarly).toBeLessThanOrEqual(60);
    expect(maxLate).toBeLessThanOrEqual(20);
    expect(maxLatencyCalm).toBeLessThanOrEqual(20);
    expect(audio).toBeGreaterThan(100_000);
    expect(stalls.length).toBeGreaterThan(80);
  });
});

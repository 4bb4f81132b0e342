import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWav, encodeWav, GoertzelDtmfDetector, PCMA, PCMU, type DtmfDigitEvent } from '../../../src/dsp';
import { MediaSession, type MediaDtmfEvent } from '../../../src/media';
import { encodeTelephoneEventInto } from '../../../src/rtp';
import { InvalidStateError, VirtualClock } from '../../../src/util';
import { concat, FakePool, openLeg, rtp, sentPackets, sharedTicker, sine, type Leg } from './harness';

const FRAME = 160;

let legs: Leg[] = [];
let tmp: string;

beforeEach(() => {
  legs = [];
  tmp = mkdtempSync(join(tmpdir(), 'media-session-'));
});

afterEach(async () => {
  for (const l of legs) await l.session.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function leg(clock: VirtualClock, opts: Parameters<typeof openLeg>[1] = {}): Promise<Leg> {
  const l = await openLeg(clock, opts);
  legs.push(l);
  return l;
}

interface Frame {
  pcm: Int16Array;
  concealed: boolean;
}

function collectFrames(session: MediaSession): Frame[] {
  const frames: Frame[] = [];
  session.on('frame', (pcm, concealed) => frames.push({ pcm: pcm.slice(), concealed }));
  return frames;
}

/** Run `ms` of virtual time in 5 ms steps, calling `at(t)` at each step before time moves. */
function run(clock: VirtualClock, ms: number, at: (t: number) => void = () => undefined): void {
  const end = clock.now() + ms;
  while (clock.now() < end) {
    at(clock.now());
    clock.advance(5);
  }
}

/** The G.711 round trip of `pcm` (what a receiver decodes from what we encode). */
function roundTrip(pcm: Int16Array, codec = PCMU): Int16Array {
  return codec.decode(codec.encode(pcm));
}

function indexOfSeq(haystack: Int16Array, needle: Int16Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe('MediaSession receive path', () => {
  it('re-chunks 30 ms packets into 20 ms frames: same samples, in order, no gaps', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { codec: 'PCMA', telephoneEventPt: null });
    const frames = collectFrames(session);
    const payloads: Uint8Array[] = [];
    for (let k = 0; k < 20; k++) payloads.push(PCMA.encode(sine(300 + 17 * k, 240, 9000, k * 240)));
    let k = 0;
    // One 30 ms packet every 30 ms, mid-slot.
    run(clock, 20 * 30 + 300, (t) => {
      if (k < 20 && t === k * 30 + 5) {
        socket.receive(rtp(8, 1000 + k, 5000 + k * 240, payloads[k]));
        k++;
      }
    });
    expect(frames.every((f) => f.pcm.length === FRAME)).toBe(true);
    const real = frames.filter((f) => !f.concealed);
    expect(real).toHaveLength(30);
    // Payload-bearing frames come first, concealment only at the tail.
    expect(frames.slice(0, 30).every((f) => !f.concealed)).toBe(true);
    expect(concat(real.map((f) => f.pcm))).toEqual(PCMA.decode(Buffer.concat(payloads)));
  });

  it('conceals a lost packet in its place and restores order of reordered packets', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { codec: 'PCMU', telephoneEventPt: null });
    const frames = collectFrames(session);
    const payloads = Array.from({ length: 30 }, (_, i) => PCMU.encode(sine(500, FRAME, 6000 + i * 100, i * FRAME)));
    // seq 10 is lost; 21 arrives before 20.
    const order = Array.from({ length: 30 }, (_, i) => i).filter((i) => i !== 10);
    const swap = order.indexOf(20);
    [order[swap], order[swap + 1]] = [order[swap + 1], order[swap]];
    let slot = 0;
    run(clock, 30 * 20 + 200, (t) => {
      if (t === slot * 20 + 5 && slot < 30) {
        if (slot < order.length) socket.receive(rtp(0, 200 + order[slot], order[slot] * FRAME, payloads[order[slot]]));
        slot++;
      }
    });
    const decoded = payloads.map((p) => PCMU.decode(p));
    // Frames 0..29 in sequence order; 10 is the repeat of 9 (first loss: full level).
    expect(frames.length).toBeGreaterThanOrEqual(30);
    for (let i = 0; i < 30; i++) {
      if (i === 10) {
        expect(frames[i].concealed).toBe(true);
        expect(frames[i].pcm).toEqual(decoded[9]);
      } else {
        expect(frames[i].concealed).toBe(false);
        expect(frames[i].pcm).toEqual(decoded[i]);
      }
    }
    expect(session.stats().jitterLost).toBeGreaterThanOrEqual(1);
    expect(session.stats().jitterLate).toBe(0);
  });

  it('attenuates consecutive concealed frames and stops emitting when the stream ends', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { codec: 'PCMU', telephoneEventPt: null });
    const frames = collectFrames(session);
    const payload = PCMU.encode(sine(400, FRAME, 10000));
    for (let i = 0; i < 3; i++) socket.receive(rtp(0, i, i * FRAME, payload));
    run(clock, 1000);
    const concealed = frames.filter((f) => f.concealed);
    // maxConcealed (5) frames of concealment, then the stream is declared paused: no more frames.
    expect(concealed).toHaveLength(5);
    const peak = (p: Int16Array): number => p.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 1; i < concealed.length; i++) expect(peak(concealed[i].pcm)).toBeLessThan(peak(concealed[i - 1].pcm));
    expect(frames).toHaveLength(8);
  });
});

describe('MediaSession latency guard', () => {
  it('drops a backlog far beyond the jitter target (a stall) instead of playing it late', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { codec: 'PCMU', telephoneEventPt: null });
    const frames = collectFrames(session);
    const payloads = Array.from({ length: 30 }, (_, i) => PCMU.encode(sine(200 + 40 * i, FRAME, 8000)));
    clock.advance(0);
    // Thirty packets arrive at once, as after a 600 ms stall.
    for (let i = 0; i < 30; i++) socket.receive(rtp(0, 500 + i, i * FRAME, payloads[i]));
    clock.advance(20);
    const played = frames.filter((f) => !f.concealed).map((f) => payloads.findIndex((p) => Buffer.from(PCMU.decode(p).buffer).equals(Buffer.from(f.pcm.buffer))));
    // Only the newest (the jitter target, 2-3 frames here, + 10) are still played, in order.
    expect(played[0]).toBeGreaterThanOrEqual(15);
    expect(played[0]).toBeLessThanOrEqual(18);
    clock.advance(400);
    const all = frames.filter((f) => !f.concealed).map((f) => payloads.findIndex((p) => Buffer.from(PCMU.decode(p).buffer).equals(Buffer.from(f.pcm.buffer))));
    expect(all).toEqual(Array.from({ length: 30 - played[0] }, (_, i) => played[0] + i));
    expect(session.stats().latencyDropped).toBeGreaterThan(0);
  });
});

describe('MediaSession DTMF', () => {
  const DIGIT5 = (n: number, start: number): Int16Array => {
    const a = sine(770, n, 5000, start);
    const b = sine(1336, n, 6000, start);
    return a.map((v, i) => v + b[i]);
  };

  /** 40 slots of 20 ms: silence, a 5 press in slots 5..16 (in-band and/or RFC 4733), silence. */
  function sendPress(l: Leg, opts: { inband: boolean; rfc4733: boolean }): void {
    let seq = 100;
    let slot = 0;
    const eventTs = 5 * FRAME;
    const te = Buffer.alloc(4);
    run(l.clock, 40 * 20 + 2000, (t) => {
      if (slot >= 40 || t !== slot * 20 + 5) return;
      const tone = slot >= 5 && slot <= 16;
      const pcm = tone && opts.inband ? DIGIT5(FRAME, slot * FRAME) : new Int16Array(FRAME);
      l.socket.receive(rtp(0, seq++, slot * FRAME, PCMU.encode(pcm)));
      if (opts.rfc4733 && tone) {
        // RFC 4733 §2.5.1: same SSRC and sequence space, the event's start timestamp throughout.
        const end = slot === 16;
        encodeTelephoneEventInto({ event: 5, end, volume: 10, duration: (slot - 4) * FRAME }, te);
        l.socket.receive(rtp(101, seq++, eventTs, te, slot === 5));
        if (end) for (let i = 0; i < 2; i++) l.socket.receive(rtp(101, seq - 1, eventTs, te));
      }
      slot++;
    });
  }

  it('reports a press sent both as RFC 4733 and in-band once, as rfc4733', async () => {
    const clock = new VirtualClock();
    const l = await leg(clock, { codec: 'PCMU', telephoneEventPt: 101, inbandDtmf: 'always' });
    const events: MediaDtmfEvent[] = [];
    l.session.on('dtmf', (e) => events.push(e));
    sendPress(l, { inband: true, rfc4733: true });
    expect(events).toEqual([{ digit: '5', source: 'rfc4733', durationMs: 240 }]);
    // The in-band detector did hear the tone: its report was the one suppressed.
    expect(l.session.stats().dtmfSuppressed).toBe(1);
  });

  it('reports an in-band-only press once, as inband, even with telephone-event negotiated', async () => {
    const clock = new VirtualClock();
    const l = await leg(clock, { codec: 'PCMU', telephoneEventPt: 101, inbandDtmf: 'always' });
    const events: MediaDtmfEvent[] = [];
    l.session.on('dtmf', (e) => events.push(e));
    sendPress(l, { inband: true, rfc4733: false });
    expect(events.map((e) => [e.digit, e.source])).toEqual([['5', 'inband']]);
  });

  it("in 'auto' mode runs the in-band detector only without telephone-event", async () => {
    const clock = new VirtualClock();
    const withTe = await leg(clock, { codec: 'PCMU', telephoneEventPt: 101, inbandDtmf: 'auto' });
    const a: MediaDtmfEvent[] = [];
    withTe.session.on('dtmf', (e) => a.push(e));
    sendPress(withTe, { inband: true, rfc4733: false });
    expect(a).toEqual([]);
    const clock2 = new VirtualClock();
    const noTe = await leg(clock2, { codec: 'PCMU', telephoneEventPt: null, inbandDtmf: 'auto' });
    const b: MediaDtmfEvent[] = [];
    noTe.session.on('dtmf', (e) => b.push(e));
    sendPress(noTe, { inband: true, rfc4733: false });
    expect(b.map((e) => e.source)).toEqual(['inband']);
  });

  it('sends digits as RFC 4733 events when negotiated, holding audio meanwhile', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { codec: 'PCMU', telephoneEventPt: 101 });
    session.enqueuePcm(sine(440, 8000));
    clock.advance(0);
    const from = socket.sent.length;
    const done = session.sendDtmf('1#', { durationMs: 100 });
    let finished = false;
    void done.then(() => (finished = true));
    for (let i = 0; i < 40 && !finished; i++) {
      clock.advance(20);
      await Promise.resolve();
      await Promise.resolve();
    }
    expect(finished).toBe(true);
    const pkts = sentPackets(socket, from);
    const events = pkts.filter((p) => p.pt === 101);
    const ends = events.filter((p) => (p.payload[1] & 0x80) !== 0);
    expect(new Set(ends.map((p) => p.payload[0]))).toEqual(new Set([1, 11]));
    expect(events.filter((p) => p.marker)).toHaveLength(2);
    // No audio frame goes out between an event's start and its end packets.
    const firstEvent = pkts.findIndex((p) => p.pt === 101);
    const lastEvent = pkts.length - 1 - [...pkts].reverse().findIndex((p) => p.pt === 101);
    expect(pkts.slice(firstEvent, lastEvent).filter((p) => p.pt === 0)).toHaveLength(0);
  });

  it('sends digits as in-band tones without telephone-event', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { codec: 'PCMU', telephoneEventPt: null });
    clock.advance(0);
    const from = socket.sent.length;
    let finished = false;
    void session.sendDtmf('47').then(() => (finished = true));
    for (let i = 0; i < 30 && !finished; i++) {
      clock.advance(20);
      await Promise.resolve();
    }
    expect(finished).toBe(true);
    const heard: DtmfDigitEvent[] = [];
    const det = new GoertzelDtmfDetector({ onDigit: (e) => heard.push(e) });
    for (const p of sentPackets(socket, from)) det.process(PCMU.decode(p.payload));
    det.flush();
    expect(heard.map((e) => e.digit)).toEqual(['4', '7']);
  });
});

describe('MediaSession send path', () => {
  it('sends the first frame of enqueued PCM at once, then paces odd chunk sizes at one 20 ms packet per tick, continuous seq/ts, one SSRC', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { codec: 'PCMU' });
    clock.advance(0); // the first tick (silence)
    const input = sine(700, 8000, 7000);
    const sizes = [1, 37, 161, 333, 7, 999, 80, 2];
    let off = 0;
    const from = socket.sent.length;
    for (let i = 0; off < input.length; i++) {
      const n = Math.min(sizes[i % sizes.length], input.length - off);
      expect(session.enqueuePcm(input.subarray(off, off + n))).toBe(true);
      off += n;
    }
    // Talk spurt start on an idle stream: the first full frame left without waiting for the tick.
    expect(socket.sent.length - from).toBe(1);
    for (let step = 1; step <= 60; step++) {
      clock.advance(20);
      // One packet per period: the 50 audio frames each a period ahead of their tick, then silence on the tick.
      expect(socket.sent.length - from).toBe(step < 50 ? step + 1 : step);
    }
    const pkts = sentPackets(socket, from);
    const audio = pkts.slice(0, 50);
    expect(concat(audio.map((p) => PCMU.decode(p.payload)))).toEqual(roundTrip(input));
    expect(session.stats().framesSent).toBe(50);
    // Talk spurt start after the initial silence carries the marker; nothing else does.
    expect(audio[0].marker).toBe(true);
    expect(pkts.slice(1).some((p) => p.marker)).toBe(false);
    // After the queue drained: silence (PCMU 0xFF).
    expect(pkts.slice(50).every((p) => p.payload.every((b) => b === 0xff))).toBe(true);
    const all = sentPackets(socket);
    for (let i = 1; i < all.length; i++) {
      expect(all[i].seq).toBe((all[i - 1].seq + 1) & 0xffff);
      expect(all[i].ts).toBe((all[i - 1].ts + FRAME) >>> 0);
      expect(all[i].ssrc).toBe(all[0].ssrc);
    }
  });

  it('fires markplayed once the audio before the mark has been sent', async () => {
    const clock = new VirtualClock();
    const { session } = await leg(clock);
    clock.advance(0);
    const played: string[] = [];
    session.on('markplayed', (n) => played.push(n));
    session.enqueuePcm(sine(300, 400));
    session.mark('m1');
    session.enqueuePcm(sine(300, 160));
    session.mark('m2');
    // The first frame left at once (idle stream); the next ones one per tick.
    clock.advance(20);
    expect(played).toEqual([]);
    clock.advance(20); // third frame: the last 80 samples of the first chunk, then the second chunk
    expect(played).toEqual(['m1']);
    clock.advance(20); // fourth frame: the last 80 samples (padded: a mark follows)
    expect(played).toEqual(['m1', 'm2']);
  });

  it('clearQueue drops queued audio at once and returns pending marks as cleared', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock);
    clock.advance(0);
    const cleared: string[] = [];
    const played: string[] = [];
    session.on('markcleared', (n) => cleared.push(n));
    session.on('markplayed', (n) => played.push(n));
    session.enqueuePcm(sine(500, 8000));
    session.mark('half');
    session.enqueuePcm(sine(600, 8000));
    session.mark('end');
    clock.advance(100);
    // One frame at once, then one per tick (each a period ahead of its tick).
    expect(session.queuedSamples).toBe(16000 - 6 * FRAME);
    session.clearQueue();
    expect(cleared).toEqual(['half', 'end']);
    expect(session.queuedSamples).toBe(0);
    const from = socket.sent.length;
    // The next period's packet had already left: the period after it carries silence.
    clock.advance(40);
    const next = sentPackets(socket, from);
    expect(next).toHaveLength(1);
    expect(next[0].payload.every((b) => b === 0xff)).toBe(true);
    clock.advance(200);
    expect(played).toEqual([]);
  });

  it('plays a WAV file in a loop without a gap at the loop point', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock);
    clock.advance(0);
    // 1000 samples: not a multiple of the frame, so the loop point falls inside a frame.
    const clip = new Int16Array(1000);
    for (let i = 0; i < clip.length; i++) clip[i] = Math.round(9000 * Math.sin(i / 7) + 3000 * Math.sin(i / 31));
    const path = join(tmp, 'clip.wav');
    writeFileSync(path, encodeWav(clip, { sampleRate: 8000, channels: 1 }));
    const result = session.play(path, { loop: true });
    for (let i = 0; i < 200 && !session.isPlaying; i++) await new Promise((r) => setTimeout(r, 5));
    expect(session.isPlaying).toBe(true);
    const from = socket.sent.length;
    clock.advance(30 * 20);
    const out = concat(sentPackets(socket, from).map((p) => PCMU.decode(p.payload)));
    expect(out.length).toBe(30 * FRAME);
    const expected = roundTrip(clip);
    for (let i = 0; i < out.length; i++) if (out[i] !== expected[i % 1000]) throw new Error(`sample ${i} differs`);
    session.stop();
    await expect(result).resolves.toBe('stopped');
  });

  it('resolves play() of PCM as finished after its last (padded) frame', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock);
    clock.advance(0);
    const from = socket.sent.length;
    const p = session.play(sine(800, 400));
    await Promise.resolve();
    clock.advance(60);
    await expect(p).resolves.toBe('finished');
    const pkts = sentPackets(socket, from);
    expect(concat(pkts.map((x) => PCMU.decode(x.payload))).subarray(0, 400)).toEqual(roundTrip(sine(800, 400)));
  });

  it('hold() stops the conversation but not play(); resume() continues where it was', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock);
    clock.advance(0);
    session.enqueuePcm(sine(500, 1600));
    clock.advance(40);
    session.hold();
    let from = socket.sent.length;
    clock.advance(100);
    expect(socket.sent.length).toBe(from);
    expect(session.queuedSamples).toBe(1600 - 3 * FRAME);
    const moh = session.play(sine(300, 320));
    await Promise.resolve();
    from = socket.sent.length;
    clock.advance(40);
    expect(sentPackets(socket, from)).toHaveLength(2);
    await expect(moh).resolves.toBe('finished');
    session.resume();
    from = socket.sent.length;
    clock.advance(20);
    expect(concat(sentPackets(socket, from).map((x) => PCMU.decode(x.payload)))).toEqual(roundTrip(sine(500, 1600).subarray(480, 640)));
  });
});

describe('MediaSession record', () => {
  it('writes a stereo WAV: left = received audio, right = sent audio', async () => {
    const clock = new VirtualClock();
    const { session, socket } = await leg(clock, { codec: 'PCMU', telephoneEventPt: null });
    const path = join(tmp, 'call.wav');
    await session.record(path, { mode: 'stereo' });
    const rxPcm = roundTrip(sine(440, 20 * FRAME, 8000));
    const txPcm = sine(1000, 25 * FRAME, 5000);
    session.enqueuePcm(txPcm);
    let k = 0;
    run(clock, 1000, (t) => {
      if (k < 20 && t === k * 20 + 5) {
        socket.receive(rtp(0, k, k * FRAME, PCMU.encode(rxPcm.subarray(k * FRAME, (k + 1) * FRAME))));
        k++;
      }
    });
    const summary = await session.stopRecording();
    expect(summary?.frames).toBeGreaterThan(40 * FRAME);
    const wav = decodeWav(readFileSync(path));
    expect(wav.channels).toBe(2);
    const left = new Int16Array(wav.frames);
    const right = new Int16Array(wav.frames);
    for (let i = 0; i < wav.frames; i++) {
      left[i] = wav.samples[2 * i];
      right[i] = wav.samples[2 * i + 1];
    }
    expect(indexOfSeq(left, rxPcm)).toBeGreaterThanOrEqual(0);
    expect(indexOfSeq(right, txPcm)).toBeGreaterThanOrEqual(0);
    expect(indexOfSeq(right, rxPcm.subarray(0, 800))).toBe(-1);
    expect(indexOfSeq(left, txPcm.subarray(0, 800))).toBe(-1);
  });

  it('writes a mixed mono WAV holding the sum of both directions', async () => {
    const clock = new VirtualClock();
    const { session } = await leg(clock, { codec: 'PCMU', telephoneEventPt: null });
    const path = join(tmp, 'mixed.wav');
    await session.record(path, { mode: 'mixed' });
    await expect(session.record(path)).rejects.toBeInstanceOf(InvalidStateError);
    const tx = sine(1000, 10 * FRAME, 5000);
    session.enqueuePcm(tx);
    clock.advance(400);
    await session.stopRecording();
    const wav = decodeWav(readFileSync(path));
    expect(wav.channels).toBe(1);
    expect(indexOfSeq(wav.samples, tx)).toBeGreaterThanOrEqual(0);
  });
});

describe('MediaSession connect', () => {
  it('bridges PCMU and PCMA legs, transcoding both ways, one tick later', async () => {
    const clock = new VirtualClock();
    const ticker = sharedTicker(clock);
    const a = await leg(clock, { codec: 'PCMU', telephoneEventPt: null, ticker });
    const b = await leg(clock, { codec: 'PCMA', telephoneEventPt: null, ticker });
    MediaSession.connect(a.session, b.session);
    expect(a.session.connectedTo).toBe(b.session);
    clock.advance(0);
    const inA = Array.from({ length: 10 }, (_, i) => PCMU.encode(sine(600, FRAME, 9000, i * FRAME)));
    const inB = Array.from({ length: 10 }, (_, i) => PCMA.encode(sine(900, FRAME, 9000, i * FRAME)));
    const fromA = a.socket.sent.length;
    const fromB = b.socket.sent.length;
    let k = 0;
    run(clock, 400, (t) => {
      if (k < 10 && t === k * 20 + 5) {
        a.socket.receive(rtp(0, k, k * FRAME, inA[k]));
        b.socket.receive(rtp(8, k, k * FRAME, inB[k]));
        k++;
      }
    });
    const bSent = sentPackets(b.socket, fromB).filter((p) => !p.payload.every((x) => x === PCMA.silenceCode));
    const aSent = sentPackets(a.socket, fromA).filter((p) => !p.payload.every((x) => x === PCMU.silenceCode));
    expect(bSent.every((p) => p.pt === 8)).toBe(true);
    expect(aSent.every((p) => p.pt === 0)).toBe(true);
    // The first ten frames are the other leg's packets; concealment of its stream's end follows.
    expect(Buffer.concat(bSent.slice(0, 10).map((p) => p.payload))).toEqual(Buffer.from(PCMA.encode(PCMU.decode(Buffer.concat(inA)))));
    expect(Buffer.concat(aSent.slice(0, 10).map((p) => p.payload))).toEqual(Buffer.from(PCMU.encode(PCMA.decode(Buffer.concat(inB)))));
    a.session.disconnect();
    expect(b.session.connectedTo).toBeNull();
    ticker.close();
  });

  it('echoes a leg connected to itself', async () => {
    const clock = new VirtualClock();
    const l = await leg(clock, { codec: 'PCMA', telephoneEventPt: null });
    l.session.connect(l.session);
    clock.advance(0);
    const input = Array.from({ length: 5 }, (_, i) => PCMA.encode(sine(350, FRAME, 9000, i * FRAME)));
    const from = l.socket.sent.length;
    let k = 0;
    run(clock, 300, (t) => {
      if (k < 5 && t === k * 20 + 5) l.socket.receive(rtp(8, k, k * FRAME, input[k++]));
    });
    const echoed = sentPackets(l.socket, from).filter((p) => !p.payload.every((x) => x === PCMA.silenceCode));
    expect(Buffer.concat(echoed.slice(0, 5).map((p) => p.payload))).toEqual(Buffer.concat(input));
  });
});

describe('MediaSession close', () => {
  it('releases its ports, emits closed once and refuses further use', async () => {
    const clock = new VirtualClock();
    const pool = new FakePool();
    const { session } = await openLeg(clock, { pool });
    expect(pool.allocated).toBe(1);
    const closed = jest.fn();
    session.on('closed', closed);
    const cleared: string[] = [];
    session.on('markcleared', (n) => cleared.push(n));
    session.enqueuePcm(sine(300, 1000));
    session.mark('x');
    const playing = session.play(sine(300, 8000));
    await session.close();
    await session.close();
    expect(pool.allocated).toBe(0);
    expect(closed).toHaveBeenCalledTimes(1);
    expect(cleared).toEqual(['x']);
    await expect(playing).resolves.toBe('closed');
    expect(() => session.enqueuePcm(new Int16Array(10))).toThrow(InvalidStateError);
    expect(clock.pending()).toBe(0);
  });
});

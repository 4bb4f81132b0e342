import { PCMU } from '../../../src/dsp';
import type { MediaDtmfEvent, MediaSession } from '../../../src/media';
import { encodeTelephoneEventInto } from '../../../src/rtp';
import { VirtualClock } from '../../../src/util';
import { openLeg, rtp, sine, type Leg } from './harness';

// RFC 4733 §2.1: telephone-events travel in the audio's RTP stream (same SSRC, same sequence space). The sequence
// numbers they take must not look like lost audio to the receiver's jitter buffer.

const FRAME = 160;
const SLOTS = 40;
let legs: Leg[] = [];

afterEach(async () => {
  for (const l of legs) await l.session.close();
  legs = [];
});

/** The `concealed` flag of every frame the session emits. */
function collect(session: MediaSession): boolean[] {
  const frames: boolean[] = [];
  session.on('frame', (_pcm, concealed) => frames.push(concealed));
  return frames;
}

/**
 * Concealed frames before the last real one. After the stream ends the jitter buffer conceals a few frames (it cannot
 * tell a lost tail from the end); those do not count.
 */
function concealedInside(frames: boolean[]): number {
  return frames.slice(0, frames.lastIndexOf(false)).filter((c) => c).length;
}

interface Plan {
  /** Event packets take sequence numbers in slots 10..19 (a 200 ms press). */
  event: boolean;
  /** The sender keeps its audio going during the event (else it holds it, as RFC 4733 senders usually do). */
  audioDuringEvent: boolean;
  /** Audio slots whose packet is lost on the way. */
  lost?: number[];
}

/** 40 slots of 20 ms of one peer stream, run on the session's virtual clock. */
function stream(l: Leg, plan: Plan): void {
  const te = Buffer.alloc(4);
  const audio = PCMU.encode(sine(440, FRAME, 6000));
  const eventTs = 10 * FRAME;
  let seq = 3000;
  let slot = 0;
  const end = l.clock.now() + SLOTS * 20 + 1000;
  while (l.clock.now() < end) {
    if (slot < SLOTS && l.clock.now() % 20 === 5) {
      const inEvent = plan.event && slot >= 10 && slot < 20;
      if (!inEvent || plan.audioDuringEvent) {
        if (!plan.lost?.includes(slot)) l.socket.receive(rtp(0, seq, slot * FRAME, audio));
        seq++;
      }
      if (inEvent) {
        // One event packet per 20 ms, the event's start timestamp throughout; three end packets (§2.5.1.4).
        const last = slot === 19;
        for (let i = 0; i < (last ? 3 : 1); i++) {
          encodeTelephoneEventInto({ event: 7, end: last, volume: 10, duration: (slot - 9) * FRAME }, te);
          l.socket.receive(rtp(101, seq++, eventTs, te, slot === 10 && i === 0));
        }
      }
      slot++;
    }
    l.clock.advance(5);
  }
}

async function leg(): Promise<Leg> {
  const clock = new VirtualClock();
  const l = await openLeg(clock, { codec: 'PCMU', telephoneEventPt: 101, inbandDtmf: 'never' });
  legs.push(l);
  return l;
}

describe('MediaSession: RFC 4733 events in the audio sequence space', () => {
  it('conceals nothing for an event in the middle of audio that keeps going', async () => {
    const l = await leg();
    const frames = collect(l.session);
    const digits: MediaDtmfEvent[] = [];
    l.session.on('dtmf', (e) => digits.push(e));
    stream(l, { event: true, audioDuringEvent: true });
    expect(digits).toEqual([{ digit: '7', source: 'rfc4733', durationMs: 200 }]);
    expect(concealedInside(frames)).toBe(0);
    expect(frames.filter((c) => !c)).toHaveLength(SLOTS);
    // The only loss the buffer reports is the tail.
    expect(l.session.stats().jitterLost).toBe(frames.filter((c) => c).length);
  });

  it('conceals nothing while the sender holds its audio for the event, and plays all audio around it', async () => {
    const l = await leg();
    const frames = collect(l.session);
    stream(l, { event: true, audioDuringEvent: false });
    expect(concealedInside(frames)).toBe(0);
    expect(frames.filter((c) => !c)).toHaveLength(SLOTS - 10);
  });

  it('still conceals real loss, with or without events', async () => {
    const withEvent = await leg();
    const a = collect(withEvent.session);
    stream(withEvent, { event: true, audioDuringEvent: true, lost: [5, 25] });
    expect(concealedInside(a)).toBe(2);

    const plain = await leg();
    const b = collect(plain.session);
    stream(plain, { event: false, audioDuringEvent: true, lost: [5, 25] });
    expect(concealedInside(b)).toBe(2);
  });
});

import { JitterBuffer, JitterFrame, JitterGetResult } from '../../../src/rtp';

function frame(seq: number): Buffer {
  return Buffer.from([seq & 0xff, (seq >> 8) & 0xff]);
}

/** Pull `n` frames, returning 'seq' for frames and the result name otherwise. */
function drain(jb: JitterBuffer, n: number): (number | JitterGetResult)[] {
  const out = new JitterFrame();
  const got: (number | JitterGetResult)[] = [];
  for (let i = 0; i < n; i++) {
    const r = jb.get(out);
    got.push(r === 'frame' ? out.sequenceNumber : r);
  }
  return got;
}

describe('JitterBuffer', () => {
  it('plays in order after reordering', () => {
    const jb = new JitterBuffer({ minDepth: 1 });
    for (const seq of [10, 12, 11, 13]) expect(jb.put(seq, seq * 160, frame(seq), seq * 20)).toBe('ok');
    expect(drain(jb, 4)).toEqual([10, 11, 12, 13]);
    expect(jb.framesPlayed).toBe(4);
  });

  it('drops duplicates', () => {
    const jb = new JitterBuffer();
    expect(jb.put(1, 160, frame(1), 0)).toBe('ok');
    expect(jb.put(1, 160, frame(1), 0)).toBe('duplicate');
    expect(jb.size).toBe(1);
    expect(jb.duplicates).toBe(1);
  });

  it('signals a lost frame and drops it when it arrives too late', () => {
    const jb = new JitterBuffer({ minDepth: 1 });
    jb.put(100, 0, frame(100), 0);
    jb.put(102, 320, frame(102), 40);
    expect(drain(jb, 3)).toEqual([100, 'lost', 102]);
    expect(jb.put(101, 160, frame(101), 60)).toBe('late');
    expect(jb.late).toBe(1);
    expect(jb.framesLost).toBe(1);
  });

  it('handles sequence wrap 65535 -> 0 with reordering', () => {
    const jb = new JitterBuffer({ minDepth: 1 });
    for (const seq of [65534, 0, 65535, 1]) jb.put(seq, 0, frame(seq), 0);
    expect(drain(jb, 4)).toEqual([65534, 65535, 0, 1]);
    // a packet from before the wrap is late
    expect(jb.put(65533, 0, frame(65533), 0)).toBe('late');
  });

  it('conceals a lost tail frame then declares an underrun and re-prefetches', () => {
    const jb = new JitterBuffer({ minDepth: 1, maxConcealed: 2 });
    jb.put(5, 0, frame(5), 0);
    expect(drain(jb, 4)).toEqual([5, 'lost', 'lost', 'empty']);
    expect(jb.isPlaying).toBe(false);
    jb.put(50, 45 * 160, frame(50), 900);
    expect(drain(jb, 1)).toEqual([50]);
  });

  it('waits for the target depth before playing', () => {
    const jb = new JitterBuffer({ minDepth: 3, maxDepth: 5 });
    jb.put(1, 160, frame(1), 0);
    jb.put(2, 320, frame(2), 20);
    expect(drain(jb, 1)).toEqual(['empty']);
    jb.put(3, 480, frame(3), 40);
    expect(drain(jb, 3)).toEqual([1, 2, 3]);
  });

  it('copies payloads (the caller may reuse its buffer)', () => {
    const jb = new JitterBuffer();
    const buf = Buffer.from([1, 2, 3]);
    jb.put(1, 0, buf, 0);
    buf.fill(9);
    const out = new JitterFrame();
    expect(jb.get(out)).toBe('frame');
    expect([...out.payload]).toEqual([1, 2, 3]);
  });

  it('rejects oversized frames and resets on a sequence jump', () => {
    const jb = new JitterBuffer({ maxFrameBytes: 4 });
    expect(jb.put(1, 0, Buffer.alloc(5), 0)).toBe('too-large');
    jb.put(1, 0, frame(1), 0);
    expect(drain(jb, 1)).toEqual([1]);
    expect(jb.put(30000, 0, frame(30000), 20)).toBe('reset');
    expect(drain(jb, 1)).toEqual([30000]);
    expect(jb.resets).toBe(1);
  });

  it('adapts the depth to observed jitter within its bounds', () => {
    const calm = new JitterBuffer({ minDepth: 1, maxDepth: 5 });
    for (let i = 0; i < 200; i++) calm.put(i, i * 160, frame(i), i * 20);
    expect(calm.targetDepth).toBe(1);
    const jittery = new JitterBuffer({ minDepth: 1, maxDepth: 5, capacity: 256 });
    // Arrival alternates 0 and 40 ms late: jitter ~ 40 ms = 2 frames, depth covers twice that.
    for (let i = 0; i < 200; i++) jittery.put(i, i * 160, frame(i), i * 20 + (i % 2) * 40);
    expect(jittery.jitterMs).toBeGreaterThan(35);
    expect(jittery.targetDepth).toBe(5);
  });

  it('shrinks latency by discarding when it holds more than needed for a while', () => {
    const jb = new JitterBuffer({ minDepth: 1, maxDepth: 5, capacity: 64 });
    let seq = 0;
    // Build up 10 frames, then feed one per get: the surplus is trimmed gradually.
    for (; seq < 10; seq++) jb.put(seq, seq * 160, frame(seq), seq * 20);
    const out = new JitterFrame();
    for (let i = 0; i < 400; i++, seq++) {
      jb.put(seq, seq * 160, frame(seq), 200 + i * 20);
      jb.get(out);
    }
    expect(jb.discarded).toBeGreaterThan(0);
    expect(jb.size).toBeLessThanOrEqual(jb.targetDepth + 2);
  });

  describe('sequence numbers taken by packets without audio (RFC 4733 §2.1)', () => {
    it('steps over event packets interleaved with continuing audio: no loss, no concealment', () => {
      const jb = new JitterBuffer({ minDepth: 2 });
      const out = new JitterFrame();
      const got: (number | JitterGetResult)[] = [];
      // Audio on even numbers, an event packet on each odd number (a sender that keeps its audio going).
      let audio = 0;
      for (let tick = 0; tick < 12; tick++) {
        const seq = 100 + tick * 2;
        expect(jb.put(seq, tick * 160, frame(seq), tick * 20)).toBe('ok');
        expect(jb.skip(seq + 1)).toBe('ok');
        const r = jb.get(out);
        got.push(r === 'frame' ? out.sequenceNumber : r);
        if (r === 'frame') audio++;
      }
      expect(got.filter((r) => r === 'lost')).toEqual([]);
      expect(got.filter((r) => typeof r === 'number')).toEqual(Array.from({ length: audio }, (_, i) => 100 + i * 2));
      expect(audio).toBeGreaterThanOrEqual(10);
      expect(jb.framesLost).toBe(0);
      expect(jb.skipped).toBeGreaterThanOrEqual(audio - 1);
    });

    it('stops without concealment while the audio pauses for an event, and plays the audio after it', () => {
      const jb = new JitterBuffer({ minDepth: 2 });
      const out = new JitterFrame();
      const got: (number | JitterGetResult)[] = [];
      // 20 ms slots: audio 0..9 (seq 1000..1009), event packets only in slots 10..19 (seq 1010..1019, timestamps of
      // the event start), audio again from slot 20 (seq 1020.., timestamps resumed after the event).
      for (let slot = 0; slot < 40; slot++) {
        const seq = 1000 + slot;
        if (slot >= 10 && slot < 20) jb.skip(seq);
        else jb.put(seq, slot * 160, frame(seq), slot * 20 + 3);
        const r = jb.get(out);
        got.push(r === 'frame' ? out.sequenceNumber : r);
      }
      while (jb.size > 0) got.push(...drain(jb, 1)); // what is still buffered
      expect(got).not.toContain('lost');
      const played = got.filter((r): r is number => typeof r === 'number');
      expect(played.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => 1000 + i));
      // After the event, playout resumes at the first audio packet and continues in order.
      expect(played.slice(10)).toEqual(Array.from({ length: played.length - 10 }, (_, i) => 1020 + i));
      // Every audio frame played once.
      expect(played).toHaveLength(30);
    });

    it('still reports real loss next to an event', () => {
      const jb = new JitterBuffer({ minDepth: 1 });
      jb.put(10, 0, frame(10), 0);
      jb.skip(11); // event
      // 12 is lost
      jb.put(13, 480, frame(13), 60);
      jb.skip(14);
      jb.put(15, 640, frame(15), 80);
      expect(drain(jb, 4)).toEqual([10, 'lost', 13, 15]);
      expect(jb.framesLost).toBe(1);
    });

    it('marks arriving before the first audio of a talk spurt, late or far ahead are ignored', () => {
      const jb = new JitterBuffer({ minDepth: 1 });
      expect(jb.skip(5)).toBe('late'); // nothing buffered: playout will start at the first audio anyway
      jb.put(6, 0, frame(6), 0);
      expect(jb.skip(5)).toBe('late');
      expect(jb.skip(7)).toBe('ok');
      expect(jb.skip(7)).toBe('duplicate');
      expect(jb.skip(6 + 40)).toBe('late'); // beyond the ring
      jb.put(8, 320, frame(8), 40);
      expect(drain(jb, 2)).toEqual([6, 8]);
      expect(jb.skip(7)).toBe('late'); // already passed
    });

    it('handles marks across the 65535 -> 0 wrap', () => {
      const jb = new JitterBuffer({ minDepth: 1 });
      jb.put(65534, 0, frame(65534), 0);
      jb.skip(65535);
      jb.skip(0);
      jb.put(1, 480, frame(1), 60);
      expect(drain(jb, 2)).toEqual([65534, 1]);
      expect(jb.framesLost).toBe(0);
    });

    it('an audio packet reusing the slot of a stale mark is buffered and counted', () => {
      const jb = new JitterBuffer({ minDepth: 1, capacity: 4 });
      jb.put(0, 0, frame(0), 0);
      jb.skip(1);
      expect(drain(jb, 1)).toEqual([0]);
      // The mark for 1 is passed by the next get(); 5 lands in the same slot later.
      jb.put(2, 320, frame(2), 40);
      expect(drain(jb, 1)).toEqual([2]);
      jb.put(5, 800, frame(5), 100);
      expect(jb.size).toBe(1);
    });
  });
});

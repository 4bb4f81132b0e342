import { PcmQueue } from '../../../src/media';

// The stall accounting of the AI's playout queue: periods the send clock skipped while audio played are taken back
// from a real-time backlog, never from a pre-buffered utterance or from audio that was not playing.

const FRAME = 160;

function frame(id: number): Int16Array {
  return new Int16Array(FRAME).fill(id);
}

/** Read one frame; returns its id (the value it was filled with), or 0 when nothing was read. */
function readId(q: PcmQueue): number {
  const dst = new Int16Array(FRAME);
  return q.read(dst) > 0 ? dst[0] : 0;
}

describe('PcmQueue storage', () => {
  it('keeps samples and marks in order through growth and wrap-around, against a plain model', () => {
    const q = new PcmQueue();
    const model: number[] = [];
    let modelHead = 0;
    const marks: { name: string; after: number }[] = [];
    let written = 0;
    let readCount = 0;
    const reported: string[] = [];
    const expected: string[] = [];
    let seed = 99;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor(seed / 256) % n; // the low bits of this generator repeat too soon
    };
    const dst = new Int16Array(8 * FRAME);
    for (let step = 0; step < 8000; step++) {
      const op = rand(10);
      if (op < 4) {
        // Chunks of any size, now and then a long utterance at once (the ring grows).
        const n = rand(50) === 0 ? rand(40_000) : rand(700);
        const chunk = new Int16Array(n);
        for (let i = 0; i < n; i++) chunk[i] = (written + i) % 30_000;
        expect(q.enqueue(chunk)).toBe(true);
        for (let i = 0; i < n; i++) model.push((written + i) % 30_000);
        written += n;
      } else if (op < 5) {
        const name = `m${step}`;
        q.mark(name);
        marks.push({ name, after: written });
      } else {
        const want = FRAME * (1 + rand(8));
        const got = q.read(dst.subarray(0, want));
        const avail = model.length - modelHead;
        expect(got).toBe(Math.min(want, avail));
        for (let i = 0; i < got; i++) if (dst[i] !== model[modelHead + i]) throw new Error(`sample ${readCount + i} differs`);
        modelHead += got;
        readCount += got;
        while (marks.length > 0 && marks[0].after <= readCount) expected.push(marks.shift()!.name);
        q.takeReachedMarks((m) => reported.push(m));
        if (reported.length !== expected.length) throw new Error(`step ${step}: ${reported.length} marks reported, ${expected.length} reached`);
      }
      if (q.samples !== model.length - modelHead || q.pendingMarks !== marks.length) throw new Error(`step ${step}: queue and model disagree`);
    }
    expect(reported).toEqual(expected);
    expect(reported.length).toBeGreaterThan(300);
  });

  it('allocates no more storage in the steady state of a long call (one frame in, one out)', () => {
    const q = new PcmQueue();
    const f = new Int16Array(FRAME).fill(3);
    const dst = new Int16Array(FRAME);
    for (let i = 0; i < 100_000; i++) {
      q.enqueue(f);
      q.read(dst);
    }
    expect((q as unknown as { ring: Int16Array }).ring.length).toBe(8192);
    expect(q.isEmpty).toBe(true);
  });
});

describe('PcmQueue stall accounting', () => {
  it('drops the oldest frames of a real-time backlog, as many as periods were lost, at the next tick', () => {
    const q = new PcmQueue();
    q.enqueue(frame(1));
    q.tick(0);
    expect(readId(q)).toBe(1); // playing
    q.tick(8); // the clock skipped 8 ticks
    expect(q.stallBacklogFrames).toBe(8);
    q.tick(0); // the pacer's catch-up tick ran before the backlog was read: one more period lost
    expect(q.stallBacklogFrames).toBe(9);
    for (let id = 2; id <= 13; id++) q.enqueue(frame(id));
    expect(readId(q)).toBe(2); // the first of the backlog leaves as it arrives
    q.tick(0);
    expect(q.stallBacklogFrames).toBe(0);
    expect(q.stallDroppedSamples).toBe(9 * FRAME);
    expect(readId(q)).toBe(12);
    expect(readId(q)).toBe(13);
  });

  it('takes back no more than it lost, however much is queued later', () => {
    const q = new PcmQueue();
    q.enqueue(frame(1));
    expect(readId(q)).toBe(1);
    q.tick(3);
    for (let id = 2; id <= 8; id++) q.enqueue(frame(id));
    q.tick(0);
    expect(q.stallDroppedSamples).toBe(3 * FRAME);
    for (let i = 0; i < 30; i++) q.tick(0);
    expect(q.samples).toBe(4 * FRAME);
    expect(readId(q)).toBe(5);
  });

  it('counts nothing for ticks skipped while no audio was playing', () => {
    const q = new PcmQueue();
    q.tick(0);
    q.tick(20);
    q.tick(0);
    expect(q.stallBacklogFrames).toBe(0);
    for (let id = 1; id <= 5; id++) q.enqueue(frame(id));
    q.tick(0);
    expect(q.samples).toBe(5 * FRAME);
    expect(q.stallDroppedSamples).toBe(0);
  });

  it('keeps a pre-buffered utterance whole, also as it drains', () => {
    const q = new PcmQueue();
    for (let id = 1; id <= 40; id++) q.enqueue(frame(id));
    expect(readId(q)).toBe(1);
    q.tick(5);
    expect(q.stallBacklogFrames).toBe(0);
    const ids: number[] = [];
    for (let i = 0; i < 39; i++) {
      q.tick(0);
      ids.push(readId(q));
    }
    expect(ids).toEqual(Array.from({ length: 39 }, (_, i) => i + 2));
    expect(q.stallDroppedSamples).toBe(0);
  });

  it('forgets the loss when no backlog shows up within the window (the source paused)', () => {
    const q = new PcmQueue();
    q.enqueue(frame(1));
    expect(readId(q)).toBe(1);
    q.tick(6);
    for (let i = 0; i < 26; i++) q.tick(0);
    expect(q.stallBacklogFrames).toBe(0);
    for (let id = 2; id <= 6; id++) q.enqueue(frame(id));
    q.tick(0);
    expect(q.samples).toBe(5 * FRAME);
  });

  it('reports marks inside dropped audio as reached, in order, and clear() forgets the loss', () => {
    const q = new PcmQueue();
    q.enqueue(frame(1));
    expect(readId(q)).toBe(1);
    q.tick(4);
    q.enqueue(frame(2));
    q.mark('a');
    q.enqueue(frame(3));
    q.mark('b');
    q.enqueue(frame(4));
    q.enqueue(frame(5));
    q.enqueue(frame(6));
    q.tick(0);
    const marks: string[] = [];
    q.takeReachedMarks((m) => marks.push(m));
    expect(marks).toEqual(['a', 'b']);
    expect(readId(q)).toBe(6);
    q.enqueue(frame(7));
    expect(readId(q)).toBe(7);
    q.tick(10);
    expect(q.stallBacklogFrames).toBe(10);
    q.clear();
    expect(q.stallBacklogFrames).toBe(0);
  });

  it('drops whole frames only: a partial frame at the end is kept', () => {
    const q = new PcmQueue();
    q.enqueue(frame(1));
    expect(readId(q)).toBe(1);
    q.tick(5);
    q.enqueue(frame(2));
    q.enqueue(frame(3));
    q.enqueue(new Int16Array(70).fill(4));
    q.tick(0);
    expect(q.samples).toBe(70);
    expect(q.stallDroppedSamples).toBe(2 * FRAME);
  });
});

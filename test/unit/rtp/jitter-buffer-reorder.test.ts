import { ReorderBuffer, type ReorderBufferOptions } from '../../../src/rtp';

/** What the buffer handed on: sequence numbers of frames (with the first payload byte checked) and 'lost:n'. */
interface Harness {
  rb: ReorderBuffer;
  out: (number | string)[];
}

function payload(seq: number): Buffer {
  return Buffer.from([seq & 0xff, (seq >> 8) & 0xff, 0x7f]);
}

function make(opts: Partial<ReorderBufferOptions> = {}): Harness {
  const out: (number | string)[] = [];
  const rb = new ReorderBuffer({
    waitMs: 20,
    ...opts,
    onFrame: (p, _pt, seq) => {
      // The payload handed on is the one put for that number (copied when it was held).
      expect(p[0] | (p[1] << 8)).toBe(seq);
      out.push(seq);
    },
    onLost: (n) => out.push(`lost:${n}`),
  });
  return { rb, out };
}

describe('ReorderBuffer (arrival-order delivery)', () => {
  it('delivers an in-order packet during put itself: zero added latency, nothing held, no deadline', () => {
    const { rb, out } = make();
    for (let s = 100; s < 110; s++) {
      expect(rb.put(s, payload(s), s)).toBe('ok');
      // Delivered before put returned.
      expect(out[out.length - 1]).toBe(s);
      expect(rb.size).toBe(0);
      expect(rb.deadline).toBe(-1);
    }
    expect(rb.delivered).toBe(10);
    expect(rb.reordered).toBe(0);
  });

  it('holds a packet behind a gap and delivers both in order when the missing one arrives within the wait', () => {
    const { rb, out } = make();
    rb.put(10, payload(10), 0);
    expect(rb.put(12, payload(12), 20)).toBe('ok');
    expect(out).toEqual([10]);
    expect(rb.deadline).toBe(40);
    rb.expire(39);
    expect(out).toEqual([10]);
    rb.put(11, payload(11), 25);
    expect(out).toEqual([10, 11, 12]);
    expect(rb.deadline).toBe(-1);
    expect(rb.reordered).toBe(1);
    expect(rb.lost).toBe(0);
  });

  it('reports a gap lost once its wait ends and flushes what followed; the late packet is then dropped', () => {
    const { rb, out } = make();
    rb.put(10, payload(10), 0);
    rb.put(13, payload(13), 20);
    rb.put(14, payload(14), 40);
    expect(rb.deadline).toBe(40);
    rb.expire(40);
    expect(out).toEqual([10, 'lost:2', 13, 14]);
    expect(rb.lost).toBe(2);
    expect(rb.put(11, payload(11), 45)).toBe('late');
    expect(rb.late).toBe(1);
    rb.put(15, payload(15), 60);
    expect(out).toEqual([10, 'lost:2', 13, 14, 15]);
  });

  it('gives each gap its own wait, counted from the first packet held behind it', () => {
    const { rb, out } = make();
    rb.put(1, payload(1), 0);
    rb.put(3, payload(3), 10); // gap at 2 waits from 10
    rb.put(5, payload(5), 25); // gap at 4 waits from 25
    expect(rb.deadline).toBe(30);
    rb.expire(30);
    expect(out).toEqual([1, 'lost:1', 3]);
    expect(rb.deadline).toBe(45);
    rb.put(4, payload(4), 40);
    expect(out).toEqual([1, 'lost:1', 3, 4, 5]);
    expect(rb.lost).toBe(1);
  });

  it('drops duplicates, held or already delivered', () => {
    const { rb, out } = make();
    rb.put(1, payload(1), 0);
    expect(rb.put(1, payload(1), 1)).toBe('late');
    rb.put(3, payload(3), 2);
    expect(rb.put(3, payload(3), 3)).toBe('duplicate');
    rb.put(2, payload(2), 4);
    expect(out).toEqual([1, 2, 3]);
    expect(rb.duplicates).toBe(1);
    expect(rb.late).toBe(1);
  });

  it('keeps order across the 16-bit wrap (65534, 65535, 0, 1) with reordering at the wrap', () => {
    const { rb, out } = make();
    rb.put(65534, payload(65534), 0);
    rb.put(0, payload(0), 1);
    rb.put(65535, payload(65535), 2);
    rb.put(1, payload(1), 3);
    expect(out).toEqual([65534, 65535, 0, 1]);
    expect(rb.put(65535, payload(65535), 4)).toBe('late');
    rb.put(3, payload(3), 5);
    rb.expire(25);
    expect(out).toEqual([65534, 65535, 0, 1, 'lost:1', 3]);
  });

  it('steps over numbers taken by RFC 4733 events without a loss, whether they come before or after the audio behind them', () => {
    const { rb, out } = make();
    rb.put(1, payload(1), 0);
    expect(rb.skip(2, 1)).toBe('ok');
    rb.put(3, payload(3), 2);
    expect(out).toEqual([1, 3]);
    // Audio 6 arrives before the events 4 and 5 that precede it.
    rb.put(6, payload(6), 3);
    expect(out).toEqual([1, 3]);
    rb.skip(5, 4);
    rb.skip(4, 5);
    expect(out).toEqual([1, 3, 6]);
    expect(rb.skipped).toBe(3);
    expect(rb.lost).toBe(0);
    // An event for a number already passed, and one before any audio, are ignored.
    expect(rb.skip(2, 6)).toBe('late');
    expect(make().rb.skip(7, 0)).toBe('late');
  });

  it('treats a jump beyond the window as a restart: flushes what it held and continues from the new number', () => {
    const { rb, out } = make({ capacity: 16 });
    rb.put(100, payload(100), 0);
    rb.put(102, payload(102), 1);
    expect(rb.put(5000, payload(5000), 2)).toBe('reset');
    expect(out).toEqual([100, 'lost:1', 102, 5000]);
    rb.put(5001, payload(5001), 3);
    // A restart to a lower number (far behind) too.
    expect(rb.put(7, payload(7), 4)).toBe('reset');
    rb.put(8, payload(8), 5);
    expect(out).toEqual([100, 'lost:1', 102, 5000, 5001, 7, 8]);
    expect(rb.resets).toBe(2);
  });

  it('rejects payloads larger than a slot and starts over after reset()', () => {
    const { rb, out } = make({ maxFrameBytes: 2 });
    expect(rb.put(1, payload(1), 0)).toBe('too-large');
    const h = make();
    h.rb.put(1, payload(1), 0);
    h.rb.put(3, payload(3), 1);
    h.rb.reset();
    expect(h.rb.size).toBe(0);
    expect(h.rb.deadline).toBe(-1);
    h.rb.put(40, payload(40), 2);
    expect(h.out).toEqual([1, 40]);
    expect(out).toEqual([]);
  });
});

import { DownlinkConverter, FrameRing } from '../../../src/bridge';
import { PCMU, encodeWav } from '../../../src/dsp';

function le(samples: number[]): Buffer {
  const b = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => b.writeInt16LE(s, i * 2));
  return b;
}

describe('DownlinkConverter', () => {
  it('passes 8 kHz PCM16 through and carries an odd byte into the next chunk', () => {
    const d = new DownlinkConverter();
    const bytes = le([1000, -2000, 3000, -4000]);
    const a = d.convert({ kind: 'audio', encoding: 'pcm16', bytes: bytes.subarray(0, 3), sampleRate: 8000 });
    expect(a.ok && Array.from(a.pcm)).toEqual([1000]);
    const b = d.convert({ kind: 'audio', encoding: 'pcm16', bytes: bytes.subarray(3), sampleRate: 8000 });
    expect(b.ok && Array.from(b.pcm)).toEqual([-2000, 3000, -4000]);
  });

  it('reset() drops the carried byte', () => {
    const d = new DownlinkConverter();
    d.convert({ kind: 'audio', encoding: 'pcm16', bytes: Buffer.from([0x10]), sampleRate: 8000 });
    d.reset();
    const r = d.convert({ kind: 'audio', encoding: 'pcm16', bytes: le([42]), sampleRate: 8000 });
    expect(r.ok && Array.from(r.pcm)).toEqual([42]);
  });

  it('decodes mu-law', () => {
    const pcm = Int16Array.from([0, 1000, -1000, 8000]);
    const r = new DownlinkConverter().convert({ kind: 'audio', encoding: 'mulaw', bytes: PCMU.encode(pcm), sampleRate: 8000 });
    expect(r.ok && Array.from(r.pcm)).toEqual(Array.from(PCMU.decode(PCMU.encode(pcm))));
  });

  it('resamples 16 kHz to 8 kHz (half the samples, streaming across chunks)', () => {
    const d = new DownlinkConverter();
    let total = 0;
    for (let i = 0; i < 10; i++) {
      const r = d.convert({ kind: 'audio', encoding: 'pcm16', bytes: Buffer.alloc(640), sampleRate: 16000 });
      expect(r.ok).toBe(true);
      if (r.ok) total += r.pcm.length;
    }
    expect(total).toBe(1600);
  });

  it('decodes a WAV file to 8 kHz and reports an unusable one', () => {
    const wav = encodeWav(new Int16Array(1600), { sampleRate: 16000, channels: 1, encoding: 'pcm16' });
    const r = new DownlinkConverter().convert({ kind: 'audio', encoding: 'wav', bytes: wav, sampleRate: 0 });
    expect(r.ok && r.pcm.length).toBe(800);
    const bad = new DownlinkConverter().convert({ kind: 'audio', encoding: 'wav', bytes: Buffer.from('RIFF'), sampleRate: 0 });
    expect(bad.ok).toBe(false);
  });
});

describe('FrameRing', () => {
  it('keeps order and drops the oldest when full', () => {
    const r = new FrameRing(3, 4);
    for (let i = 0; i < 5; i++) {
      const dropped = r.push(Int16Array.from([i, i, i, i]), i, 1000 + i, i);
      expect(dropped).toBe(i >= 3);
    }
    const seen: number[] = [];
    while (r.length > 0) {
      expect(r.peekFrame()[0]).toBe(r.peekSeq());
      expect(r.peekWall()).toBe(1000 + r.peekSeq());
      seen.push(r.peekSeq());
      r.shift();
    }
    expect(seen).toEqual([2, 3, 4]);
  });

  it('grows from a few slots to its capacity without losing order, also when the frames wrapped around first', () => {
    const r = new FrameRing(250, 4);
    let next = 0;
    let expected = 0;
    // Wrap the small initial storage: push 6, take 5, then fill far beyond it (growth while wrapped).
    for (let i = 0; i < 6; i++) r.push(Int16Array.from([next, 0, 0, next]), next++, 0, 0);
    for (let i = 0; i < 5; i++) {
      expect(r.peekSeq()).toBe(expected++);
      r.shift();
    }
    let drops = 0;
    for (let i = 0; i < 300; i++) if (r.push(Int16Array.from([next, 0, 0, next]), next++, 0, 0)) drops++;
    expect(r.length).toBe(250);
    expect(drops).toBe(51);
    expected += 51;
    while (r.length > 0) {
      const f = r.peekFrame();
      expect([f[0], f[3], r.peekSeq()]).toEqual([expected, expected, expected]);
      expected++;
      r.shift();
    }
    expect(expected).toBe(next);
  });

  it('zero-pads a short frame and refuses a bad capacity', () => {
    const r = new FrameRing(2, 4);
    r.push(Int16Array.from([9, 9, 9, 9]), 0, 0, 0);
    r.shift();
    r.push(Int16Array.from([5]), 1, 0, 0);
    r.push(Int16Array.from([7, 7]), 2, 0, 0);
    expect(Array.from(r.peekFrame())).toEqual([5, 0, 0, 0]);
    expect(() => new FrameRing(0)).toThrow(TypeError);
  });
});

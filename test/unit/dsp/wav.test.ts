import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  PCMA,
  PCMU,
  WavError,
  WavSink,
  WavStreamWriter,
  WavWriteEncoding,
  decodeWav,
  downmixToMono,
  encodeWav,
  loadWavAs8kMono,
  loadWavAsMono,
  openWavFile,
  parseWav,
  wavHeader,
} from '../../../src/dsp';
import { InvalidStateError } from '../../../src/util';
import { amplitudeAt, concat, power, prng, tones } from './signal-helpers';

const SPEECH = join(__dirname, '../../fixtures/audio/speech-8k-mono.wav');

function noise(n: number, seed: number): Int16Array {
  const rand = prng(seed);
  return Int16Array.from({ length: n }, () => Math.round((rand() * 2 - 1) * 32767));
}

/** What a sample becomes after a trip through `encoding`. */
function quantise(x: Int16Array, encoding: WavWriteEncoding): Int16Array {
  switch (encoding) {
    case 'pcm16':
      return x;
    case 'pcm8':
      return x.map((s) => (Math.min(127, (s + 128) >> 8)) << 8);
    case 'mulaw':
      return PCMU.decode(PCMU.encode(x));
    case 'alaw':
      return PCMA.decode(PCMA.encode(x));
  }
}

/** Build a RIFF file from raw chunks. */
function riff(chunks: [string, Uint8Array][], form = 'WAVE', magic = 'RIFF'): Buffer {
  const parts: Buffer[] = [Buffer.from(form, 'latin1')];
  for (const [id, body] of chunks) {
    const h = Buffer.alloc(8);
    h.write(id, 0, 'latin1');
    h.writeUInt32LE(body.length, 4);
    parts.push(h, Buffer.from(body));
    if (body.length & 1) parts.push(Buffer.alloc(1));
  }
  const payload = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.write(magic, 0, 'latin1');
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

function fmt(tag: number, channels: number, rate: number, bits: number, extra?: Buffer): Buffer {
  const b = Buffer.alloc(16);
  const align = channels * Math.ceil(bits / 8);
  b.writeUInt16LE(tag, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE(rate * align, 8);
  b.writeUInt16LE(align, 12);
  b.writeUInt16LE(bits, 14);
  return extra ? Buffer.concat([b, extra]) : b;
}

function pcm16Bytes(x: Int16Array): Buffer {
  const b = Buffer.alloc(x.length * 2);
  x.forEach((v, i) => b.writeInt16LE(v, i * 2));
  return b;
}

describe('WAV write -> read round trip', () => {
  const encodings: WavWriteEncoding[] = ['pcm16', 'pcm8', 'mulaw', 'alaw'];
  const rates = [8000, 16000, 22050, 44100, 48000];
  test.each(encodings)('%s, mono and stereo, at 8/16/22.05/44.1/48 kHz', (encoding) => {
    for (const sampleRate of rates) {
      for (const channels of [1, 2]) {
        const x = noise(channels * 301, sampleRate + channels);
        const file = encodeWav(x, { sampleRate, channels, encoding });
        const wav = decodeWav(file);
        expect(wav.encoding).toBe(encoding);
        expect(wav.sampleRate).toBe(sampleRate);
        expect(wav.channels).toBe(channels);
        expect(wav.frames).toBe(301);
        expect(wav.bitsPerSample).toBe(encoding === 'pcm16' ? 16 : 8);
        expect(wav.samples).toEqual(quantise(x, encoding));
      }
    }
  });

  test('G.711 files carry fmt cbSize and a fact chunk; PCM files the canonical 44-byte header', () => {
    const pcm = encodeWav(new Int16Array(10), { sampleRate: 8000 });
    expect(pcm.length).toBe(44 + 20);
    expect(pcm.toString('latin1', 36, 40)).toBe('data');
    const ulaw = encodeWav(new Int16Array(11), { sampleRate: 8000, encoding: 'mulaw' });
    expect(ulaw.readUInt16LE(36)).toBe(0); // cbSize
    expect(ulaw.toString('latin1', 38, 42)).toBe('fact');
    expect(ulaw.readUInt32LE(46)).toBe(11);
    expect(ulaw.toString('latin1', 50, 54)).toBe('data');
    expect(ulaw.readUInt16LE(20)).toBe(7);
    expect(encodeWav(new Int16Array(1), { sampleRate: 8000, encoding: 'alaw' }).readUInt16LE(20)).toBe(6);
    // 11 bytes of data get a pad byte, counted in the RIFF size.
    expect(ulaw.length).toBe(58 + 12);
    expect(ulaw.readUInt32LE(4)).toBe(ulaw.length - 8);
    expect(decodeWav(ulaw).frames).toBe(11);
  });

  test('rejects a sample count that is not whole stereo frames', () => {
    expect(() => encodeWav(new Int16Array(3), { sampleRate: 8000, channels: 2 })).toThrow(TypeError);
    expect(() => encodeWav(new Int16Array(2), { sampleRate: 8000, channels: 3 })).toThrow(TypeError);
  });
});

describe('WAV reader', () => {
  const samples = Int16Array.from([0, 1000, -1000, 32767, -32768, 5]);

  test('skips LIST, fact, junk and odd-sized chunks before and after the data', () => {
    const file = riff([
      ['JUNK', new Uint8Array(3)],
      ['LIST', Buffer.from('INFOISFT\x05\x00\x00\x00test\x00', 'latin1')],
      ['fmt ', fmt(1, 1, 8000, 16)],
      ['fact', Buffer.from([6, 0, 0, 0])],
      ['data', pcm16Bytes(samples)],
      ['LIST', new Uint8Array(9)],
    ]);
    const wav = decodeWav(file);
    expect(Array.from(wav.samples)).toEqual(Array.from(samples));
  });

  test('reads a data chunk placed before the fmt chunk', () => {
    const wav = decodeWav(riff([['data', pcm16Bytes(samples)], ['fmt ', fmt(1, 1, 16000, 16)]]));
    expect(wav.sampleRate).toBe(16000);
    expect(Array.from(wav.samples)).toEqual(Array.from(samples));
  });

  test('8-bit PCM is unsigned; 24-bit, 32-bit and float are scaled to 16 bits', () => {
    expect(Array.from(decodeWav(riff([['fmt ', fmt(1, 1, 8000, 8)], ['data', Uint8Array.from([128, 255, 0, 129])]])).samples)).toEqual([0, 32512, -32768, 256]);
    const b24 = Buffer.from([0x00, 0x00, 0x80, 0xff, 0xff, 0x7f, 0x00, 0x01, 0x00]);
    expect(Array.from(decodeWav(riff([['fmt ', fmt(1, 1, 8000, 24)], ['data', b24]])).samples)).toEqual([-32768, 32767, 1]);
    const b32 = Buffer.alloc(8);
    b32.writeInt32LE(-0x80000000, 0);
    b32.writeInt32LE(0x12345678, 4);
    expect(Array.from(decodeWav(riff([['fmt ', fmt(1, 1, 8000, 32)], ['data', b32]])).samples)).toEqual([-32768, 0x1234]);
    const f32 = Buffer.alloc(16);
    [0.5, -1, 2, Number.NaN].forEach((v, i) => f32.writeFloatLE(v, i * 4));
    const float = decodeWav(riff([['fmt ', fmt(3, 1, 8000, 32)], ['data', f32]]));
    expect(float.encoding).toBe('float32');
    expect(Array.from(float.samples)).toEqual([16384, -32768, 32767, 0]);
  });

  test('mu-law (format 7) and A-law (format 6) decode through the G.711 tables', () => {
    const codes = Uint8Array.from([0x00, 0x7f, 0x80, 0xff, 0x55, 0xd5]);
    expect(Array.from(decodeWav(riff([['fmt ', fmt(7, 1, 8000, 8)], ['data', codes]])).samples)).toEqual(Array.from(PCMU.decode(codes)));
    expect(Array.from(decodeWav(riff([['fmt ', fmt(6, 1, 8000, 8)], ['data', codes]])).samples)).toEqual(Array.from(PCMA.decode(codes)));
  });

  test('WAVE_FORMAT_EXTENSIBLE takes the format from its sub-format GUID', () => {
    const ext = Buffer.alloc(24);
    ext.writeUInt16LE(22, 0); // cbSize
    ext.writeUInt16LE(16, 2); // valid bits
    ext.writeUInt32LE(3, 4); // channel mask FL|FR
    ext.writeUInt16LE(1, 8); // KSDATAFORMAT_SUBTYPE_PCM
    const stereo = Int16Array.from([1, 2, 3, 4]);
    const wav = decodeWav(riff([['fmt ', fmt(0xfffe, 2, 48000, 16, ext)], ['data', pcm16Bytes(stereo)]]));
    expect(wav.encoding).toBe('pcm16');
    expect(wav.frames).toBe(2);
    expect(Array.from(wav.samples)).toEqual([1, 2, 3, 4]);
  });

  test('an interrupted recording (sizes 0 or too large) is read to the end of the file', () => {
    const full = encodeWav(samples, { sampleRate: 8000 });
    const zeroed = Buffer.from(full);
    zeroed.writeUInt32LE(0, 4);
    zeroed.writeUInt32LE(0, 40);
    expect(Array.from(decodeWav(zeroed).samples)).toEqual(Array.from(samples));
    const cut = full.subarray(0, full.length - 3); // declared size larger than what is there; half a sample lost
    expect(Array.from(decodeWav(cut).samples)).toEqual(Array.from(samples.subarray(0, 4)));
    // A genuinely empty data chunk followed by another chunk stays empty.
    expect(decodeWav(riff([['fmt ', fmt(1, 1, 8000, 16)], ['data', new Uint8Array(0)], ['LIST', new Uint8Array(8)]])).frames).toBe(0);
  });

  test.each([
    ['empty buffer', Buffer.alloc(0), 'WAV_TRUNCATED'],
    ['not RIFF', Buffer.from('RIFX\x00\x00\x00\x00WAVEfmt ', 'latin1'), 'WAV_NOT_RIFF'],
    ['not WAVE', riff([], 'AVI '), 'WAV_NOT_WAVE'],
    ['no fmt', riff([['data', new Uint8Array(4)]]), 'WAV_NO_FMT'],
    ['no data', riff([['fmt ', fmt(1, 1, 8000, 16)]]), 'WAV_NO_DATA'],
    ['short fmt', riff([['fmt ', new Uint8Array(10)], ['data', new Uint8Array(4)]]), 'WAV_BAD_FMT'],
    ['zero channels', riff([['fmt ', fmt(1, 0, 8000, 16)], ['data', new Uint8Array(4)]]), 'WAV_BAD_FMT'],
    ['absurd rate', riff([['fmt ', fmt(1, 1, 5, 16)], ['data', new Uint8Array(4)]]), 'WAV_BAD_FMT'],
    ['MP3 payload', riff([['fmt ', fmt(0x55, 1, 8000, 16)], ['data', new Uint8Array(4)]]), 'WAV_UNSUPPORTED_FORMAT'],
    ['16-bit mu-law', riff([['fmt ', fmt(7, 1, 8000, 16)], ['data', new Uint8Array(4)]]), 'WAV_UNSUPPORTED_FORMAT'],
    ['truncated fmt', riff([['fmt ', fmt(1, 1, 8000, 16)]]).subarray(0, 30), 'WAV_TRUNCATED'],
    ['short extensible', riff([['fmt ', fmt(0xfffe, 1, 8000, 16, Buffer.alloc(4))], ['data', new Uint8Array(4)]]), 'WAV_BAD_FMT'],
  ] as [string, Buffer, string][])('%s -> %s', (_name, file, code) => {
    const r = parseWav(file);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toBeInstanceOf(WavError);
      expect(r.error.code).toBe(code);
    }
    expect(() => decodeWav(file)).toThrow(WavError);
    expect(() => loadWavAs8kMono(file)).toThrow(WavError);
  });

  test('never throws on arbitrary bytes (property)', () => {
    const header = riff([['fmt ', fmt(1, 2, 44100, 16)], ['data', new Uint8Array(16)]]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(header.length), (junk, cut) => {
        for (const input of [junk, Buffer.concat([header.subarray(0, cut), junk])]) {
          const r = parseWav(input);
          if (!r.ok) expect(r.error).toBeInstanceOf(WavError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('loadWavAs8kMono', () => {
  test('a stereo 44.1 kHz file becomes 8 kHz mono: channels averaged, content above 4 kHz removed', () => {
    const rate = 44100;
    const left = tones([{ f: 1000, dbm0: -6 }], 500, rate);
    const right = tones([{ f: 1000, dbm0: -6 }, { f: 9000, dbm0: -6 }], 500, rate);
    const stereo = new Int16Array(left.length * 2);
    for (let i = 0; i < left.length; i++) {
      stereo[2 * i] = left[i];
      stereo[2 * i + 1] = right[i];
    }
    const mono = loadWavAs8kMono(encodeWav(stereo, { sampleRate: rate, channels: 2 }));
    expect(mono.length).toBe(4000);
    const ref = amplitudeAt(left, 1000, rate);
    expect(Math.abs(20 * Math.log10(amplitudeAt(mono, 1000, 8000, 200, 3800) / ref))).toBeLessThan(0.5);
    // Whatever of the 9 kHz tone folds into the 8 kHz band is > 40 dB down.
    const residual = mono.map((v, i) => v - Math.round(ref * Math.sin((2 * Math.PI * 1000 * i) / 8000)));
    expect(10 * Math.log10(power(residual, 200, 3800) / power(left))).toBeLessThan(-40);
  });

  test('8-bit 22.05 kHz and mu-law 48 kHz files convert too', () => {
    const x22 = tones([{ f: 500, dbm0: -3 }], 300, 22050);
    const a = loadWavAs8kMono(encodeWav(x22, { sampleRate: 22050, encoding: 'pcm8' }));
    expect(a.length).toBe(2400);
    expect(Math.abs(20 * Math.log10(amplitudeAt(a, 500, 8000, 200, 2200) / amplitudeAt(x22, 500, 22050)))).toBeLessThan(0.5);
    const x48 = tones([{ f: 2000, dbm0: -3 }], 300, 48000);
    const b = loadWavAs8kMono(encodeWav(x48, { sampleRate: 48000, encoding: 'mulaw' }));
    expect(b.length).toBe(2400);
    expect(Math.abs(20 * Math.log10(amplitudeAt(b, 2000, 8000, 200, 2200) / amplitudeAt(x48, 2000, 48000)))).toBeLessThan(0.5);
  });

  test('an 8 kHz mono PCM16 file is returned as is; other target rates work', () => {
    const x = tones([{ f: 700, dbm0: -3 }], 100);
    expect(loadWavAs8kMono(encodeWav(x, { sampleRate: 8000 }))).toEqual(x);
    expect(loadWavAsMono(encodeWav(x, { sampleRate: 8000 }), 16000).length).toBe(1600);
  });

  test('loads the speech fixture', () => {
    const wav = decodeWav(readFileSync(SPEECH));
    expect([wav.sampleRate, wav.channels, wav.encoding]).toEqual([8000, 1, 'pcm16']);
    expect(wav.frames).toBeGreaterThan(8000 * 10);
  });

  test('downmixToMono averages channels', () => {
    expect(Array.from(downmixToMono(Int16Array.from([100, 200, -5, -6]), 2))).toEqual([150, -5]);
    expect(() => downmixToMono(new Int16Array(2), 0)).toThrow(TypeError);
  });
});

/** An in-memory sink that can be told to fail. */
class MemorySink implements WavSink {
  bytes = Buffer.alloc(0);
  closed = false;
  failAppendAfter = Infinity;
  appends = 0;
  async append(chunk: Uint8Array): Promise<void> {
    if (++this.appends > this.failAppendAfter) throw new Error('disk full');
    await this.writeAt(Math.max(this.bytes.length, 0), chunk);
  }
  async writeAt(position: number, chunk: Uint8Array): Promise<void> {
    const end = position + chunk.length;
    if (end > this.bytes.length) this.bytes = Buffer.concat([this.bytes, Buffer.alloc(end - this.bytes.length)]);
    Buffer.from(chunk).copy(this.bytes, position);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

describe('WavStreamWriter', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dsp-wav-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('records 20 ms frames to a file and patches the header on close', async () => {
    const path = join(dir, 'rec.wav');
    const w = await openWavFile(path, { sampleRate: 8000 }, { bufferBytes: 1024 });
    const all: Int16Array[] = [];
    const frame = new Int16Array(160);
    for (let i = 0; i < 100; i++) {
      frame.set(noise(160, i));
      all.push(frame.slice());
      expect(w.write(frame)).toBe(true); // the frame buffer is reused by the caller
    }
    expect(w.frames).toBe(16000);
    const summary = await w.close();
    expect(summary).toEqual({ frames: 16000, dataBytes: 32000, durationMs: 2000, droppedFrames: 0 });
    const file = readFileSync(path);
    expect(file.readUInt32LE(40)).toBe(32000);
    expect(decodeWav(file).samples).toEqual(concat(...all));
    await expect(w.close()).rejects.toBeInstanceOf(InvalidStateError);
    expect(() => w.write(frame)).toThrow(InvalidStateError);
  });

  test.each(['pcm16', 'mulaw', 'alaw', 'pcm8'] as WavWriteEncoding[])('stereo %s recording round-trips', async (encoding) => {
    const sink = new MemorySink();
    const w = new WavStreamWriter(sink, { sampleRate: 16000, channels: 2, encoding });
    const x = noise(2 * 999, 77);
    w.write(x.subarray(0, 1000));
    w.write(x.subarray(1000));
    const s = await w.close();
    expect(s.frames).toBe(999);
    expect(sink.closed).toBe(true);
    const wav = decodeWav(sink.bytes);
    expect([wav.channels, wav.sampleRate, wav.encoding]).toEqual([2, 16000, encoding]);
    expect(wav.samples).toEqual(quantise(x, encoding));
  });

  test('keeps a readable header while recording (periodic patch) and drops half frames', async () => {
    const sink = new MemorySink();
    const w = new WavStreamWriter(sink, { sampleRate: 8000 }, { bufferBytes: 1024, headerPatchBytes: 2048 });
    for (let i = 0; i < 10; i++) w.write(new Int16Array(160).fill(i));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    // The header was patched at the first flush past 2048 bytes, at a whole frame, before close().
    const partial = sink.bytes.readUInt32LE(40);
    expect(partial % 320).toBe(0);
    expect(partial).toBeGreaterThanOrEqual(2048);
    expect(partial).toBeLessThan(3200);
    expect(decodeWav(sink.bytes).frames).toBe(partial / 2);
    const st = new WavStreamWriter(new MemorySink(), { sampleRate: 8000, channels: 2 });
    expect(st.write(new Int16Array(3))).toBe(true);
    expect(st.frames).toBe(1);
    await st.close();
    await w.close();
  });

  test('an I/O failure makes write() return false and close() reject with WAV_IO', async () => {
    const sink = new MemorySink();
    sink.failAppendAfter = 1;
    const w = new WavStreamWriter(sink, { sampleRate: 8000 }, { bufferBytes: 1024 });
    for (let i = 0; i < 10; i++) w.write(new Int16Array(160));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(w.healthy).toBe(false);
    expect(w.write(new Int16Array(160))).toBe(false);
    await expect(w.close()).rejects.toMatchObject({ code: 'WAV_IO' });
    expect(sink.closed).toBe(true);
  });

  test('openWavFile fails with WAV_IO for an impossible path', async () => {
    await expect(openWavFile(join(dir, 'missing', 'x.wav'), { sampleRate: 8000 })).rejects.toMatchObject({ code: 'WAV_IO' });
  });

  test('wavHeader describes the data size it is given', () => {
    const h = wavHeader({ sampleRate: 8000, channels: 2 }, 4000);
    expect(h.readUInt32LE(4)).toBe(36 + 4000);
    expect(h.readUInt16LE(22)).toBe(2);
    expect(h.readUInt32LE(28)).toBe(32000);
    expect(h.readUInt16LE(32)).toBe(4);
  });
});

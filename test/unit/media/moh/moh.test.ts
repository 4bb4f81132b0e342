import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav, PCMA, PCMU } from '../../../../src/dsp';
import { MOH_FRAME_SAMPLES, MohLibrary, MohPlayer, MohStream, MohTrack, MohTrackError } from '../../../../src/media/moh';
import { VirtualClock } from '../../../../src/util';

/** A ramp 0, 1, 2, ... so every sample says where it came from. */
function ramp(n: number, scale = 1): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * scale) % 30000;
  return out;
}

function sine(hz: number, rate: number, ms: number, channels = 1): Int16Array {
  const frames = Math.round((rate * ms) / 1000);
  const out = new Int16Array(frames * channels);
  for (let i = 0; i < frames; i++) for (let c = 0; c < channels; c++) out[i * channels + c] = Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

describe('MohTrack', () => {
  it('caches PCMU and PCMA encodings of the PCM', () => {
    const pcm = sine(440, 8000, 100);
    const track = MohTrack.fromPcm('t', pcm);
    expect(Array.from(track.pcmu)).toEqual(Array.from(PCMU.encode(pcm)));
    expect(Array.from(track.pcma)).toEqual(Array.from(PCMA.encode(pcm)));
    expect(track.durationMs).toBe(100);
    expect(track.byteLength).toBe(800 * 4);
  });

  it('refuses an empty track', () => {
    expect(() => MohTrack.fromPcm('empty', new Int16Array(0))).toThrow(TypeError);
  });
});

describe('MohPlayer (from the top)', () => {
  it('plays from the first sample and loops seamlessly across the end of the track', () => {
    // 250 samples: not a multiple of 160, so the loop point falls inside a frame.
    const pcm = ramp(250, 100);
    const track = MohTrack.fromPcm('ramp', pcm);
    const player = new MohPlayer(track);
    const heard: number[] = [];
    for (let f = 0; f < 5; f++) heard.push(...player.nextFrame('PCMU'));
    const expected: number[] = [];
    for (let i = 0; i < 5 * MOH_FRAME_SAMPLES; i++) expected.push(track.pcmu[i % 250]);
    expect(heard).toEqual(expected);
    expect(player.position).toBe((5 * 160) % 250);
  });

  it('returns 160-byte frames in the asked codec from one reused buffer', () => {
    const track = MohTrack.fromPcm('s', sine(1000, 8000, 40));
    const player = new MohPlayer(track);
    const a = player.nextFrame('PCMA');
    expect(a).toHaveLength(160);
    expect(Array.from(a)).toEqual(Array.from(track.pcma.subarray(0, 160)));
    const b = player.nextFrame('PCMU');
    expect(b).toBe(a);
    expect(Array.from(b)).toEqual(Array.from(track.pcmu.subarray(160, 320)));
  });

  it('fills PCM for mixing legs, and rewinds to the top', () => {
    const pcm = ramp(300);
    const player = new MohPlayer(MohTrack.fromPcm('r', pcm));
    const dst = new Int16Array(200);
    expect(player.fill(dst)).toBe(200);
    expect(player.fill(dst)).toBe(200);
    expect(Array.from(dst.subarray(0, 100))).toEqual(Array.from(pcm.subarray(200, 300)));
    expect(Array.from(dst.subarray(100))).toEqual(Array.from(pcm.subarray(0, 100)));
    player.rewind();
    expect(player.position).toBe(0);
  });
});

describe('MohStream (shared)', () => {
  it('starts each listener where the stream is, following the clock', () => {
    const clock = new VirtualClock();
    const track = MohTrack.fromPcm('r', ramp(8000)); // 1 s loop
    const stream = new MohStream(track, { clock });
    const first = stream.listen();
    expect(first.position).toBe(0);
    clock.advance(300);
    const second = stream.listen();
    expect(second.position).toBe(2400);
    clock.advance(900); // 1.2 s: wrapped once
    expect(stream.position).toBe(1600);
    expect(stream.listen().position).toBe(1600);
  });

  it('keeps paced listeners in step: both hear the same samples at the same time', () => {
    const clock = new VirtualClock();
    const track = MohTrack.fromPcm('r', ramp(4000, 7));
    const stream = new MohStream(track, { clock });
    clock.advance(100);
    const a = stream.listen();
    clock.advance(40);
    a.nextFrame('PCMU');
    a.nextFrame('PCMU');
    const b = stream.listen();
    for (let i = 0; i < 20; i++) {
      const fa = Array.from(a.nextFrame('PCMU'));
      const fb = Array.from(b.nextFrame('PCMU'));
      expect(fa).toEqual(fb);
      clock.advance(20);
    }
  });

  it('does not correct pacing jitter, but brings a paused listener back to the stream', () => {
    const clock = new VirtualClock();
    const track = MohTrack.fromPcm('r', ramp(80_000));
    const stream = new MohStream(track, { clock, resyncMs: 200 });
    const l = stream.listen();
    // A late pull (30 ms instead of 20) continues seamlessly.
    l.nextFrame('PCMU');
    clock.advance(30);
    l.nextFrame('PCMU');
    expect(l.position).toBe(320);
    // A listener not pulled for a second jumps to where the stream is.
    clock.advance(1000);
    l.nextFrame('PCMU');
    expect(l.position).toBe(stream.position + 160);
  });
});

describe('MohLibrary', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'moh-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('converts files of any common rate and channel count once, to 8 kHz G.711', async () => {
    writeFileSync(join(dir, 'default.wav'), encodeWav(sine(440, 8000, 500), { sampleRate: 8000 }));
    writeFileSync(join(dir, 'jazz.wav'), encodeWav(sine(440, 44_100, 500, 2), { sampleRate: 44_100, channels: 2 }));
    writeFileSync(join(dir, 'sales.wav'), encodeWav(sine(440, 16_000, 250), { sampleRate: 16_000 }));
    writeFileSync(join(dir, 'broken.wav'), Buffer.from('not a wav file'));
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    const lib = new MohLibrary({ dir });
    const report = await lib.scan();
    expect(report.loaded).toEqual(['default', 'jazz', 'sales']);
    expect(report.failed).toEqual([{ track: 'broken', error: expect.stringContaining('broken.wav') }]);
    const jazz = await lib.load('jazz');
    expect(jazz.samples).toBe(4000);
    expect(jazz.pcmu).toHaveLength(4000);
    expect((await lib.load('sales.wav')).samples).toBe(2000);
    // Cached: the same object until the file changes.
    expect(await lib.load('jazz')).toBe(jazz);
  });

  it('chooses the track by explicit name, queue, number, then default', async () => {
    for (const name of ['default', 'q', 'n', 'x']) writeFileSync(join(dir, `${name}.wav`), encodeWav(sine(440, 8000, 100), { sampleRate: 8000 }));
    const lib = new MohLibrary({ dir, byQueue: { support: 'q' }, byNumber: { '+15550001': 'n' } });
    expect(lib.resolveName({ track: 'x', queue: 'support' })).toBe('x');
    expect(lib.resolveName({ queue: 'support', number: '+15550001' })).toBe('q');
    expect(lib.resolveName({ queue: 'other', number: '+15550001' })).toBe('n');
    expect(lib.resolveName({ number: '+1999' })).toBe('default');
    expect((await lib.source({ queue: 'support' }, 'from-top'))?.track.name).toBe('q');
  });

  it('falls back to the default track when the chosen one is missing, and gives nothing without any', async () => {
    const lib = new MohLibrary({ dir, defaultTrack: 'house' });
    expect(await lib.source({ track: 'missing' })).toBeUndefined();
    writeFileSync(join(dir, 'house.wav'), encodeWav(sine(440, 8000, 100), { sampleRate: 8000 }));
    expect((await lib.source({ track: 'missing' }))?.track.name).toBe('house');
  });

  it('shares one stream per track between shared listeners', async () => {
    writeFileSync(join(dir, 'default.wav'), encodeWav(sine(440, 8000, 1000), { sampleRate: 8000 }));
    const clock = new VirtualClock();
    const lib = new MohLibrary({ dir, clock });
    const a = await lib.source({}, 'shared');
    clock.advance(500);
    const b = await lib.source({}, 'shared');
    const top = await lib.source({}, 'from-top');
    expect(a?.position).toBe(0);
    expect(b?.position).toBe(4000);
    expect(top?.position).toBe(0);
    expect(await lib.stream('default')).toBe(await lib.stream('default'));
  });

  it('refuses names outside the directory and reports missing files', async () => {
    const lib = new MohLibrary({ dir });
    await expect(lib.load('../etc/passwd')).rejects.toMatchObject({ code: 'MOH_BAD_NAME' });
    await expect(lib.load('/etc/passwd')).rejects.toBeInstanceOf(MohTrackError);
    await expect(lib.load('nothing')).rejects.toMatchObject({ code: 'MOH_NOT_FOUND' });
  });

  it('scans a missing directory as empty', async () => {
    const lib = new MohLibrary({ dir: join(dir, 'absent') });
    expect(await lib.scan()).toEqual({ loaded: [], failed: [] });
  });
});

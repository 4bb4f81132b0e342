import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IvrPromptRenderer, splitCommandTemplate } from '../../../../src/call/ivr';
import { decodeWav } from '../../../../src/dsp';

/**
 * A stand-in TTS engine: writes a short WAV whose length encodes the text length, and logs each run,
 * so the test sees both the arguments it got and how often it ran.
 */
const FAKE_TTS = `
const fs = require('node:fs');
const [out, text, voice, log] = process.argv.slice(2);
if (text === 'fail') { process.stderr.write('cannot speak'); process.exit(3); }
if (text === 'garbage') { fs.writeFileSync(out, 'not a wav'); process.exit(0); }
fs.appendFileSync(log, JSON.stringify({ text, voice }) + '\\n');
const n = 80 * text.length;
const b = Buffer.alloc(44 + n * 2);
b.write('RIFF', 0); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVE', 8); b.write('fmt ', 12);
b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(8000, 24);
b.writeUInt32LE(16000, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34); b.write('data', 36); b.writeUInt32LE(n * 2, 40);
fs.writeFileSync(out, b);
`;

describe('IvrPromptRenderer', () => {
  let dir: string;
  let log: string;
  let script: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ivr-tts-'));
    log = join(dir, 'runs.log');
    script = join(dir, 'tts.js');
    writeFileSync(script, FAKE_TTS);
    writeFileSync(log, '');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const renderer = (extra: Partial<ConstructorParameters<typeof IvrPromptRenderer>[0]> = {}): IvrPromptRenderer =>
    new IvrPromptRenderer({
      promptDir: join(dir, 'prompts'),
      cacheDir: join(dir, 'cache'),
      ttsCommand: `"${process.execPath}" ${script} {out} {text} {voice} ${log}`,
      ...extra,
    });
  const runs = (): { text: string; voice: string }[] =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { text: string; voice: string });

  it('resolves file prompts against the prompt directory', async () => {
    const r = renderer();
    expect(await r.resolve('welcome.wav')).toBe(join(dir, 'prompts', 'welcome.wav'));
    expect(await r.resolve({ file: '/srv/moh/x.wav' })).toBe('/srv/moh/x.wav');
  });

  it('renders text once per (text, voice) and serves the cached WAV afterwards', async () => {
    const r = renderer();
    const text = "Press 1 for sales; don't press $(reboot)";
    const [a, b] = await Promise.all([r.resolve({ text }), r.resolve({ text })]);
    expect(a).toBe(b);
    expect(decodeWav(readFileSync(a)).frames).toBe(80 * text.length);
    expect(await r.resolve({ text })).toBe(a);
    // A new renderer on the same cache directory (another instance, a restart) reuses the file.
    expect(await renderer().resolve({ text })).toBe(a);
    expect(runs()).toEqual([{ text, voice: 'en' }]);
    const other = await r.resolve({ text, voice: 'de' });
    expect(other).not.toBe(a);
    expect(runs()).toHaveLength(2);
    expect(r.renders).toBe(2);
    // Only finished files are left in the cache.
    expect(readdirSync(join(dir, 'cache')).every((f) => /^[0-9a-f]{64}\.wav$/.test(f))).toBe(true);
  });

  it('reports a failing command or a file that is not a WAV, and leaves no file behind', async () => {
    const r = renderer();
    await expect(r.resolve({ text: 'fail' })).rejects.toMatchObject({ code: 'IVR_TTS_FAILED', message: expect.stringContaining('cannot speak') });
    await expect(r.resolve({ text: 'garbage' })).rejects.toMatchObject({ code: 'IVR_TTS_FAILED' });
    expect(existsSync(r.cachePath('garbage', 'en'))).toBe(false);
    expect(readdirSync(join(dir, 'cache'))).toEqual([]);
  });

  it('refuses text prompts without a TTS command', async () => {
    const r = renderer({ ttsCommand: undefined });
    expect(r.ttsEnabled).toBe(false);
    await expect(r.resolve({ text: 'hi' })).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
    expect(() => renderer({ ttsCommand: 'espeak-ng {text}' })).toThrow(/\{out\}/);
  });

  it('splits command templates on spaces with quotes grouping', () => {
    expect(splitCommandTemplate(`espeak-ng -v {voice} -w {out} {text}`)).toEqual(['espeak-ng', '-v', '{voice}', '-w', '{out}', '{text}']);
    expect(splitCommandTemplate(`"/opt/my tts/bin" --say='{text}' ""`)).toEqual(['/opt/my tts/bin', '--say={text}', '']);
    expect(() => splitCommandTemplate(`tts "unclosed`)).toThrow(TypeError);
  });
});

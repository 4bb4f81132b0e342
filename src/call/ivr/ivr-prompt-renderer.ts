import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { parseWav } from '../../dsp';
import { CodedError, UnsupportedError } from '../../util';
import type { IvrPrompt } from './ivr-menu';

/** Turns a prompt of a menu into a WAV file the call can play. */
export interface IvrPromptResolver {
  resolve(prompt: IvrPrompt): Promise<string>;
}

/** Text-to-speech failed: the command is missing, failed, timed out, or wrote no usable WAV. */
export class TtsError extends CodedError {
  constructor(message: string) {
    super('IVR_TTS_FAILED', message);
  }
}

export interface IvrPromptRendererOptions {
  /** Directory relative prompt files are resolved against. */
  promptDir: string;
  /** Where rendered text prompts are kept (`<sha256>.wav`); created when missing. */
  cacheDir: string;
  /**
   * TTS command template, e.g. `espeak-ng -v {voice} -w {out} {text}`: split into arguments on spaces
   * (quotes group), then `{out}`, `{text}` and `{voice}` are substituted inside each argument. It runs
   * without a shell, so the text cannot inject commands. Unset: text prompts are unsupported.
   */
  ttsCommand?: string;
  /** Voice used when a prompt names none (default `en`). */
  defaultVoice?: string;
  /** Longest a rendering may take, ms (default 15000). */
  ttsTimeoutMs?: number;
}

/** Split a command template into arguments: whitespace separates, single or double quotes group. */
export function splitCommandTemplate(template: string): string[] {
  const args: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let has = false;
  for (const c of template) {
    if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (has || cur.length > 0) args.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
    }
  }
  if (quote) throw new TypeError(`unbalanced quote in command template ${JSON.stringify(template)}`);
  if (has || cur.length > 0) args.push(cur);
  return args;
}

/**
 * Resolves prompts to files: a file prompt to its path, a text prompt to a WAV rendered once by the TTS
 * command and cached on disk under the hash of (command, voice, text), so every instance sharing the
 * cache directory and every later call reuse it. Concurrent requests for one text share one rendering.
 */
export class IvrPromptRenderer implements IvrPromptResolver {
  private readonly promptDir: string;
  private readonly cacheDir: string;
  private readonly argv: string[] | undefined;
  private readonly rendering = new Map<string, Promise<string>>();
  /** Text prompts rendered by this process (cache misses). */
  renders = 0;

  constructor(private readonly options: IvrPromptRendererOptions) {
    this.promptDir = resolve(options.promptDir);
    this.cacheDir = resolve(options.cacheDir);
    if (options.ttsCommand !== undefined && options.ttsCommand.trim() !== '') {
      const argv = splitCommandTemplate(options.ttsCommand);
      if (!argv.some((a) => a.includes('{out}'))) throw new TypeError('the TTS command template must contain {out}');
      this.argv = argv;
    }
  }

  /** True when text prompts can be rendered. */
  get ttsEnabled(): boolean {
    return this.argv !== undefined;
  }

  async resolve(prompt: IvrPrompt): Promise<string> {
    if (typeof prompt === 'string') return this.filePath(prompt);
    if ('file' in prompt) return this.filePath(prompt.file);
    return this.render(prompt.text, prompt.voice ?? this.options.defaultVoice ?? 'en');
  }

  /** The cache file a text would be rendered to. */
  cachePath(text: string, voice: string): string {
    const hash = createHash('sha256')
      .update(JSON.stringify([this.options.ttsCommand ?? '', voice, text]))
      .digest('hex');
    return join(this.cacheDir, `${hash}.wav`);
  }

  private filePath(file: string): string {
    return isAbsolute(file) ? file : join(this.promptDir, file);
  }

  private async render(text: string, voice: string): Promise<string> {
    if (!this.argv) throw new UnsupportedError('text prompts need a TTS command (none is configured)');
    const out = this.cachePath(text, voice);
    try {
      if ((await stat(out)).size > 44) return out;
    } catch {
      // not rendered yet
    }
    const pending = this.rendering.get(out);
    if (pending) return pending;
    const job = this.runTts(this.argv, text, voice, out);
    this.rendering.set(out, job);
    try {
      return await job;
    } finally {
      this.rendering.delete(out);
    }
  }

  private async runTts(argv: readonly string[], text: string, voice: string, out: string): Promise<string> {
    await mkdir(this.cacheDir, { recursive: true });
    // Render to a private name and rename: a concurrent reader (another instance) never sees half a file.
    const tmp = `${out}.${process.pid}.${randomBytes(4).toString('hex')}.tmp.wav`;
    const args = argv.map((a) => a.replaceAll('{out}', tmp).replaceAll('{text}', text).replaceAll('{voice}', voice));
    this.renders++;
    try {
      await new Promise<void>((done, fail) => {
        execFile(args[0], args.slice(1), { timeout: this.options.ttsTimeoutMs ?? 15_000, windowsHide: true, maxBuffer: 1024 * 1024 }, (err, _stdout, stderr) => {
          if (err) fail(new TtsError(`TTS command ${args[0]} failed: ${err.message}${stderr ? ` (${String(stderr).trim().slice(0, 200)})` : ''}`));
          else done();
        });
      });
      const parsed = parseWav(await readFile(tmp).catch(() => Buffer.alloc(0)));
      if (!parsed.ok) throw new TtsError(`TTS command ${args[0]} wrote no usable WAV: ${parsed.error.message}`);
      await rename(tmp, out);
      return out;
    } finally {
      await rm(tmp, { force: true });
    }
  }
}

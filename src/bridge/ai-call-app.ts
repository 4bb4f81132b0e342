import { mkdir } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { isDtmfDigit, loadWavAs8kMono } from '../dsp';
import type { CallApp, CallAppContext, CdrDirection, RouteSpec } from '../call';
import type { MediaSession } from '../media';
import { systemClock, type Clock, type TimerHandle } from '../util';
import type { AiBridge, AiRouteOverrides } from './ai-bridge';
import type {
  BridgeCallInfo,
  BridgeCallPort,
  BridgeDtmfEvent,
  BridgeMarkEvent,
  BridgeTranscriptEntry,
  BridgeTransferType,
  Unsubscribe,
} from './bridge-call-port';
import { silentBridgeLogger, type BridgeLogger } from './bridge-metrics';
import type { BridgeSession } from './bridge-session';
import { AI_PROTOCOL_NAMES, type AiProtocolName, type BridgeSmsNotice } from './protocol-codec';
import { TwilioCodec } from './twilio-codec';

/**
 * What a call on the `ai` route does when the AI platform cannot be reached (AI_FALLBACK): play AI_FALLBACK_MESSAGE
 * and hang up, transfer to a number or SIP URI, or hand the call to a queue.
 */
export type AiFallback = { kind: 'hangup' } | { kind: 'transfer'; target: string } | { kind: 'queue'; id: string };

export function formatAiFallback(f: AiFallback): string {
  return f.kind === 'hangup' ? 'hangup' : f.kind === 'transfer' ? `transfer:${f.target}` : `queue:${f.id}`;
}

/** A number's `ai_settings` (numbers table), as stored: free-form JSON. */
export type AiNumberSettings = Readonly<Record<string, unknown>>;

/** The bridge settings a number's `ai_settings` yields. */
export interface AiRouteSettings {
  overrides: AiRouteOverrides;
  /** Passed to the AI in call_start (`custom_parameters`, Twilio `customParameters`, jambonz metadata). */
  customParameters: Record<string, string>;
  /** Keys that were present but unusable (logged, never fatal). */
  ignored: string[];
}

/** Keys of ai_settings the bridge interprets itself; every other scalar is a custom parameter for the AI. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['url', 'token', 'protocol', 'sample_rate', 'wideband', 'headers', 'custom_parameters', 'ring_mode']);
const MAX_CUSTOM_PARAMETERS = 64;
const MAX_PARAMETER_CHARS = 1024;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v.slice(0, MAX_PARAMETER_CHARS);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * Read a number's ai_settings: `url` (ws/wss), `token`, `protocol` (native | twilio | jambonz), `sample_rate`
 * (8000 | 16000 | 24000) or `wideband: true` (16000), `headers` (object of strings), `custom_parameters` (object);
 * any other scalar key (agent, prompt id...) is passed to the AI as a custom parameter too. Never throws.
 */
export function parseAiSettings(settings: AiNumberSettings | undefined): AiRouteSettings {
  const out: AiRouteSettings = { overrides: {}, customParameters: {}, ignored: [] };
  if (!settings) return out;
  const o = out.overrides;
  const url = settings['url'];
  if (url !== undefined) {
    let ok = false;
    if (typeof url === 'string') {
      try {
        const u = new URL(url);
        ok = (u.protocol === 'ws:' || u.protocol === 'wss:') && u.hostname !== '';
      } catch {
        ok = false;
      }
    }
    if (ok) o.url = url as string;
    else out.ignored.push('url');
  }
  const token = settings['token'];
  if (typeof token === 'string' && token !== '') o.token = token;
  else if (token !== undefined) out.ignored.push('token');
  const protocol = settings['protocol'];
  if (typeof protocol === 'string' && (AI_PROTOCOL_NAMES as readonly string[]).includes(protocol)) o.protocol = protocol as AiProtocolName;
  else if (protocol !== undefined) out.ignored.push('protocol');
  const rate = settings['sample_rate'];
  if (rate === 8000 || rate === 16000 || rate === 24000) o.sampleRate = rate;
  else if (rate !== undefined) out.ignored.push('sample_rate');
  if (o.sampleRate === undefined && settings['wideband'] === true) o.sampleRate = 16000;
  // Media Streams is mu-law 8 kHz by definition: a wideband setting cannot apply to it.
  if (o.protocol === 'twilio' && o.sampleRate !== undefined && o.sampleRate !== 8000) {
    delete o.sampleRate;
    out.ignored.push('sample_rate');
  }
  const headers = settings['headers'];
  if (isRecord(headers)) {
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) {
      // RFC 7230 §3.2: a header name is a token; CR/LF in a value would split the handshake request.
      if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/.test(k) && typeof v === 'string' && !/[\r\n]/.test(v)) h[k] = v;
      else out.ignored.push(`headers.${k}`);
    }
    o.headers = h;
  } else if (headers !== undefined) out.ignored.push('headers');
  const params = out.customParameters;
  let count = 0;
  for (const [k, v] of Object.entries(settings)) {
    if (RESERVED_KEYS.has(k) || count >= MAX_CUSTOM_PARAMETERS) continue;
    const text = scalarText(v);
    if (text !== undefined) {
      params[k] = text;
      count++;
    }
  }
  const custom = settings['custom_parameters'];
  if (isRecord(custom)) {
    for (const [k, v] of Object.entries(custom)) {
      const text = scalarText(v);
      if (text !== undefined && (k in params || count++ < MAX_CUSTOM_PARAMETERS)) params[k] = text;
    }
  } else if (custom !== undefined) out.ignored.push('custom_parameters');
  return out;
}

/** Fetches a WAV file for the AI's `play {url}`; the default uses fetch with a size and time bound. */
export type WavFetcher = (url: string) => Promise<Uint8Array>;

export interface AiCallAppOptions {
  bridge: AiBridge;
  /** What happens when the AI is unreachable at start or lost for good mid-call. Default hangup. */
  fallback?: AiFallback;
  /** WAV played before the fallback hangs up (AI_FALLBACK_MESSAGE). */
  fallbackMessage?: string;
  /** Where `record_start` writes (RECORDINGS_DIR). */
  recordingsDir: string;
  /** Directory relative `play {file}` names resolve in (MOH_DIR); absolute paths must lie inside it too. */
  promptsDir?: string;
  /** A number's ai_settings (numbers table); undefined = no row. Failures route with the defaults. */
  lookupNumber?: (number: string) => Promise<AiNumberSettings | undefined>;
  /** The application serving a fallback route (`queue:<id>`), when one is registered. */
  fallbackApp?: (route: RouteSpec) => CallApp | undefined;
  fetchWav?: WavFetcher;
  /**
   * Per-call parameters added to call_start's custom parameters when the run is created (e.g. the answering-machine
   * verdict of an originated call: its app starts only once the verdict is in). They win over the number's.
   */
  callParameters?: (callId: string) => Readonly<Record<string, string>>;
  /** Audio the AI sends before the call is answered (rare: the socket usually opens later), ms. Default 10 s. */
  maxEarlyAudioMs?: number;
  clock?: Clock;
  logger?: BridgeLogger;
}

/** Counters of the AI route (cheap, for status pages and tests). */
export interface AiCallAppStats {
  started: number;
  fallbacks: number;
  refused: number;
}

/** A call that prepared an AI session and was never started within this long is abandoned (CANCEL while ringing). */
const ORPHAN_MS = 10_000;
const MAX_WAV_BYTES = 16 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;
const SAFE_CAUSE = /^[A-Za-z0-9._:-]{1,64}$/;
const MARK_PREFIX = 'ai#';

/**
 * The `ai` route: each call's audio and DTMF go to the AI platform over one BridgeSession, and the AI's audio and
 * decisions come back to the call.
 *
 * The connection is opened in `prepare` (while the call is still ringing) and the call is answered at once, so call
 * setup never waits for the AI; the session buffers the caller's first frames (bounded) until its socket is open.
 * An AI that cannot be reached within AI_CONNECT_TIMEOUT_MS, or that stays lost past AI_RECONNECT_S mid-call, sends
 * the call to the fallback; the CDR (hangup) or the timeline (transfer, queue) says `ai-unavailable` / `ai-lost`.
 */
export class AiCallApp implements CallApp {
  readonly side = 'ai' as const;
  readonly stats: AiCallAppStats = { started: 0, fallbacks: 0, refused: 0 };
  private readonly runs = new Map<string, AiCallRun>();
  private readonly byTwilioSid = new Map<string, string>();
  private readonly clock: Clock;
  private readonly log: BridgeLogger;

  constructor(private readonly opts: AiCallAppOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentBridgeLogger;
  }

  /** Calls with a live AI run (connecting, talking, or in fallback). */
  get activeCalls(): number {
    return this.runs.size;
  }

  /** The bridge session of a call, if any (diagnostics, tests). */
  session(callId: string): BridgeSession | undefined {
    return this.runs.get(callId)?.session;
  }

  /** Our call id for the Twilio CallSid given to the AI in `start` (the Twilio-shaped REST API). */
  callIdForTwilioSid(callSid: string): string | undefined {
    return this.byTwilioSid.get(callSid);
  }

  /** An SMS arrived for one of our numbers: every AI call on that number hears of it (native `sms_received`). */
  notifySms(sms: BridgeSmsNotice): number {
    let n = 0;
    for (const run of this.runs.values()) {
      if (run.ourNumber === sms.to && run.session) {
        run.session.notifySms(sms);
        n++;
      }
    }
    return n;
  }

  async prepare(info: { callId: string; from: string; to: string; route: RouteSpec; direction: CdrDirection }): Promise<boolean> {
    if (this.runs.has(info.callId)) return true;
    const run = await this.createRun(info);
    if (!run) {
      this.stats.refused++;
      return false;
    }
    // The call is answered right after this resolves; if it never is (CANCEL meanwhile), do not keep the AI waiting.
    run.orphanTimer = this.clock.setTimeout(() => {
      if (!run.attached) run.abandon('not-answered');
    }, ORPHAN_MS);
    return true;
  }

  async start(ctx: CallAppContext): Promise<void> {
    let run = this.runs.get(ctx.callId);
    if (!run) {
      // Outbound calls (originate with the ai route) come here directly once the callee answered.
      run = await this.createRun(ctx);
      if (!run) {
        this.stats.refused++;
        ctx.note('ai-unavailable', { detail: 'no AI platform URL configured' });
        ctx.hangup('ai-unavailable');
        return;
      }
    }
    this.stats.started++;
    run.attach(ctx);
  }

  /** End every AI session (shutdown); calls themselves are ended by call control. */
  async close(): Promise<void> {
    await Promise.all([...this.runs.values()].map((r) => r.abandon('server-shutdown')));
  }

  private async createRun(info: { callId: string; from: string; to: string; direction: CdrDirection }): Promise<AiCallRun | undefined> {
    const ourNumber = info.direction === 'inbound' ? info.to : info.from;
    let raw: AiNumberSettings | undefined;
    if (this.opts.lookupNumber) {
      try {
        raw = await this.opts.lookupNumber(ourNumber);
      } catch (err) {
        this.log.warn({ callId: info.callId, err: err instanceof Error ? err.message : String(err) }, 'number lookup failed; AI defaults apply');
      }
    }
    const settings = parseAiSettings(raw);
    if (settings.ignored.length > 0) this.log.warn({ callId: info.callId, number: ourNumber, ignored: settings.ignored }, 'unusable ai_settings ignored');
    if (!this.opts.bridge.canBridge(settings.overrides)) {
      this.log.warn({ callId: info.callId, number: ourNumber }, 'no AI platform URL (AI_PLATFORM_URL or ai_settings.url): call refused');
      return undefined;
    }
    if (this.runs.has(info.callId)) return this.runs.get(info.callId);
    const customParameters = { ...settings.customParameters, ...(this.opts.callParameters?.(info.callId) ?? {}) };
    const run = new AiCallRun(this.opts, this.clock, this.log, info, ourNumber, customParameters, () => this.forget(run));
    try {
      run.session = this.opts.bridge.createSession(run, settings.overrides);
    } catch (err) {
      this.log.warn({ callId: info.callId, err: err instanceof Error ? err.message : String(err) }, 'AI session could not be created');
      return undefined;
    }
    this.runs.set(info.callId, run);
    const codec = run.session.codec;
    if (codec instanceof TwilioCodec) {
      run.twilioSid = codec.callSid;
      this.byTwilioSid.set(codec.callSid, info.callId);
    }
    run.onFallback = () => this.stats.fallbacks++;
    run.connect();
    return run;
  }

  private forget(run: AiCallRun): void {
    if (this.runs.get(run.info.callId) === run) this.runs.delete(run.info.callId);
    if (run.twilioSid !== undefined && this.byTwilioSid.get(run.twilioSid) === run.info.callId) this.byTwilioSid.delete(run.twilioSid);
  }
}

type PendingOp = { kind: 'pcm'; pcm: Int16Array } | { kind: 'mark'; id: string };

/**
 * One call on the AI route: the BridgeCallPort the session talks to, over the call's CallAppContext once the call is
 * answered. Until then (the session may connect first) audio and marks from the AI wait in a bounded list.
 */
class AiCallRun implements BridgeCallPort {
  readonly info: BridgeCallInfo;
  session: BridgeSession | undefined;
  twilioSid: string | undefined;
  orphanTimer: TimerHandle | undefined;
  onFallback: (() => void) | undefined;
  private ctx: CallAppContext | undefined;
  private media: MediaSession | undefined;
  private readonly frameCbs: ((frame: Int16Array) => void)[] = [];
  private readonly dtmfCbs: ((event: BridgeDtmfEvent) => void)[] = [];
  private readonly marks = new Map<string, (event: BridgeMarkEvent) => void>();
  private markSeq = 0;
  private readonly pending: PendingOp[] = [];
  private pendingSamples = 0;
  private readonly maxPendingSamples: number;
  private pendingHangup: string | undefined;
  private pendingFallback: string | undefined;
  private fallbackStarted = false;
  private ended = false;
  private aiPlayback = 0;
  private recordingPath: string | undefined;
  private readonly detach: Unsubscribe[] = [];

  constructor(
    private readonly opts: AiCallAppOptions,
    private readonly clock: Clock,
    private readonly log: BridgeLogger,
    call: { callId: string; from: string; to: string; direction: CdrDirection },
    readonly ourNumber: string,
    customParameters: Record<string, string>,
    private readonly onGone: () => void,
  ) {
    // `codec` is read when the opening message is sent: the negotiated codec once the call is answered.
    const codecOf = (): string => this.ctx?.codec ?? 'PCMU';
    this.info = {
      callId: call.callId,
      from: call.from,
      to: call.to,
      direction: call.direction,
      get codec(): string {
        return codecOf();
      },
      customParameters,
    };
    this.maxPendingSamples = Math.max(160, Math.round(((opts.maxEarlyAudioMs ?? 10_000) * 8000) / 1000));
  }

  get attached(): boolean {
    return this.ctx !== undefined;
  }

  /** Start connecting (the session subscribes to onFrame/onDtmf here). */
  connect(): void {
    const s = this.session;
    if (!s) return;
    s.on('unavailable', ({ phase, detail }) => this.runFallback(phase === 'connect' ? 'ai-unavailable' : 'ai-lost', detail));
    s.on('open', ({ resumed }) => {
      if (resumed) this.ctx?.note('ai-reconnected', { attempts: s.stats.reconnects });
    });
    s.on('reconnecting', ({ attempt, code }) => {
      if (attempt === 1) this.ctx?.note('ai-connection-lost', { code });
    });
    s.start().catch((err: unknown) => this.log.warn({ callId: this.info.callId, err: err instanceof Error ? err.message : String(err) }, 'AI session start failed'));
  }

  /** The call is answered: wire the session to its media and control. */
  attach(ctx: CallAppContext): void {
    if (this.ended) {
      ctx.hangup('ai-unavailable');
      return;
    }
    this.clock.clearTimeout(this.orphanTimer);
    this.orphanTimer = undefined;
    this.ctx = ctx;
    const media = ctx.media;
    this.media = media;
    const onFrame = (pcm: Int16Array): void => {
      const cbs = this.frameCbs;
      for (let i = 0; i < cbs.length; i++) cbs[i](pcm);
    };
    const onPlayed = (name: string): void => this.markDone(name, 'played');
    const onCleared = (name: string): void => this.markDone(name, 'cleared');
    // The caller's audio as it arrives (in sequence order, no playout clock): the AI platform buffers on its side,
    // so the jitter buffer's depth and the 20 ms tick would only add delay to the uplink (#6).
    media.on('arrivalframe', onFrame);
    media.on('markplayed', onPlayed);
    media.on('markcleared', onCleared);
    this.detach.push(() => {
      media.off('arrivalframe', onFrame);
      media.off('markplayed', onPlayed);
      media.off('markcleared', onCleared);
    });
    this.detach.push(
      ctx.onDtmf((digit, source, durationMs) => {
        if (!isDtmfDigit(digit)) return;
        const ev: BridgeDtmfEvent = { digit, source, durationMs: durationMs ?? 0 };
        for (const cb of this.dtmfCbs) cb(ev);
      }),
    );
    this.detach.push(ctx.onEnd((cause) => this.callEnded(cause)));
    // What the AI sent before the answer, in order.
    for (const op of this.pending.splice(0)) {
      if (media.isClosed) break;
      if (op.kind === 'pcm') media.enqueuePcm(op.pcm);
      else media.mark(op.id);
    }
    this.pendingSamples = 0;
    if (this.pendingFallback !== undefined) {
      const reason = this.pendingFallback;
      this.pendingFallback = undefined;
      this.fallbackStarted = false;
      this.runFallback(reason, 'AI unreachable before the call was answered');
    } else if (this.pendingHangup !== undefined) ctx.hangup(this.pendingHangup);
  }

  /** Give up on the call's AI session (never answered, or shutdown). */
  async abandon(reason: string): Promise<void> {
    this.clock.clearTimeout(this.orphanTimer);
    const s = this.session;
    this.finish();
    if (s) await s.end(reason);
  }

  // ---- BridgeCallPort --------------------------------------------------------------------------------------------

  onFrame(cb: (frame: Int16Array) => void): Unsubscribe {
    this.frameCbs.push(cb);
    return () => removeItem(this.frameCbs, cb);
  }

  onDtmf(cb: (event: BridgeDtmfEvent) => void): Unsubscribe {
    this.dtmfCbs.push(cb);
    return () => removeItem(this.dtmfCbs, cb);
  }

  enqueuePcm(pcm: Int16Array): boolean {
    if (this.fallbackStarted || this.ended) return false;
    const media = this.media;
    if (!media) {
      if (this.pendingSamples + pcm.length > this.maxPendingSamples) return false;
      this.pending.push({ kind: 'pcm', pcm: pcm.slice() });
      this.pendingSamples += pcm.length;
      return true;
    }
    if (media.isClosed) return false;
    return media.enqueuePcm(pcm);
  }

  clearQueue(): void {
    const media = this.media;
    if (!media) {
      for (const op of this.pending.splice(0)) if (op.kind === 'mark') this.markDone(op.id, 'cleared');
      this.pendingSamples = 0;
      return;
    }
    // Barge-in silences whatever the AI started: its queued speech and a prompt it asked us to play.
    media.clearQueue();
    if (this.aiPlayback > 0 && !media.isClosed) {
      this.aiPlayback = 0;
      media.stop();
    }
  }

  mark(_name: string, cb: (event: BridgeMarkEvent) => void): void {
    // Media marks are named by us: the AI may reuse a name, and each of its marks must complete on its own.
    const id = `${MARK_PREFIX}${++this.markSeq}`;
    this.marks.set(id, cb);
    const media = this.media;
    if (!media) this.pending.push({ kind: 'mark', id });
    else if (media.isClosed) this.markDone(id, 'cleared');
    else media.mark(id);
  }

  hangup(reason: string): void {
    const cause = SAFE_CAUSE.test(reason) ? reason : 'ai-hangup';
    if (!this.ctx) {
      this.pendingHangup = cause;
      return;
    }
    this.ctx.hangup(cause);
  }

  transfer(target: string, type: BridgeTransferType): void {
    const ctx = this.ctx;
    if (!ctx) throw new Error('the call is not answered yet');
    ctx.note('ai-transfer', { target, type });
    ctx.transfer(target, type).then(
      (ok) => {
        if (ok) this.handedOff('transferred');
        else ctx.note('ai-transfer-failed', { target });
      },
      (err: unknown) => ctx.note('ai-transfer-failed', { target, error: errorText(err) }),
    );
  }

  sendDtmf(digits: string): void {
    const ctx = this.ctx;
    if (!ctx) throw new Error('the call is not answered yet');
    // RFC 4733 events when the caller negotiated telephone-event, in-band tones otherwise (media decides).
    ctx.sendDtmf(digits).catch((err: unknown) => ctx.note('ai-send-dtmf-failed', { digits, error: errorText(err) }));
  }

  hold(): void {
    const ctx = this.ctx;
    if (!ctx) throw new Error('the call is not answered yet');
    ctx.hold().catch((err: unknown) => ctx.note('ai-hold-failed', { error: errorText(err) }));
  }

  resume(): void {
    const ctx = this.ctx;
    if (!ctx) throw new Error('the call is not answered yet');
    ctx.resume().catch((err: unknown) => ctx.note('ai-resume-failed', { error: errorText(err) }));
  }

  play(fileOrUrl: string): void {
    const media = this.media;
    const ctx = this.ctx;
    if (!media || !ctx || media.isClosed) throw new Error('the call is not answered yet');
    const token = ++this.aiPlayback;
    const done = (): void => {
      if (this.aiPlayback === token) this.aiPlayback = 0;
    };
    const fail = (err: unknown): void => {
      done();
      ctx.note('ai-play-failed', { source: fileOrUrl.slice(0, 256), error: errorText(err) });
    };
    if (/^https?:\/\//i.test(fileOrUrl)) {
      (this.opts.fetchWav ?? fetchWav)(fileOrUrl)
        .then((bytes) => {
          if (media.isClosed || this.aiPlayback !== token) return undefined;
          return media.play(loadWavAs8kMono(bytes)).then(done);
        })
        .catch(fail);
      return;
    }
    const path = this.promptPath(fileOrUrl);
    media.play(path).then(done, fail);
  }

  recordStart(): void {
    const media = this.media;
    const ctx = this.ctx;
    if (!media || !ctx || media.isClosed) throw new Error('the call is not answered yet');
    if (media.isRecording || this.recordingPath !== undefined) return;
    const dir = this.opts.recordingsDir;
    const name = `${this.info.callId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120)}-${this.clock.wallNow()}.wav`;
    const path = join(dir, name);
    this.recordingPath = path;
    mkdir(dir, { recursive: true })
      .then(() => media.record(path))
      .then(
        () => ctx.note('recording-started', { path, by: 'ai' }),
        (err: unknown) => {
          this.recordingPath = undefined;
          ctx.note('recording-failed', { error: errorText(err) });
        },
      );
  }

  recordStop(): void {
    const media = this.media;
    const ctx = this.ctx;
    if (!media || !ctx) throw new Error('the call is not answered yet');
    const path = this.recordingPath;
    if (path === undefined) return;
    this.recordingPath = undefined;
    media.stopRecording().then(
      (summary) => ctx.note('recording-stopped', { path, duration_ms: summary?.durationMs ?? 0, bytes: summary?.dataBytes ?? 0 }),
      (err: unknown) => ctx.note('recording-failed', { path, error: errorText(err) }),
    );
  }

  transcript(entry: BridgeTranscriptEntry): void {
    const data: Record<string, string | number | boolean | null> = { speaker: entry.speaker, text: entry.text };
    if (entry.start !== undefined) data['start'] = entry.start;
    if (entry.end !== undefined) data['end'] = entry.end;
    this.ctx?.note('transcript', data);
  }

  // ---- internals -------------------------------------------------------------------------------------------------

  /** `play {file}` resolves under the prompts directory; anything that escapes it is refused. */
  private promptPath(file: string): string {
    const base = this.opts.promptsDir;
    if (base === undefined) throw new Error('no prompts directory configured');
    const root = resolve(base);
    const full = resolve(root, file);
    const rel = relative(root, full);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`prompt ${JSON.stringify(file.slice(0, 128))} is outside the prompts directory`);
    return full;
  }

  private markDone(id: string, event: BridgeMarkEvent): void {
    const cb = this.marks.get(id);
    if (!cb) return;
    this.marks.delete(id);
    cb(event);
  }

  /** The AI cannot be reached (at start) or is gone for good (mid-call): the configured fallback takes the call. */
  private runFallback(reason: string, detail: string): void {
    if (this.fallbackStarted || this.ended) return;
    this.fallbackStarted = true;
    const ctx = this.ctx;
    if (!ctx) {
      // Not answered yet (an instant refusal): run it once the call is answered.
      this.pendingFallback = reason;
      return;
    }
    this.onFallback?.();
    const fallback = this.opts.fallback ?? { kind: 'hangup' };
    ctx.note(reason, { detail: detail.slice(0, 256), fallback: formatAiFallback(fallback) });
    this.log.warn({ callId: this.info.callId, reason, detail, fallback: formatAiFallback(fallback) }, 'AI route fallback');
    const media = this.media;
    if (media && !media.isClosed) media.clearQueue();
    void this.fallback(ctx, fallback, reason);
  }

  private async fallback(ctx: CallAppContext, fallback: AiFallback, reason: string): Promise<void> {
    try {
      if (fallback.kind === 'transfer') {
        const ok = await ctx.transfer(fallback.target, 'blind').catch((err: unknown) => {
          ctx.note('fallback-transfer-failed', { target: fallback.target, error: errorText(err) });
          return false;
        });
        if (ok) this.handedOff('transferred');
        if (ok || this.ended) return;
      } else if (fallback.kind === 'queue') {
        const route: RouteSpec = { kind: 'queue', id: fallback.id };
        const app = this.opts.fallbackApp?.(route);
        if (app && !this.ended) {
          // The queue owns the call from here on.
          this.finish();
          try {
            await app.start({ ...ctx, route });
            return;
          } catch (err) {
            this.log.warn({ callId: this.info.callId, err: errorText(err) }, 'fallback queue failed');
            ctx.hangup(reason);
            return;
          }
        }
        ctx.note('fallback-queue-unavailable', { queue: fallback.id });
      }
      await this.playFallbackMessage();
    } catch (err) {
      this.log.warn({ callId: this.info.callId, err: errorText(err) }, 'AI fallback failed');
    }
    if (!this.ended) ctx.hangup(reason);
  }

  private async playFallbackMessage(): Promise<void> {
    const file = this.opts.fallbackMessage;
    const media = this.media;
    if (file === undefined || !media || media.isClosed || this.ended) return;
    await media.play(file).catch((err: unknown) => this.log.warn({ callId: this.info.callId, err: errorText(err), file }, 'fallback message could not be played'));
  }

  /** The caller now talks to someone else (transfer bridged, or the call moved on): the AI session ends. */
  private handedOff(reason: string): void {
    if (this.ended) return;
    const s = this.session;
    this.finish();
    if (s) void s.end(reason);
  }

  private callEnded(cause: string): void {
    if (this.ended) return;
    const s = this.session;
    const media = this.media;
    this.finish();
    if (media && this.recordingPath !== undefined) void media.stopRecording().catch(() => undefined);
    if (s) void s.end(cause);
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.clock.clearTimeout(this.orphanTimer);
    this.orphanTimer = undefined;
    this.detachAll();
    for (const id of [...this.marks.keys()]) this.markDone(id, 'cleared');
    this.pending.length = 0;
    this.onGone();
  }

  private detachAll(): void {
    for (const u of this.detach.splice(0)) {
      try {
        u();
      } catch {
        // the call is going away
      }
    }
  }
}

function removeItem<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 256);
}

/** GET a WAV over http(s), bounded in size and time (an AI's `play {url}`). */
async function fetchWav(url: string): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'follow' });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  const length = Number(res.headers.get('content-length') ?? '0');
  if (length > MAX_WAV_BYTES) throw new Error(`${url} is larger than ${MAX_WAV_BYTES} bytes`);
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.length > MAX_WAV_BYTES) throw new Error(`${url} is larger than ${MAX_WAV_BYTES} bytes`);
  return body;
}

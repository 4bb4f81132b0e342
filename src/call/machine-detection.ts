import { AnsweringMachineDetector, type AmdOptions, type AmdResult } from '../dsp';
import { systemClock, type Clock, type TimerHandle } from '../util';
import type { Call } from './call';
import type { CallApp, CallAppContext } from './call-app';
import type { JsonObject } from './json';

/** `machine_detection` options of an outbound call. */
export interface MachineDetectionRequest {
  /** For a machine, wait for the beep after its greeting before the app starts (leave the message after it). */
  waitForBeep?: boolean;
  /** Give up waiting for the beep after this long from the answer, ms (default 30000). */
  beepTimeoutMs?: number;
  /** Detector tuning. */
  amd?: AmdOptions;
}

/** The outcome of detection on one call (stored in the CDR's metadata.amd, sent in webhooks and call_start). */
export interface MachineDetectionOutcome {
  readonly result: AmdResult['result'];
  readonly reason: AmdResult['reason'] | 'no-audio' | 'call-ended';
  /** Audio analysed when the verdict came, ms. */
  readonly afterMs: number;
  readonly words: number;
  readonly speechMs: number;
  /** The beep after a machine's greeting, when waited for and heard. */
  readonly beep: { afterMs: number; frequencyHz: number } | null;
}

export interface MachineDetectionServiceOptions {
  calls: { call(callId: string): Call | undefined };
  /** CDR metadata merge (CallRepository.update with { metadata }). */
  cdr?: { update(callId: string, patch: { metadata: JsonObject }): Promise<unknown> };
  webhooks?: { notify(url: string, key: string, payload: JsonObject): boolean };
  logger?: { warn(obj: object, msg?: string): void };
  clock?: Clock;
}

interface Job {
  req: MachineDetectionRequest;
  outcome: Promise<MachineDetectionOutcome>;
  settle: (o: MachineDetectionOutcome) => void;
  done: MachineDetectionOutcome | undefined;
}

/** The JSON form of an outcome (snake_case, as the API, webhooks and the AI see it). */
export function machineDetectionJson(o: MachineDetectionOutcome): JsonObject {
  return {
    result: o.result,
    reason: o.reason,
    after_ms: o.afterMs,
    words: o.words,
    speech_ms: o.speechMs,
    beep: o.beep ? { after_ms: o.beep.afterMs, frequency_hz: o.beep.frequencyHz } : null,
  };
}

/**
 * Answering-machine detection on outbound calls (`machine_detection: true` on originate): from the answer, the
 * answered party's audio feeds an AnsweringMachineDetector until its verdict (and, when asked, the beep after a
 * machine's greeting). The verdict is a call event (`amd`), the CDR's metadata.amd, a `machine_detection` status
 * webhook, and custom parameters of the AI's call_start; apps wrapped by `wrap` start only once it is known.
 */
export class MachineDetectionService {
  private readonly clock: Clock;
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly opts: MachineDetectionServiceOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  /** Ask for detection on an outbound call before it is answered. False for an unknown or ended call. */
  request(callId: string, req: MachineDetectionRequest = {}): boolean {
    const call = this.opts.calls.call(callId);
    if (!call || call.isEnded || this.jobs.has(callId)) return false;
    let settle: (o: MachineDetectionOutcome) => void = () => undefined;
    const outcome = new Promise<MachineDetectionOutcome>((resolve) => (settle = resolve));
    const job: Job = { req, outcome, settle, done: undefined };
    this.jobs.set(callId, job);
    const begin = (): void => this.run(call, job);
    if (call.isAnswered) begin();
    else {
      const onState = (_from: string, to: string): void => {
        if (to !== 'answered') return;
        call.off('statechange', onState);
        begin();
      };
      call.on('statechange', onState);
      call.once('ended', () => {
        call.off('statechange', onState);
        this.conclude(call, job, { result: 'notsure', reason: 'call-ended', afterMs: 0, words: 0, speechMs: 0, beep: null });
        this.jobs.delete(callId);
      });
    }
    return true;
  }

  /** The verdict of a call, once known. */
  resultOf(callId: string): MachineDetectionOutcome | undefined {
    return this.jobs.get(callId)?.done;
  }

  /** The verdict as call_start custom parameters (`amd_result`, `amd_reason`, `amd_beep_ms`); {} without detection. */
  customParameters(callId: string): Record<string, string> {
    const o = this.resultOf(callId);
    if (!o) return {};
    const p: Record<string, string> = { amd_result: o.result, amd_reason: o.reason };
    if (o.beep) p['amd_beep_ms'] = String(o.beep.afterMs);
    return p;
  }

  /** Resolves with the verdict of a call that asked for detection (undefined otherwise). */
  wait(callId: string): Promise<MachineDetectionOutcome | undefined> {
    return this.jobs.get(callId)?.outcome ?? Promise.resolve(undefined);
  }

  /** `app`, started only once the call's verdict (and beep, when asked) is in; calls without detection start at once. */
  wrap(app: CallApp): CallApp {
    const start = async (ctx: CallAppContext): Promise<void> => {
      if (this.jobs.has(ctx.callId)) {
        await this.wait(ctx.callId);
        if (ctx.media.isClosed) return;
      }
      await app.start(ctx);
    };
    return { side: app.side, prepare: app.prepare?.bind(app), start };
  }

  private run(call: Call, job: Job): void {
    const media = call.a.media;
    if (!media || media.isClosed) {
      this.conclude(call, job, { result: 'notsure', reason: 'no-audio', afterMs: 0, words: 0, speechMs: 0, beep: null });
      return;
    }
    const detector = new AnsweringMachineDetector(job.req.amd);
    let verdict: AmdResult | undefined;
    let beep: { afterMs: number; frequencyHz: number } | null = null;
    const timer: { handle?: TimerHandle } = {};
    const finish = (o?: MachineDetectionOutcome): void => {
      media.off('frame', onFrame);
      offBeep();
      this.clock.clearTimeout(timer.handle);
      this.conclude(
        call,
        job,
        o ?? (verdict ? { result: verdict.result, reason: verdict.reason, afterMs: verdict.afterMs, words: verdict.words, speechMs: verdict.speechMs, beep } : { result: 'notsure', reason: 'no-audio', afterMs: detector.analysedMs, words: 0, speechMs: 0, beep: null }),
      );
    };
    const offBeep = detector.onBeep((b) => {
      beep = { afterMs: b.afterMs, frequencyHz: b.frequencyHz };
    });
    const onFrame = (pcm: Int16Array): void => {
      const r = detector.push(pcm);
      if (r) verdict = r;
      if (!verdict) return;
      // A machine's message starts after its beep: wait for it when asked, as long as the detector still listens.
      if (job.req.waitForBeep && verdict.result === 'machine' && beep === null && detector.listening) return;
      finish();
    };
    media.on('frame', onFrame);
    // Frames only flow while RTP arrives: a silent line still gets a verdict.
    const limit = job.req.waitForBeep ? Math.max(job.req.beepTimeoutMs ?? 30_000, 6000) : (job.req.amd?.totalAnalysisMs ?? 5000) + 1500;
    timer.handle = this.clock.setTimeout(() => finish(), limit);
    call.once('ended', () => {
      if (!job.done) finish();
      this.jobs.delete(call.id);
    });
  }

  private conclude(call: Call, job: Job, o: MachineDetectionOutcome): void {
    if (job.done) return;
    job.done = o;
    job.settle(o);
    const json = machineDetectionJson(o);
    call.note('amd', { ...json, beep: o.beep ? o.beep.afterMs : null });
    this.opts.cdr?.update(call.id, { metadata: { amd: json } }).catch((err: unknown) => this.opts.logger?.warn({ err, callId: call.id }, 'could not store the AMD result'));
    const url = call.webhookUrl;
    if (url && this.opts.webhooks) {
      this.opts.webhooks.notify(url, call.id, { event: 'machine_detection', call_id: call.id, amd: json, timestamp: new Date(this.clock.wallNow()).toISOString() });
    }
  }
}

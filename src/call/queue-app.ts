import { stat } from 'node:fs/promises';
import { ringbackSequence, type ToneSequence } from '../dsp';
import type { MohLibrary, MohMode, MohSource } from '../media';
import type { QueueEntryRecord } from '../store';
import { systemClock, type Clock, type TimerHandle } from '../util';
import type { AiSessionLimiter } from './ai-session-limiter';
import type { Call } from './call';
import type { CallApp, CallAppContext } from './call-app';
import type { ActiveCallInfo, OriginateRequest } from './call-control';
import type { IvrPromptResolver } from './ivr';
import type { QueueAnnouncement, QueueDispatch, QueueExitAction, QueueService, QueueTarget, StoredQueue } from './queue';

/** The call control a queue needs to ring SIP targets: originate, watch and end their calls. */
export interface QueueCallControl {
  originate(req: OriginateRequest): Promise<ActiveCallInfo>;
  call(callId: string): Call | undefined;
  hangup(callId: string, cause?: string): boolean;
}

export interface QueueAppLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface QueueCallAppOptions {
  service: QueueService;
  calls: QueueCallControl;
  /** The AI app callers are handed to (AI targets, `ai` exit actions). */
  appOf(kind: 'ai'): CallApp | undefined;
  /** AI_MAX_SESSIONS: an AI target takes a caller only while a slot is free. */
  aiSlots: AiSessionLimiter;
  /** This instance: entries of other instances are theirs to serve. */
  instanceId: string;
  /** Music on hold (MOH_DIR); without it waiting callers hear a soft tone. */
  moh?: MohLibrary;
  /** Shared stream or from the top for each caller (MOH_MODE); default the library's mode. */
  mohMode?: MohMode;
  /**
   * Position announcements and exit messages given as text need a TTS-capable resolver. Without TTS, announcements
   * play `queue-announce-<queue name>.wav` or `queue-announce.wav` from the prompt directory, else ANNOUNCE_CUE.
   */
  prompts?: IvrPromptResolver & { readonly ttsEnabled?: boolean };
  /** How long a SIP target rings before the next one is tried (default 20 s). */
  ringTimeoutS?: number;
  /** After nobody answered, wait this long before offering the caller again (default 5 s). */
  retryDelayMs?: number;
  logger?: QueueAppLogger;
  clock?: Clock;
}

type WaiterState = 'waiting' | 'offered' | 'connected' | 'done';

interface Waiter {
  readonly ctx: CallAppContext;
  readonly queue: StoredQueue;
  readonly joinedAt: number;
  state: WaiterState;
  /** The waiting entry (its id keeps the caller's place when it is put back in line). */
  entry: QueueEntryRecord;
  stopWatch: () => void;
  offEnd: () => void;
  /** Outbound calls ringing for this caller. */
  readonly ringing: Set<string>;
  /** Increments whenever what the caller hears changes, so a late MOH restart does not override it. */
  audioSeq: number;
  /** The caller's music (kept across announcements: a per-listener track goes on where it paused). */
  moh?: MohSource;
}

/** Result of pulling a caller out of line. */
export type QueuePullResult = { ok: true; target: string } | { ok: false; reason: 'not_waiting' | 'no_answer' | 'bad_target' | 'ai_unavailable' };

/** A soft two-tone hold pattern when no music is configured: RTP keeps flowing so NATs and peers stay happy. */
const HOLD_TONE = ringbackSequence({ frequencies: [440, 330], levelDbm0: -26, cadenceMs: [300, 3700] });

/**
 * The position announcement when there is neither TTS nor a recorded announcement: a short two-note chime (880 Hz
 * then 660 Hz, 200 ms each, -16 dBm0) that tells the caller the line is alive and it is still queued. Its notes are
 * apart from the DTMF frequencies (ITU-T Q.23) and the call-progress tones (ITU-T E.180), so it cannot be mistaken
 * for a key press, a busy or a ringback tone.
 */
export const ANNOUNCE_CUE: ToneSequence = {
  segments: [
    { frequencies: [880], levelsDbm0: [-16], durationMs: 200 },
    { frequencies: [660], levelsDbm0: [-16], durationMs: 200 },
    { frequencies: [], levelsDbm0: [], durationMs: 100 },
  ],
  repeat: false,
};

/**
 * The `queue:<id>` route. A caller joins the queue's line in PostgreSQL (exact priority-then-arrival order across
 * instances), hears music on hold and, when the queue says so, its position; the wait limit and a full queue take
 * the queue's exit actions. When a target frees (a call of a SIP target ends, an AI session slot is released, a
 * queue definition changes) the head of the line is offered: to an AI target (the AI app takes over the call) or to
 * SIP targets rung by originate under the queue's ring strategy and bridged to the caller on answer. Nobody
 * answering puts the caller back at its place. A caller who hangs up leaves the line at once.
 */
export class QueueCallApp implements CallApp {
  readonly side = 'system' as const;
  private readonly clock: Clock;
  private readonly waiters = new Map<string, Waiter>();
  private readonly pumping = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly timers = new Set<TimerHandle>();
  private readonly offRelease: () => void;
  private closed = false;

  constructor(private readonly opts: QueueCallAppOptions) {
    this.clock = opts.clock ?? systemClock;
    const onRelease = (): void => {
      for (const queueId of this.localQueues()) this.pump(queueId);
    };
    opts.aiSlots.on('release', onRelease);
    this.offRelease = () => opts.aiSlots.off('release', onRelease);
  }

  /** Callers of this instance in a queue (waiting or being offered), by Call-ID. */
  get waiting(): number {
    let n = 0;
    for (const w of this.waiters.values()) if (w.state === 'waiting' || w.state === 'offered') n++;
    return n;
  }

  start(ctx: CallAppContext): Promise<void> {
    const route = ctx.route;
    if (route.kind !== 'queue') throw new TypeError(`QueueCallApp serves queue routes, got ${route.kind}`);
    return this.join(ctx, route.id, undefined);
  }

  /**
   * Put an answered call in line (`priority` from an IVR or webhook overrides the queue's rules). Resolves once the
   * caller is in line (or was refused: missing queue, full queue).
   */
  async join(ctx: CallAppContext, queueRef: string, priority: number | undefined): Promise<void> {
    if (this.closed) {
      ctx.hangup('queue-unavailable');
      return;
    }
    const r = await this.opts.service.enqueue(queueRef, { callId: ctx.callId, from: ctx.from, to: ctx.to, priority });
    if (!r.ok) {
      if (r.reason === 'no_queue') {
        ctx.note('queue.error', { queue: queueRef, error: 'no such queue' });
        ctx.hangup('queue-not-found');
      } else if (r.reason === 'full') {
        ctx.note('queue.full', { queue: r.queue.name, action: r.action.type });
        await this.exit(ctx, r.action, 'full');
      } else {
        ctx.note('queue.error', { queue: queueRef, error: 'already waiting in a queue' });
      }
      return;
    }
    const w: Waiter = {
      ctx,
      queue: r.queue,
      joinedAt: this.clock.now(),
      state: 'waiting',
      entry: r.entry,
      stopWatch: () => undefined,
      offEnd: () => undefined,
      ringing: new Set(),
      audioSeq: 0,
    };
    this.waiters.set(ctx.callId, w);
    ctx.note('queue.join', { queue: r.queue.name, queue_id: r.queue.id, position: r.position, priority: r.entry.priority, priority_source: r.entry.prioritySource });
    w.offEnd = ctx.onEnd((cause) => this.callerEnded(w, cause));
    if (ctx.media.isClosed) {
      this.callerEnded(w, 'ended');
      return;
    }
    this.watch(w);
    this.playMoh(w);
    this.pump(r.queue.id);
  }

  /** A queue definition changed (targets added, capacity raised): offer its callers again. */
  queueChanged(queueId: string): void {
    this.pump(queueId);
  }

  /** Move a waiting caller to another priority (any instance's caller: the line is in PostgreSQL). */
  async changePriority(callId: string, priority: number): Promise<number | undefined> {
    const p = await this.opts.service.changePriority(callId, priority);
    if (!p) return undefined;
    const w = this.waiters.get(callId);
    if (w) w.ctx.note('queue.priority', { queue: w.queue.name, priority, position: p.position });
    return p.position;
  }

  /**
   * Take a waiting caller of this instance out of line to `target`: `ai`, the id of one of the queue's targets, or a
   * SIP URI / number rung directly. A target that does not answer puts the caller back at its place.
   */
  async pull(callId: string, target: string): Promise<QueuePullResult> {
    const w = this.waiters.get(callId);
    if (!w || w.state !== 'waiting') return { ok: false, reason: 'not_waiting' };
    const known = w.queue.targets.find((t) => t.id === target);
    const isAi = target === 'ai' || known?.kind === 'ai';
    if (isAi && !this.opts.appOf('ai')) return { ok: false, reason: 'ai_unavailable' };
    const uri = known?.kind === 'sip' ? known.uri : isAi ? undefined : target;
    if (!isAi && (uri === undefined || !/^(sips?:\S+|tel:\+?[0-9]+|\+?[0-9*#]{1,32})$/i.test(uri))) return { ok: false, reason: 'bad_target' };
    const entry = await this.opts.service.pullTo(callId, target);
    if (!entry) return { ok: false, reason: 'not_waiting' };
    if (w.state !== 'waiting') return { ok: false, reason: 'not_waiting' };
    w.entry = entry;
    w.state = 'offered';
    w.ctx.note('queue.pull', { queue: w.queue.name, target });
    if (isAi) {
      this.opts.aiSlots.tryAcquire(callId);
      this.connectAi(w, target);
      return { ok: true, target };
    }
    const answered = await this.ring(w, [{ kind: 'sip', id: target, uri: uri as string }], false);
    if (answered) return { ok: true, target };
    await this.backInLine(w);
    return { ok: false, reason: 'no_answer' };
  }

  /** Stop every timer and watcher (shutdown); calls themselves are ended by call control. */
  close(): void {
    this.closed = true;
    this.offRelease();
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    for (const w of this.waiters.values()) w.stopWatch();
  }

  // ==== waiting ==================================================================================================

  private watch(w: Waiter): void {
    w.stopWatch = this.opts.service.watch(w.queue, w.ctx.callId, {
      announce: (a) => this.announce(w, a),
      timeout: (action) => {
        if (w.state !== 'waiting') return;
        w.state = 'done';
        w.ctx.note('queue.timeout', { queue: w.queue.name, waited_s: this.waitedS(w), action: action.type });
        this.waiters.delete(w.ctx.callId);
        void this.exit(w.ctx, action, 'timeout');
      },
      error: (err) => this.opts.logger?.warn({ err, callId: w.ctx.callId }, 'queue timer step failed'),
    });
  }

  /**
   * Loop music on hold: the queue's track, else the number's or the default one (MOH_MODE: joining the track's shared
   * stream where it is, or the track from its top), else a soft tone. The source is kept, so music interrupted by an
   * announcement goes on from where the stream (shared) or this caller (per-listener) is.
   */
  private playMoh(w: Waiter): void {
    const seq = ++w.audioSeq;
    const media = w.ctx.media;
    void this.mohSource(w).then((source) => {
      if (w.audioSeq !== seq || w.state === 'connected' || w.state === 'done' || media.isClosed) return;
      media.play(source ?? HOLD_TONE, { loop: true }).catch(() => undefined);
    });
  }

  private async mohSource(w: Waiter): Promise<MohSource | undefined> {
    const moh = this.opts.moh;
    if (!moh) return undefined;
    if (w.moh) return w.moh;
    try {
      w.moh = await moh.source({ track: w.queue.mohFile ?? undefined, queue: w.queue.name, number: w.ctx.to }, this.opts.mohMode ?? moh.mode);
    } catch (err) {
      this.opts.logger?.warn({ err, callId: w.ctx.callId, queue: w.queue.name }, 'music on hold unavailable');
    }
    return w.moh;
  }

  /**
   * Tell a waiting caller its place: spoken by TTS (TTS_COMMAND, espeak-ng by default); without TTS (or when it
   * fails) the queue's recorded announcement, else the generic one, else ANNOUNCE_CUE. Music resumes after it.
   */
  private announce(w: Waiter, a: QueueAnnouncement): void {
    if (w.state !== 'waiting') return;
    const seq = ++w.audioSeq;
    void this.announcement(w, a)
      .then(async (audio) => {
        if (w.audioSeq !== seq || w.state !== 'waiting' || w.ctx.media.isClosed) return;
        w.ctx.note('queue.position', { queue: w.queue.name, position: a.position, waited_s: a.waitedS, audio: audio.kind });
        await w.ctx.media.play(audio.play);
      })
      .catch(() => undefined)
      .then(() => {
        if (w.audioSeq === seq && w.state === 'waiting') this.playMoh(w);
      });
  }

  private async announcement(w: Waiter, a: QueueAnnouncement): Promise<{ kind: 'tts' | 'file' | 'cue'; play: string | ToneSequence }> {
    const prompts = this.opts.prompts;
    if (prompts && prompts.ttsEnabled !== false) {
      const minutes = Math.floor(a.waitedS / 60);
      const text =
        a.position === 1
          ? 'You are next in line. Thank you for waiting.'
          : `You are number ${a.position} in line.${minutes > 0 ? ` You have waited ${minutes} minute${minutes === 1 ? '' : 's'}.` : ''} Thank you for waiting.`;
      try {
        return { kind: 'tts', play: await prompts.resolve({ text }) };
      } catch (err) {
        this.opts.logger?.warn({ err, callId: w.ctx.callId }, 'position announcement could not be rendered; using the recorded one');
      }
    }
    if (prompts) {
      for (const name of [`queue-announce-${w.queue.name}.wav`, 'queue-announce.wav']) {
        const file = await prompts.resolve(name).catch(() => undefined);
        if (file !== undefined && (await stat(file).then((st) => st.isFile() && st.size > 44, () => false))) return { kind: 'file', play: file };
      }
    }
    return { kind: 'cue', play: ANNOUNCE_CUE };
  }

  private callerEnded(w: Waiter, cause: string): void {
    w.offEnd();
    w.stopWatch();
    const was = w.state;
    w.state = 'done';
    this.waiters.delete(w.ctx.callId);
    for (const id of w.ringing) this.opts.calls.hangup(id, 'queue-caller-gone');
    w.ringing.clear();
    if (was === 'offered') {
      // Taken for a target that now rings for nobody: the entry goes back and out again, as abandoned.
      void this.opts.service.requeue(w.entry).then((back) => (back ? this.opts.service.leave(w.ctx.callId) : undefined)).catch(() => undefined);
    }
    if (was === 'waiting') {
      // The line is shared: leave it at once so nobody is offered a caller who is gone.
      this.opts.service.leave(w.ctx.callId).then(
        (entry) => this.opts.logger?.info({ callId: w.ctx.callId, queue: w.queue.name, cause, left: entry !== undefined }, 'caller left the queue'),
        (err: unknown) => this.opts.logger?.warn({ err, callId: w.ctx.callId }, 'could not remove a departed caller from the queue'),
      );
    }
  }

  /** What happens on timeout or a full queue: a message and hang-up, a forward, or the AI. */
  private async exit(ctx: CallAppContext, action: QueueExitAction, why: 'timeout' | 'full'): Promise<void> {
    const cause = why === 'timeout' ? 'queue-timeout' : 'queue-full';
    switch (action.type) {
      case 'hangup': {
        if (action.message !== undefined && !ctx.media.isClosed) {
          const file = await this.messageFile(action.message).catch(() => undefined);
          if (file !== undefined && !ctx.media.isClosed) await ctx.media.play(file).catch(() => undefined);
        }
        ctx.hangup(cause);
        return;
      }
      case 'forward': {
        if (!ctx.media.isClosed) ctx.media.stop();
        const ok = await ctx.transfer(action.number, 'blind').catch(() => false);
        if (!ok) {
          ctx.note('queue.forward_failed', { number: action.number });
          ctx.hangup(cause);
        }
        return;
      }
      case 'ai': {
        const app = this.opts.appOf('ai');
        if (!app) {
          ctx.note('queue.error', { error: 'AI route not available' });
          ctx.hangup(cause);
          return;
        }
        if (!ctx.media.isClosed) ctx.media.stop();
        await Promise.resolve(app.start({ ...ctx, route: { kind: 'ai' } }));
        return;
      }
    }
  }

  private messageFile(message: string | { text: string }): Promise<string> {
    const prompts = this.opts.prompts;
    if (typeof message !== 'string') {
      if (!prompts) return Promise.reject(new Error('no prompt renderer for text messages'));
      return prompts.resolve({ text: message.text });
    }
    if (prompts) return prompts.resolve(message);
    return Promise.resolve(message);
  }

  // ==== offering callers to targets =================================================================================

  private localQueues(): Set<string> {
    const ids = new Set<string>();
    for (const w of this.waiters.values()) if (w.state === 'waiting') ids.add(w.queue.id);
    return ids;
  }

  /** Offer the head of the line while targets are free; one pump per queue at a time (later requests coalesce). */
  private pump(queueId: string): void {
    if (this.closed) return;
    if (this.pumping.has(queueId)) {
      this.again.add(queueId);
      return;
    }
    const run = this.drain(queueId)
      .catch((err: unknown) => this.opts.logger?.warn({ err, queueId }, 'queue dispatch failed'))
      .finally(() => {
        this.pumping.delete(queueId);
        if (this.again.delete(queueId)) this.pump(queueId);
      });
    this.pumping.set(queueId, run);
  }

  private async drain(queueId: string): Promise<void> {
    const { service } = this.opts;
    for (let guard = 0; guard < 1000 && !this.closed; guard++) {
      const queue = await service.queue(queueId);
      if (!queue) return;
      const line = await service.positions(queue.id);
      if (line.length === 0) return;
      let dispatch: QueueDispatch | undefined;
      // AI targets first while the platform has room; then the ring strategy over the free targets.
      if (this.opts.aiSlots.available >= 1 && this.opts.appOf('ai')) {
        for (const t of queue.targets) {
          if (t.kind !== 'ai') continue;
          dispatch = await service.takeNext(queue.id, t.id);
          if (dispatch) break;
        }
      }
      dispatch ??= await service.takeNext(queue.id);
      if (!dispatch) return;
      const handled = this.offer(dispatch);
      if (!handled) return;
    }
  }

  /**
   * Hand a taken caller to its planned targets. False when it could not be offered here (another instance's
   * caller, or only AI targets without a free slot): it is put back at its place and the pump stops.
   */
  private offer(d: QueueDispatch): boolean {
    const { service } = this.opts;
    const w = this.waiters.get(d.entry.callId);
    const aiTargets = d.plan.targets.filter((t) => t.kind === 'ai');
    const sipTargets = d.plan.targets.filter((t): t is Extract<QueueTarget, { kind: 'sip' }> => t.kind === 'sip');
    const aiReady = aiTargets.length > 0 && this.opts.appOf('ai') !== undefined && this.opts.aiSlots.available >= 1;
    if (!w || w.state !== 'waiting' || (!aiReady && sipTargets.length === 0)) {
      for (const t of d.plan.targets) service.release(d.queue.id, t.id);
      void service.requeue(d.entry).then((back) => {
        // A caller of this instance who vanished without leaving (its end raced the take) leaves now.
        if (back && !w && d.entry.instanceId === this.opts.instanceId) void service.leave(d.entry.callId);
      });
      return false;
    }
    w.entry = d.entry;
    w.state = 'offered';
    if (aiReady) {
      const target = aiTargets[0];
      for (const t of d.plan.targets) if (t !== target) service.release(d.queue.id, t.id);
      this.opts.aiSlots.tryAcquire(w.ctx.callId);
      this.connectAi(w, target.id, () => service.release(d.queue.id, target.id));
      return true;
    }
    for (const t of aiTargets) service.release(d.queue.id, t.id);
    void this.ring(w, sipTargets, d.plan.parallel, (t) => service.release(d.queue.id, t.id)).then(async (answered) => {
      if (!answered) await this.backInLine(w);
    });
    return true;
  }

  /** The AI takes over the caller; the slot and the target are freed when the call ends. */
  private connectAi(w: Waiter, targetId: string, releaseTarget?: () => void): void {
    const app = this.opts.appOf('ai');
    const { ctx } = w;
    w.state = 'connected';
    w.audioSeq++;
    w.stopWatch();
    this.waiters.delete(ctx.callId);
    w.offEnd();
    ctx.note('queue.connected', { queue: w.queue.name, target: targetId, kind: 'ai', waited_s: this.waitedS(w) });
    ctx.onEnd(() => {
      this.opts.aiSlots.release(ctx.callId);
      releaseTarget?.();
      this.pump(w.queue.id);
    });
    if (!ctx.media.isClosed) ctx.media.stop();
    if (!app) {
      ctx.hangup('queue-ai-unavailable');
      return;
    }
    Promise.resolve()
      .then(() => app.start({ ...ctx, route: { kind: 'ai' } }))
      .catch(() => ctx.hangup('app-error'));
  }

  /**
   * Ring SIP targets for the caller (all at once, or one after the other) while it keeps hearing music; the first
   * to answer is bridged to it. Resolves whether someone answered. `release` frees a target that is done.
   */
  private async ring(
    w: Waiter,
    targets: readonly Extract<QueueTarget, { kind: 'sip' }>[],
    parallel: boolean,
    release: (t: QueueTarget) => void = () => undefined,
  ): Promise<boolean> {
    const order = parallel ? [targets] : targets.map((t) => [t]);
    for (const group of order) {
      if (w.state !== 'offered') {
        for (const t of targets) release(t);
        return w.state === 'connected';
      }
      const attempts = group.map((t) => this.dial(w, t));
      const winner = await firstAnswered(attempts.map((a) => a.answered));
      for (let i = 0; i < group.length; i++) {
        if (winner?.index === i) continue;
        attempts[i].cancel();
        release(group[i]);
      }
      if (winner) {
        const target = group[winner.index];
        const rest = order.slice(order.indexOf(group) + 1).flat();
        for (const t of rest) release(t);
        const ok = this.bridge(w, target, winner.call, () => release(target));
        if (!ok) release(target);
        return ok;
      }
    }
    return false;
  }

  /** Originate one ring attempt: resolves with the agent's call once answered, undefined when it ended first. */
  private dial(w: Waiter, target: Extract<QueueTarget, { kind: 'sip' }>): { answered: Promise<Call | undefined>; cancel: () => void } {
    let callId: string | undefined;
    let cancelled = false;
    const answered = (async (): Promise<Call | undefined> => {
      let info: ActiveCallInfo;
      try {
        info = await this.opts.calls.originate({
          from: w.ctx.from,
          to: target.uri,
          route: 'answer',
          timeoutS: this.opts.ringTimeoutS ?? 20,
          headers: [['X-Queue', w.queue.name]],
        });
      } catch (err) {
        w.ctx.note('queue.ring_failed', { queue: w.queue.name, target: target.id, error: err instanceof Error ? err.message : String(err) });
        return undefined;
      }
      callId = info.callId;
      const call = this.opts.calls.call(info.callId);
      if (!call || call.isEnded) return undefined;
      if (cancelled || w.state !== 'offered') {
        this.opts.calls.hangup(info.callId, 'queue-caller-gone');
        return undefined;
      }
      w.ringing.add(info.callId);
      w.ctx.note('queue.ringing', { queue: w.queue.name, target: target.id, target_call: info.callId });
      return new Promise<Call | undefined>((resolve) => {
        const onState = (_from: string, to: string): void => {
          if (to === 'answered') done(call);
        };
        const onEnded = (): void => done(undefined);
        const done = (v: Call | undefined): void => {
          call.off('statechange', onState);
          call.off('ended', onEnded);
          w.ringing.delete(info.callId);
          resolve(v);
        };
        call.on('statechange', onState);
        call.once('ended', onEnded);
        if (call.isAnswered) done(call);
      });
    })();
    return {
      answered,
      cancel: () => {
        cancelled = true;
        if (callId !== undefined) this.opts.calls.hangup(callId, 'queue-answered-elsewhere');
      },
    };
  }

  /** Connect the caller's audio with the agent's; each call's end ends the other. */
  private bridge(w: Waiter, target: QueueTarget, agent: Call, release: () => void): boolean {
    const { ctx } = w;
    const agentMedia = agent.a.media;
    if (w.state !== 'offered' || ctx.media.isClosed || !agentMedia || agentMedia.isClosed || agent.isEnded) {
      if (!agent.isEnded) this.opts.calls.hangup(agent.id, 'queue-caller-gone');
      return false;
    }
    w.state = 'connected';
    w.audioSeq++;
    w.stopWatch();
    w.offEnd();
    this.waiters.delete(ctx.callId);
    ctx.media.stop();
    agentMedia.stop();
    ctx.media.connect(agentMedia);
    ctx.note('queue.connected', { queue: w.queue.name, target: target.id, kind: 'sip', target_call: agent.id, waited_s: this.waitedS(w) });
    agent.note('queue.connected', { queue: w.queue.name, caller_call: ctx.callId });
    const offCaller = ctx.onEnd(() => {
      if (!agent.isEnded) this.opts.calls.hangup(agent.id, 'queue-caller-hangup');
    });
    agent.once('ended', () => {
      offCaller();
      release();
      this.pump(w.queue.id);
      ctx.hangup('queue-target-hangup');
    });
    return true;
  }

  /** Nobody took the caller: back to its place in line, music on, offered again after a pause. */
  private async backInLine(w: Waiter): Promise<void> {
    if (w.state !== 'offered') return;
    const back = await this.opts.service.requeue(w.entry);
    if (w.state !== 'offered') {
      // The caller hung up meanwhile: leave the line again.
      if (back) void this.opts.service.leave(w.ctx.callId);
      return;
    }
    if (!back) {
      w.state = 'done';
      this.waiters.delete(w.ctx.callId);
      w.ctx.note('queue.error', { queue: w.queue.name, error: 'could not return to the line' });
      w.ctx.hangup('queue-error');
      return;
    }
    w.entry = back;
    w.state = 'waiting';
    w.ctx.note('queue.requeued', { queue: w.queue.name });
    this.watch(w);
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(timer);
      this.pump(w.queue.id);
    }, this.opts.retryDelayMs ?? 5000);
    this.timers.add(timer);
  }

  private waitedS(w: Waiter): number {
    return Math.round((this.clock.now() - w.joinedAt) / 100) / 10;
  }
}

/** The first promise to resolve with a call, with its index; undefined when all resolve empty. */
function firstAnswered(list: readonly Promise<Call | undefined>[]): Promise<{ index: number; call: Call } | undefined> {
  return new Promise((resolve) => {
    let pending = list.length;
    if (pending === 0) resolve(undefined);
    list.forEach((p, index) => {
      void p.then((call) => {
        if (call) resolve({ index, call });
        else if (--pending === 0) resolve(undefined);
      });
    });
  });
}

import { InvalidStateError, systemClock, type Clock, type TimerHandle } from '../../util';
import type { IvrCallPort, IvrEventData } from './ivr-call-port';
import {
  ivrWebhookAnswerSchema,
  maxOptionLength,
  type IvrAction,
  type IvrCollectAction,
  type IvrMenu,
  type IvrMenuSet,
  type IvrPrompt,
  type IvrRouteAction,
} from './ivr-menu';
import type { IvrPromptResolver } from './ivr-prompt-renderer';
import type { IvrWebhookClient } from './ivr-webhook-client';

/** How a session ended. */
export type IvrOutcome =
  /** The call was handed over (`route` was called on the port). */
  | { kind: 'route'; action: IvrRouteAction; menu: string }
  /** The IVR hung up (a hangup action, or a menu loop cut short). */
  | { kind: 'hangup'; menu: string; reason: 'action' | 'loop' }
  /** The caller hung up, or `cancel()` was called. */
  | { kind: 'cancelled'; menu: string | null };

export interface IvrSessionOptions {
  port: IvrCallPort;
  menus: IvrMenuSet;
  prompts: IvrPromptResolver;
  clock?: Clock;
  /** Needed by collect actions; without it a collect takes its error action. */
  webhook?: IvrWebhookClient;
  /** Caller and dialled numbers, passed to webhooks. */
  from?: string;
  to?: string;
  /**
   * Most actions one session may take (default 200): a menu set whose default actions point at each
   * other would otherwise keep a silent caller on the line forever.
   */
  maxSteps?: number;
  /** Digits kept while nobody reads them (type-ahead), default 32; more are dropped. */
  maxBufferedDigits?: number;
}

/** Thrown inside the session to unwind when the caller hangs up; never escapes `run`. */
const CANCELLED = Symbol('ivr-cancelled');

interface DigitWaiter {
  resolve(digit: string | undefined): void;
  timer: TimerHandle | undefined;
}

type Step = { next: 'menu'; menu: IvrMenu; push: boolean } | { next: 'repeat' } | { next: 'end'; outcome: IvrOutcome };

/**
 * Runs a caller through a set of menus over an `IvrCallPort`, on an injected clock. The first key pressed
 * during a prompt stops it (barge-in) and counts as input; keys pressed ahead of a prompt skip it. A
 * timeout or a wrong key replays the prompt after the timeout/invalid prompt, up to `maxRetries` times,
 * then takes the menu's timeout or default action. Every step is reported with `port.event` (types
 * `ivr.*`), so the caller's path can be read back from call_events.
 */
export class IvrSession {
  private readonly port: IvrCallPort;
  private readonly clock: Clock;
  private readonly maxSteps: number;
  private readonly maxBuffered: number;
  private buffer = '';
  private waiter: DigitWaiter | undefined;
  private playing = false;
  private cancelled = false;
  private started = false;
  private steps = 0;
  private current: IvrMenu | undefined;
  private readonly path: string[] = [];
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: IvrSessionOptions) {
    this.port = options.port;
    this.clock = options.clock ?? systemClock;
    this.maxSteps = options.maxSteps ?? 200;
    this.maxBuffered = options.maxBufferedDigits ?? 32;
  }

  /** Menus visited, oldest first. */
  get visited(): readonly string[] {
    return this.path;
  }

  /**
   * Run from `menu` (default: the set's root) until the call is routed, hung up or cancelled. Never
   * rejects for caller behaviour or webhook failures; rejects with InvalidStateError if run twice.
   */
  async run(menu?: string): Promise<IvrOutcome> {
    if (this.started) throw new InvalidStateError('an IvrSession runs once');
    this.started = true;
    const root = this.options.menus.get(menu ?? this.options.menus.root);
    if (!root) throw new TypeError(`unknown IVR menu ${JSON.stringify(menu)}`);
    this.unsubscribe = this.port.onDigit((d) => this.onDigit(d));
    this.emit('ivr.start', { menu: root.name });
    let outcome: IvrOutcome;
    try {
      outcome = await this.loop(root);
    } catch (err) {
      if (err !== CANCELLED) throw err;
      outcome = { kind: 'cancelled', menu: this.current?.name ?? null };
    } finally {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
      this.settleWaiter(undefined);
    }
    this.emit('ivr.end', { outcome: outcome.kind, menu: outcome.menu, steps: this.steps });
    return outcome;
  }

  /** The caller hung up (or call control takes the call away): stop at once, play nothing more. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    if (this.playing) this.port.stopPlayback();
    this.settleWaiter(undefined);
  }

  private async loop(root: IvrMenu): Promise<IvrOutcome> {
    const stack: IvrMenu[] = [];
    let menu = root;
    let retries = 0;
    this.enter(menu);
    for (;;) {
      await this.play(menu.prompt, menu, 'prompt');
      const input = await this.readOption(menu);
      let action: IvrAction;
      if (input === '') {
        this.emit('ivr.timeout', { menu: menu.name, retry: retries });
        if (retries >= menu.maxRetries) {
          action = menu.timeoutAction ?? menu.defaultAction;
          this.emit('ivr.retries', { menu: menu.name, after: 'timeout', action: action.type });
        } else {
          retries++;
          if (menu.timeoutPrompt) await this.play(menu.timeoutPrompt, menu, 'timeout');
          continue;
        }
      } else {
        const chosen = menu.options[input] as IvrAction | undefined;
        if (chosen === undefined) {
          this.emit('ivr.invalid', { menu: menu.name, input, retry: retries });
          if (retries >= menu.maxRetries) {
            action = menu.defaultAction;
            this.emit('ivr.retries', { menu: menu.name, after: 'invalid', action: action.type });
          } else {
            retries++;
            // Keys pressed over a wrong entry belong to it, not to the next attempt.
            this.buffer = '';
            if (menu.invalidPrompt) await this.play(menu.invalidPrompt, menu, 'invalid');
            continue;
          }
        } else {
          action = chosen;
          this.emit('ivr.option', { menu: menu.name, input, action: action.type });
        }
      }
      const step = await this.execute(action, menu, stack);
      if (step.next === 'end') return step.outcome;
      retries = 0;
      if (step.next === 'menu') {
        if (step.push) stack.push(menu);
        menu = step.menu;
        this.enter(menu);
      } else {
        this.emit('ivr.repeat', { menu: menu.name });
      }
    }
  }

  private enter(menu: IvrMenu): void {
    this.current = menu;
    this.path.push(menu.name);
    this.emit('ivr.menu', { menu: menu.name, depth: this.path.length });
  }

  /** Take an action; collect actions chain into the webhook's answer. */
  private async execute(first: IvrAction, menu: IvrMenu, stack: IvrMenu[]): Promise<Step> {
    let action: IvrAction = first;
    for (;;) {
      this.checkCancelled();
      if (++this.steps > this.maxSteps) {
        this.emit('ivr.loop', { menu: menu.name, steps: this.steps - 1 });
        await this.port.hangup();
        return { next: 'end', outcome: { kind: 'hangup', menu: menu.name, reason: 'loop' } };
      }
      switch (action.type) {
        case 'menu': {
          const target = this.options.menus.get(action.menu);
          // IvrMenuSet validated every reference; a missing one here means a set was swapped underneath.
          if (!target) return { next: 'repeat' };
          this.emit('ivr.goto', { from: menu.name, to: target.name });
          return { next: 'menu', menu: target, push: true };
        }
        case 'back': {
          const previous = stack.pop();
          if (!previous) return { next: 'repeat' };
          this.emit('ivr.back', { from: menu.name, to: previous.name });
          return { next: 'menu', menu: previous, push: false };
        }
        case 'repeat':
          return { next: 'repeat' };
        case 'hangup':
          if (action.prompt) await this.play(action.prompt, menu, 'goodbye', false);
          this.checkCancelled();
          this.emit('ivr.hangup', { menu: menu.name });
          await this.port.hangup();
          return { next: 'end', outcome: { kind: 'hangup', menu: menu.name, reason: 'action' } };
        case 'collect':
          action = await this.collect(action, menu);
          continue;
        default:
          this.emit('ivr.route', { menu: menu.name, ...routeData(action) });
          await this.port.route(action);
          return { next: 'end', outcome: { kind: 'route', action, menu: menu.name } };
      }
    }
  }

  /** Collect digits, POST them, and return the action the webhook's answer picks (or the error action). */
  private async collect(action: IvrCollectAction, menu: IvrMenu): Promise<IvrAction> {
    const min = action.minDigits ?? action.digits;
    const firstMs = (action.timeoutS ?? menu.timeoutS) * 1000;
    const nextMs = (action.interDigitTimeoutS ?? menu.interDigitTimeoutS) * 1000;
    let digits: string;
    for (let attempt = 0; ; attempt++) {
      this.checkCancelled();
      if (action.prompt) await this.play(action.prompt, menu, 'collect');
      digits = await this.readDigits(action.digits, action.terminator, firstMs, nextMs);
      if (digits.length >= min) break;
      this.emit(digits === '' ? 'ivr.timeout' : 'ivr.invalid', { menu: menu.name, input: digits, retry: attempt, collect: true });
      if (attempt >= menu.maxRetries) {
        const fallback = action.onError ?? menu.defaultAction;
        this.emit('ivr.retries', { menu: menu.name, after: 'collect', action: fallback.type });
        return fallback;
      }
      this.buffer = '';
      const retryPrompt = digits === '' ? menu.timeoutPrompt : menu.invalidPrompt;
      if (retryPrompt) await this.play(retryPrompt, menu, digits === '' ? 'timeout' : 'invalid');
    }
    this.emit('ivr.collect', { menu: menu.name, digits });
    const fallback = action.onError ?? menu.defaultAction;
    const client = this.options.webhook;
    if (!client) {
      this.emit('ivr.webhook_error', { menu: menu.name, url: action.webhook, error: 'no webhook client configured', action: fallback.type });
      return fallback;
    }
    let answer: unknown;
    try {
      answer = await client.post(action.webhook, {
        callId: this.port.callId,
        menu: menu.name,
        digits,
        from: this.options.from ?? null,
        to: this.options.to ?? null,
        path: [...this.path],
      });
    } catch (err) {
      this.checkCancelled();
      this.emit('ivr.webhook_error', { menu: menu.name, url: action.webhook, error: err instanceof Error ? err.message : String(err), action: fallback.type });
      return fallback;
    }
    this.checkCancelled();
    const parsed = ivrWebhookAnswerSchema.safeParse(answer);
    const next = parsed.success ? ('action' in parsed.data ? parsed.data.action : parsed.data) : undefined;
    if (next === undefined || (next.type === 'menu' && !this.options.menus.has(next.menu))) {
      this.emit('ivr.webhook_error', { menu: menu.name, url: action.webhook, error: 'answer is not a valid IVR action', action: fallback.type });
      return fallback;
    }
    this.emit('ivr.webhook', { menu: menu.name, url: action.webhook, action: next.type });
    return next;
  }

  /**
   * Read the keys of one option. Entry ends when the keys match an option no longer key extends, when
   * they cannot start any option, at the longest key length, on `#` (unless an option continues with it),
   * or when the inter-digit timeout passes. '' means nothing was pressed in time.
   */
  private async readOption(menu: IvrMenu): Promise<string> {
    const first = await this.nextDigit(menu.timeoutS * 1000);
    if (first === undefined) return '';
    const keys = Object.keys(menu.options);
    const longest = maxOptionLength(menu);
    let input = first;
    while (input.length < longest) {
      const prefix = input;
      if (!keys.some((k) => k.length > prefix.length && k.startsWith(prefix))) break;
      const d = await this.nextDigit(menu.interDigitTimeoutS * 1000);
      if (d === undefined) break;
      if (d === '#' && !keys.some((k) => k.startsWith(prefix + '#'))) break;
      input += d;
    }
    this.emit('ivr.input', { menu: menu.name, input });
    return input;
  }

  /** Read up to `max` digits, ending early on the terminator or a timeout. */
  private async readDigits(max: number, terminator: string | null, firstMs: number, nextMs: number): Promise<string> {
    let digits = '';
    while (digits.length < max) {
      const d = await this.nextDigit(digits === '' ? firstMs : nextMs);
      if (d === undefined || d === terminator) break;
      digits += d;
    }
    return digits;
  }

  /** Play a prompt; skipped when keys are already waiting (type-ahead), never fatal. */
  private async play(prompt: IvrPrompt, menu: IvrMenu, kind: string, bargeIn = true): Promise<void> {
    this.checkCancelled();
    if (bargeIn && this.buffer.length > 0) {
      this.emit('ivr.prompt', { menu: menu.name, kind, skipped: true });
      return;
    }
    let file: string;
    try {
      file = await this.options.prompts.resolve(prompt);
    } catch (err) {
      this.checkCancelled();
      // A caller without the prompt can still press keys; dropping the call would be worse.
      this.emit('ivr.prompt_error', { menu: menu.name, kind, error: err instanceof Error ? err.message : String(err) });
      return;
    }
    this.checkCancelled();
    if (bargeIn && this.buffer.length > 0) {
      // Keys arrived while the prompt was being fetched or rendered.
      this.emit('ivr.prompt', { menu: menu.name, kind, skipped: true });
      return;
    }
    this.emit('ivr.prompt', { menu: menu.name, kind, file });
    this.playing = bargeIn;
    try {
      const end = await this.port.play(file);
      if (end === 'interrupted' && !this.cancelled) this.emit('ivr.prompt_end', { menu: menu.name, kind, interrupted: true });
    } catch (err) {
      this.emit('ivr.prompt_error', { menu: menu.name, kind, file, error: err instanceof Error ? err.message : String(err) });
    } finally {
      this.playing = false;
    }
    this.checkCancelled();
  }

  private onDigit(digit: string): void {
    if (this.cancelled || !this.started) return;
    const d = digit.toUpperCase();
    if (!/^[0-9*#A-D]$/.test(d)) return;
    this.emit('ivr.digit', { digit: d, menu: this.current?.name ?? null });
    if (this.playing) {
      // Barge-in: the first key stops the prompt and is the start of the answer.
      this.playing = false;
      this.emit('ivr.bargein', { menu: this.current?.name ?? null, digit: d });
      this.port.stopPlayback();
    }
    if (this.waiter) this.settleWaiter(d);
    else if (this.buffer.length < this.maxBuffered) this.buffer += d;
  }

  private nextDigit(timeoutMs: number): Promise<string | undefined> {
    this.checkCancelled();
    if (this.buffer.length > 0) {
      const d = this.buffer[0];
      this.buffer = this.buffer.slice(1);
      return Promise.resolve(d);
    }
    return new Promise<string | undefined>((resolve) => {
      const waiter: DigitWaiter = { resolve, timer: undefined };
      waiter.timer = this.clock.setTimeout(() => {
        if (this.waiter === waiter) this.settleWaiter(undefined);
      }, timeoutMs);
      this.waiter = waiter;
    }).then((d) => {
      this.checkCancelled();
      return d;
    });
  }

  private settleWaiter(digit: string | undefined): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    this.clock.clearTimeout(w.timer);
    w.resolve(digit);
  }

  private checkCancelled(): void {
    if (this.cancelled) throw CANCELLED;
  }

  private emit(type: string, data: IvrEventData): void {
    try {
      this.port.event(type, data);
    } catch {
      // The event trail is best effort; a failing recorder must not break the caller's menu.
    }
  }
}

function routeData(action: IvrRouteAction): IvrEventData {
  switch (action.type) {
    case 'ai':
      return { to: 'ai' };
    case 'queue':
      return action.priority === undefined ? { to: 'queue', queue: action.queue } : { to: 'queue', queue: action.queue, priority: action.priority };
    case 'number':
      return { to: 'number', number: action.number };
    case 'extension':
      return { to: 'extension', extension: action.extension };
  }
}

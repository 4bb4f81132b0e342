import type { IvrCallPort, IvrEventData, IvrPlaybackEnd, IvrPrompt, IvrPromptResolver, IvrRouteAction } from '../../../../src/call/ivr';
import type { TimerHandle, VirtualClock } from '../../../../src/util';

/** A call as the IVR sees it: prompts take `promptMs` of virtual time, keys are pressed by the test. */
export class FakeIvrPort implements IvrCallPort {
  readonly callId = 'ivr-call-1@test';
  readonly played: string[] = [];
  readonly events: { type: string; data: IvrEventData }[] = [];
  readonly routed: IvrRouteAction[] = [];
  hangups = 0;
  stops = 0;
  private listener: ((digit: string) => void) | undefined;
  private current: { resolve(end: IvrPlaybackEnd): void; timer: TimerHandle } | undefined;

  constructor(
    private readonly clock: VirtualClock,
    private readonly promptMs = 2000,
  ) {}

  get isPlaying(): boolean {
    return this.current !== undefined;
  }

  get subscribed(): boolean {
    return this.listener !== undefined;
  }

  play(file: string): Promise<IvrPlaybackEnd> {
    this.played.push(file);
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.current = undefined;
        resolve('finished');
      }, this.promptMs);
      this.current = { resolve, timer };
    });
  }

  stopPlayback(): void {
    this.stops++;
    const c = this.current;
    if (!c) return;
    this.current = undefined;
    this.clock.clearTimeout(c.timer);
    c.resolve('interrupted');
  }

  onDigit(listener: (digit: string) => void): () => void {
    this.listener = listener;
    return () => {
      if (this.listener === listener) this.listener = undefined;
    };
  }

  press(keys: string): void {
    for (const k of keys) this.listener?.(k);
  }

  hangup(): void {
    this.hangups++;
  }

  route(action: IvrRouteAction): void {
    this.routed.push(action);
  }

  event(type: string, data: IvrEventData): void {
    this.events.push({ type, data });
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }
}

/** Prompts as readable names: a file as itself, text as `tts:<text>`. */
export const namePrompts: IvrPromptResolver = {
  resolve(prompt: IvrPrompt): Promise<string> {
    if (typeof prompt === 'string') return Promise.resolve(prompt);
    if ('file' in prompt) return Promise.resolve(prompt.file);
    return Promise.resolve(`tts:${prompt.text}`);
  },
};

/** Let pending promise chains run (the session awaits between steps). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Advance virtual time in small steps, letting the session react between them. */
export async function tick(clock: VirtualClock, ms: number, step = 50): Promise<void> {
  await flush();
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await flush();
  }
}

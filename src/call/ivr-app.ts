import type { IvrMenuRecord } from '../store';
import type { CallApp, CallAppContext } from './call-app';
import type { CdrDirection } from './call-store';
import {
  IvrSession,
  ivrMenuSetFromRecords,
  type IvrCallPort,
  type IvrEventData,
  type IvrMenuSet,
  type IvrPlaybackEnd,
  type IvrPromptResolver,
  type IvrRouteAction,
  type IvrWebhookClient,
} from './ivr';
import type { RouteSpec } from './route-spec';

/** Where the IVR reads its menus (IvrMenuRepository implements it). */
export interface IvrMenuSource {
  list(): Promise<IvrMenuRecord[]>;
}

/** What the IVR hands a call to when a menu routes it out: the AI app and queues of this server. */
export interface IvrHandoff {
  /** The registered app of a route kind (CallManager.appOf). */
  appOf(kind: 'ai' | 'queue'): CallApp | undefined;
  /**
   * A queue entered with a priority the menu chose: the queue app's own entry point (QueueCallApp.join). Without
   * it the queue app's start() runs and the queue's own priority rules apply.
   */
  joinQueue?(ctx: CallAppContext, queue: string, priority: number | undefined): Promise<void>;
  /** SIP URI of a local extension (a registered user); undefined = not reachable. */
  resolveExtension?(extension: string): Promise<string | undefined>;
}

export interface IvrAppLogger {
  warn(obj: object, msg?: string): void;
}

export interface IvrCallAppOptions {
  menus: IvrMenuSource;
  prompts: IvrPromptResolver;
  handoff: IvrHandoff;
  webhook?: IvrWebhookClient;
  logger?: IvrAppLogger;
  /** Most actions one caller may take (IvrSession maxSteps). */
  maxSteps?: number;
}

/** The event data of an IVR step as a call_events payload (arrays become comma-separated text). */
function eventData(data: IvrEventData): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(data)) out[k] = Array.isArray(v) ? v.join(',') : (v as string | number | boolean | null);
  return out;
}

/** Find the menu a route names: by id (numbers.ivr_menu_id) or by name (`ivr:main`). */
function rootOf(rows: readonly IvrMenuRecord[], ref: string): IvrMenuRecord | undefined {
  return rows.find((r) => r.id === ref) ?? rows.find((r) => r.name === ref);
}

/**
 * The `ivr:<menu>` route: runs an IvrSession on an answered call. The port plays prompts on the caller's media
 * session, stops them at the first key (barge-in), takes DTMF from every source call control merges (RFC 4733,
 * in-band, SIP INFO), writes every step as a call event, and hands the call on when a menu routes it: to the AI
 * app, a queue, an outside number or a local extension (a transfer by call control).
 */
export class IvrCallApp implements CallApp {
  readonly side = 'system' as const;
  private readonly sessions = new Map<string, IvrSession>();

  constructor(private readonly opts: IvrCallAppOptions) {}

  /** Calls in a menu now. */
  get active(): number {
    return this.sessions.size;
  }

  /** Refuse the call (480) before answering when its menu does not exist or the menu set is invalid. */
  async prepare(info: { callId: string; from: string; to: string; route: RouteSpec; direction: CdrDirection }): Promise<boolean> {
    if (info.route.kind !== 'ivr') return false;
    const loaded = await this.load(info.route.id).catch(() => undefined);
    if (!loaded) this.opts.logger?.warn({ callId: info.callId, menu: info.route.id }, 'IVR menu missing or invalid: refusing the call');
    return loaded !== undefined;
  }

  async start(ctx: CallAppContext): Promise<void> {
    const route = ctx.route;
    if (route.kind !== 'ivr') throw new TypeError(`IvrCallApp serves ivr routes, got ${route.kind}`);
    // Keys pressed while the menus load are kept for the session (a caller who knows the menu types ahead).
    const early: string[] = [];
    const offEarly = ctx.onDtmf((digit) => {
      if (early.length < 32) early.push(digit);
    });
    const loaded = await this.load(route.id).finally(() => offEarly());
    if (!loaded) {
      ctx.note('ivr.error', { menu: route.id, error: 'menu not found or invalid' });
      ctx.hangup('ivr-menu-missing');
      return;
    }
    const session = new IvrSession({
      port: this.portOf(ctx, early),
      menus: loaded.set,
      prompts: this.opts.prompts,
      webhook: this.opts.webhook,
      from: ctx.from,
      to: ctx.to,
      maxSteps: this.opts.maxSteps,
    });
    this.sessions.set(ctx.callId, session);
    const offEnd = ctx.onEnd(() => session.cancel());
    try {
      await session.run(loaded.root);
    } finally {
      offEnd();
      this.sessions.delete(ctx.callId);
    }
  }

  /** Every stored menu validated as one set (sub-menus reference each other by name), rooted at `ref`. */
  private async load(ref: string): Promise<{ set: IvrMenuSet; root: string } | undefined> {
    const rows = await this.opts.menus.list();
    const root = rootOf(rows, ref);
    if (!root) return undefined;
    const parsed = ivrMenuSetFromRecords(rows, root.name);
    if (!parsed.ok) {
      this.opts.logger?.warn({ menu: ref, issues: parsed.issues.slice(0, 5) }, 'stored IVR menus do not validate');
      return undefined;
    }
    return { set: parsed.set, root: root.name };
  }

  private portOf(ctx: CallAppContext, early: string[]): IvrCallPort {
    const media = ctx.media;
    return {
      callId: ctx.callId,
      play: async (file: string): Promise<IvrPlaybackEnd> => {
        if (media.isClosed) return 'interrupted';
        const result = await media.play(file);
        return result === 'finished' ? 'finished' : 'interrupted';
      },
      stopPlayback: () => {
        if (!media.isClosed) media.stop();
      },
      onDigit: (listener) => {
        const off = ctx.onDtmf((digit) => listener(digit));
        for (const d of early.splice(0)) listener(d);
        return off;
      },
      hangup: () => ctx.hangup('ivr-hangup'),
      route: (action) => this.route(ctx, action),
      event: (type, data) => ctx.note(type, eventData(data)),
    };
  }

  /** Hand the call on; a failed hand-over is noted and the call ended (the caller is not left in silence). */
  private async route(ctx: CallAppContext, action: IvrRouteAction): Promise<void> {
    const fail = (error: string): void => {
      ctx.note('ivr.route_failed', { to: action.type, error });
      ctx.hangup('ivr-route-failed');
    };
    const { handoff } = this.opts;
    switch (action.type) {
      case 'ai': {
        const app = handoff.appOf('ai');
        if (!app) return fail('the AI route is not available');
        // The AI app gets the same call; its route now says ai (call_start and CDR notes follow it).
        void Promise.resolve()
          .then(() => app.start({ ...ctx, route: { kind: 'ai' } }))
          .catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
        return;
      }
      case 'queue': {
        if (handoff.joinQueue) {
          void handoff.joinQueue(ctx, action.queue, action.priority).catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
          return;
        }
        const app = handoff.appOf('queue');
        if (!app) return fail('the queue route is not available');
        void Promise.resolve()
          .then(() => app.start({ ...ctx, route: { kind: 'queue', id: action.queue } }))
          .catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
        return;
      }
      case 'number': {
        const ok = await ctx.transfer(action.number, 'blind').catch(() => false);
        if (!ok) fail(`transfer to ${action.number} failed`);
        return;
      }
      case 'extension': {
        const uri = handoff.resolveExtension ? await handoff.resolveExtension(action.extension).catch(() => undefined) : undefined;
        if (uri === undefined) return fail(`extension ${action.extension} is not reachable`);
        const ok = await ctx.transfer(uri, 'blind').catch(() => false);
        if (!ok) fail(`transfer to extension ${action.extension} failed`);
        return;
      }
    }
  }
}

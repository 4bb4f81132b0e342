import { z } from 'zod';

/**
 * IVR menus as data. A menu is a prompt, what each key sequence does, and how to handle silence and wrong
 * keys; menus reference each other by name, so a set of menus is a graph stored one row per menu
 * (ivr_menus) or shipped as one JSON document. Every schema here is strict: an unknown field is an error,
 * so a misspelt `timeoutS` does not silently become the default.
 */

/** Key sequences of a menu option: DTMF symbols (RFC 4733 §3.2 events 0-15: 0-9 * # A-D), 1 to 8 of them. */
export const IVR_KEY_PATTERN = /^[0-9*#A-D]{1,8}$/;
const MENU_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;
const DIALLED_NUMBER = /^\+?[0-9*#]{1,32}$/;
const EXTENSION = /^[A-Za-z0-9_.+*#-]{1,64}$/;
const VOICE = /^[A-Za-z0-9_+-]{1,40}$/;

/**
 * What to play: a WAV file (a plain string, or `{ file }`; relative paths are resolved against the prompt
 * directory), or text rendered to speech by the configured TTS command and cached.
 */
export const ivrPromptSchema = z.union([
  z.string().min(1).max(1024),
  z.object({ file: z.string().min(1).max(1024) }).strict(),
  z.object({ text: z.string().trim().min(1).max(2000), voice: z.string().regex(VOICE).optional() }).strict(),
]);
export type IvrPrompt = z.infer<typeof ivrPromptSchema>;

const httpUrl = z
  .string()
  .max(2048)
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');

const aiRoute = z.object({ type: z.literal('ai'), settings: z.record(z.string(), z.unknown()).optional() }).strict();
const queueRoute = z
  .object({ type: z.literal('queue'), queue: z.string().min(1).max(100), priority: z.number().int().min(-1000).max(1000).optional() })
  .strict();
const numberRoute = z.object({ type: z.literal('number'), number: z.string().regex(DIALLED_NUMBER) }).strict();
const extensionRoute = z.object({ type: z.literal('extension'), extension: z.string().regex(EXTENSION) }).strict();

/** Actions that take the call out of the IVR: to the AI, a queue, an outside number or a local extension. */
export const ivrRouteActionSchema = z.discriminatedUnion('type', [aiRoute, queueRoute, numberRoute, extensionRoute]);
export type IvrRouteAction = z.infer<typeof ivrRouteActionSchema>;

const menuAction = z.object({ type: z.literal('menu'), menu: z.string().regex(MENU_NAME) }).strict();
const repeatAction = z.object({ type: z.literal('repeat') }).strict();
const backAction = z.object({ type: z.literal('back') }).strict();
const hangupAction = z.object({ type: z.literal('hangup'), prompt: ivrPromptSchema.optional() }).strict();

/** Every action except `collect` (what a collect falls back to when the webhook fails). */
export const ivrSimpleActionSchema = z.discriminatedUnion('type', [aiRoute, queueRoute, numberRoute, extensionRoute, menuAction, repeatAction, backAction, hangupAction]);
export type IvrSimpleAction = z.infer<typeof ivrSimpleActionSchema>;

const collectAction = z
  .object({
    type: z.literal('collect'),
    /** Digits to collect (the most); entry ends early on the terminator. */
    digits: z.number().int().min(1).max(32),
    /** Fewest digits accepted when the terminator or the inter-digit timeout ends entry (default: `digits`). */
    minDigits: z.number().int().min(1).max(32).optional(),
    /** Key ending entry early, not part of the digits (default `#`; null: none). */
    terminator: z.enum(['#', '*']).nullable().default('#'),
    prompt: ivrPromptSchema.optional(),
    /** Seconds to wait for the first digit (default: the menu's timeoutS). */
    timeoutS: z.number().int().positive().max(120).optional(),
    /** Seconds to wait between digits (default: the menu's interDigitTimeoutS). */
    interDigitTimeoutS: z.number().int().positive().max(60).optional(),
    /** Receives the digits as JSON; its JSON answer (`{ "action": ... }`) picks the next action. */
    webhook: httpUrl,
    /** Taken when the webhook fails or answers nonsense (default: the menu's defaultAction). */
    onError: ivrSimpleActionSchema.optional(),
  })
  .strict()
  .refine((c) => c.minDigits === undefined || c.minDigits <= c.digits, { message: 'minDigits must not exceed digits', path: ['minDigits'] });

/** What a key sequence (or a timeout, or the webhook) does. */
export const ivrActionSchema = z.union([ivrSimpleActionSchema, collectAction]);
export type IvrAction = z.infer<typeof ivrActionSchema>;
export type IvrCollectAction = z.infer<typeof collectAction>;

/** The answer of a collect webhook: `{ "action": <action> }` or the bare action. */
export const ivrWebhookAnswerSchema = z.union([z.object({ action: ivrActionSchema }).loose(), ivrActionSchema]);

export const ivrMenuSchema = z
  .object({
    name: z.string().regex(MENU_NAME),
    prompt: ivrPromptSchema,
    /** Played after a key sequence no option matches, before the prompt is repeated. */
    invalidPrompt: ivrPromptSchema.optional(),
    /** Played when nothing was pressed, before the prompt is repeated. */
    timeoutPrompt: ivrPromptSchema.optional(),
    /** Seconds to wait for the first key after the prompt (default 5). */
    timeoutS: z.number().int().positive().max(120).default(5),
    /** Seconds to wait for each further key of a multi-key option (default 3). */
    interDigitTimeoutS: z.number().int().positive().max(60).default(3),
    /** Repeats after a timeout or a wrong key before the default action (default 3). */
    maxRetries: z.number().int().min(0).max(20).default(3),
    options: z.record(z.string().regex(IVR_KEY_PATTERN, 'option keys are 1 to 8 DTMF symbols'), ivrActionSchema).default({}),
    /** Taken when the retries are used up (default: hang up). */
    defaultAction: ivrActionSchema.default({ type: 'hangup' }),
    /** Taken instead of defaultAction when the retries ran out on silence (default: defaultAction). */
    timeoutAction: ivrActionSchema.optional(),
  })
  .strict();

/** A validated menu (defaults applied). */
export type IvrMenu = z.output<typeof ivrMenuSchema>;
/** A menu as written (defaults optional). */
export type IvrMenuInput = z.input<typeof ivrMenuSchema>;

/** A document of menus: `{ "root": "main", "menus": [ ... ] }`. */
export const ivrMenuDocumentSchema = z
  .object({
    root: z.string().regex(MENU_NAME).optional(),
    menus: z.array(z.unknown()).min(1).max(1000),
  })
  .strict();

/** One problem of a menu set, with the JSON path of the offending field. */
export interface IvrMenuIssue {
  readonly path: string;
  readonly message: string;
}

export type IvrMenuSetResult = { ok: true; set: IvrMenuSet } | { ok: false; issues: IvrMenuIssue[] };

function issuesOf(error: z.ZodError, prefix: (string | number)[]): IvrMenuIssue[] {
  return error.issues.map((i) => ({ path: [...prefix, ...i.path.map((p) => String(p))].join('.'), message: i.message }));
}

function actionsOf(menu: IvrMenu): { where: string; action: IvrAction }[] {
  const list: { where: string; action: IvrAction }[] = [];
  for (const [key, action] of Object.entries(menu.options)) list.push({ where: `options.${key}`, action });
  list.push({ where: 'defaultAction', action: menu.defaultAction });
  if (menu.timeoutAction) list.push({ where: 'timeoutAction', action: menu.timeoutAction });
  for (const { where, action } of [...list]) {
    if (action.type === 'collect' && action.onError) list.push({ where: `${where}.onError`, action: action.onError });
  }
  return list;
}

/**
 * A consistent set of menus: names unique, every `menu` action pointing at a menu of the set. Immutable;
 * sessions share it.
 */
export class IvrMenuSet {
  private constructor(
    private readonly menus: ReadonlyMap<string, IvrMenu>,
    /** Menu a session starts in when none is named. */
    readonly root: string,
  ) {}

  /** Validate menus (raw JSON objects) and their references; the root defaults to the first menu. */
  static parse(menus: readonly unknown[], root?: string): IvrMenuSetResult {
    const issues: IvrMenuIssue[] = [];
    const byName = new Map<string, IvrMenu>();
    menus.forEach((raw, i) => {
      const r = ivrMenuSchema.safeParse(raw);
      if (!r.success) {
        issues.push(...issuesOf(r.error, ['menus', i]));
        return;
      }
      if (byName.has(r.data.name)) issues.push({ path: `menus.${i}.name`, message: `duplicate menu name ${JSON.stringify(r.data.name)}` });
      else byName.set(r.data.name, r.data);
    });
    if (menus.length === 0) issues.push({ path: 'menus', message: 'at least one menu is needed' });
    if (issues.length > 0) return { ok: false, issues };
    const names = [...byName.keys()];
    menus.forEach((_, i) => {
      const menu = byName.get(names[i]);
      if (!menu) return;
      for (const { where, action } of actionsOf(menu)) {
        if (action.type === 'menu' && !byName.has(action.menu)) {
          issues.push({ path: `menus.${i}.${where}.menu`, message: `unknown menu ${JSON.stringify(action.menu)}` });
        }
      }
    });
    const rootName = root ?? names[0];
    if (!byName.has(rootName)) issues.push({ path: 'root', message: `unknown menu ${JSON.stringify(rootName)}` });
    if (issues.length > 0) return { ok: false, issues };
    return { ok: true, set: new IvrMenuSet(byName, rootName) };
  }

  /** Validate a `{ root, menus }` document (a JSON file or an API body). */
  static parseDocument(doc: unknown): IvrMenuSetResult {
    const r = ivrMenuDocumentSchema.safeParse(doc);
    if (!r.success) return { ok: false, issues: issuesOf(r.error, []) };
    return IvrMenuSet.parse(r.data.menus, r.data.root);
  }

  /** Like parse, throwing a TypeError that lists the issues. */
  static from(menus: readonly unknown[], root?: string): IvrMenuSet {
    const r = IvrMenuSet.parse(menus, root);
    if (!r.ok) throw new TypeError(`invalid IVR menus: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    return r.set;
  }

  get(name: string): IvrMenu | undefined {
    return this.menus.get(name);
  }

  has(name: string): boolean {
    return this.menus.has(name);
  }

  get names(): string[] {
    return [...this.menus.keys()];
  }
}

/** The longest option key of a menu (how many keys to read before deciding), at least 1. */
export function maxOptionLength(menu: IvrMenu): number {
  let n = 1;
  for (const key of Object.keys(menu.options)) if (key.length > n) n = key.length;
  return n;
}

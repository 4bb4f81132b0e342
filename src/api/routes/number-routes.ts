import { z } from 'zod';
import { isForeignKeyViolation, type BlockedNumber, type BlockedNumberRepository, type JsonObject, type JsonValue, type NumberRepository, type NumberSettings, type NumberSettingsPatch } from '../../store';
import { ApiError } from '../api-error';
import { defineRoute, type RouteDefinition } from '../route-definition';
import { AUTH_RESPONSES, NOT_FOUND_RESPONSE, VALIDATION_RESPONSE, destinationSchema, didSchema, e164Schema, queryInt, uuidSchema, webhookUrlSchema } from './common-schemas';

export interface NumberRouteDeps {
  numbers: NumberRepository;
  blockedNumbers: BlockedNumberRepository;
}

// --- Blocked numbers

const blockBody = z.strictObject({
  number: e164Schema,
  reason: z.string().max(500).optional(),
  /** ISO 8601 instant after which the block lapses; omitted = permanent. */
  expires_at: z.iso.datetime({ offset: true }).optional(),
});

const blockedSchema = z.object({
  number: z.string(),
  reason: z.string().nullable(),
  created_at: z.string(),
  expires_at: z.string().nullable(),
});

const blockedListSchema = z.object({ items: z.array(blockedSchema), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });

function blockedJson(b: BlockedNumber): z.infer<typeof blockedSchema> {
  return { number: b.number, reason: b.reason, created_at: b.createdAt.toISOString(), expires_at: b.expiresAt?.toISOString() ?? null };
}

// --- DID settings

/**
 * The API's route string: `ai`, `answer`, `echo`, `reject`, `ivr:<menu id>`, `queue:<queue id>` or
 * `forward:<E.164 | sip URI>`. Stored as the numbers.route column plus ivr_menu_id / queue_id, and for
 * forward as the first forwarding rule with `when: always`.
 */
type ParsedRoute =
  | { kind: 'ai' | 'answer' | 'echo' | 'reject' }
  | { kind: 'ivr' | 'queue'; id: string }
  | { kind: 'forward'; target: string };

const routeSchema = z
  .string()
  .max(600)
  .transform((s, ctx): ParsedRoute => {
    if (s === 'ai' || s === 'answer' || s === 'echo' || s === 'reject') return { kind: s };
    const colon = s.indexOf(':');
    const kind = colon < 0 ? s : s.slice(0, colon);
    const arg = colon < 0 ? '' : s.slice(colon + 1);
    if ((kind === 'ivr' || kind === 'queue') && uuidSchema.safeParse(arg).success) return { kind, id: arg.toLowerCase() };
    if (kind === 'forward' && destinationSchema.safeParse(arg).success) return { kind, target: arg };
    ctx.addIssue({ code: 'custom', message: 'must be ai, answer, echo, reject, ivr:<uuid>, queue:<uuid> or forward:<E.164 number | sip: URI>' });
    return z.NEVER;
  });

const CONDITIONAL_WHEN = ['busy', 'no_answer', 'unavailable'] as const;

const forwardingRuleSchema = z.strictObject({
  target: destinationSchema,
  /** Unconditional forwarding is the route `forward:<target>`, not a rule. */
  when: z.enum(CONDITIONAL_WHEN),
  /** For no_answer: ring this long before forwarding (s). */
  timeout_s: z.number().int().min(1).max(300).optional(),
});

const jsonValue: z.ZodType<JsonValue> = z.json();

const numberBody = z.strictObject({
  route: routeSchema.optional(),
  enabled: z.boolean().optional(),
  description: z.string().max(500).nullable().optional(),
  max_concurrent_calls: z.number().int().min(1).max(100_000).nullable().optional(),
  forwarding_rules: z.array(forwardingRuleSchema).max(10).optional(),
  status_callback: webhookUrlSchema.nullable().optional(),
  sms_webhook: webhookUrlSchema.nullable().optional(),
  recording_enabled: z.boolean().optional(),
  trunk_id: uuidSchema.nullable().optional(),
  /** Per-number AI platform settings (agent, prompt, URL override), passed to the bridge as given. */
  ai_settings: z
    .record(z.string().max(100), jsonValue)
    .refine((o) => JSON.stringify(o).length <= 16_384, 'must serialise to at most 16 KiB')
    .optional(),
});

const numberSchema = z.object({
  number: z.string(),
  route: z.string(),
  enabled: z.boolean(),
  description: z.string().nullable(),
  max_concurrent_calls: z.number().int().nullable(),
  forwarding_rules: z.array(z.object({ target: z.string(), when: z.string(), timeout_s: z.number().int().optional() })),
  status_callback: z.string().nullable(),
  sms_webhook: z.string().nullable(),
  recording_enabled: z.boolean(),
  trunk_id: z.string().nullable(),
  ai_settings: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  updated_at: z.string(),
});

interface StoredRule {
  target: string;
  when: string;
  timeoutS?: number;
}

function storedRules(rules: readonly JsonValue[]): StoredRule[] {
  const out: StoredRule[] = [];
  for (const r of rules) {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) continue;
    const target = r['target'];
    const when = r['when'];
    if (typeof target !== 'string' || typeof when !== 'string') continue;
    const timeout = r['timeoutS'];
    out.push(typeof timeout === 'number' ? { target, when, timeoutS: timeout } : { target, when });
  }
  return out;
}

function routeString(s: NumberSettings): string {
  switch (s.route) {
    case 'ivr':
      return s.ivrMenuId !== null ? `ivr:${s.ivrMenuId}` : 'ivr';
    case 'queue':
      return s.queueId !== null ? `queue:${s.queueId}` : 'queue';
    case 'forward': {
      const always = storedRules(s.forwardRules).find((r) => r.when === 'always');
      return always !== undefined ? `forward:${always.target}` : 'forward';
    }
    default:
      return s.route;
  }
}

function numberJson(s: NumberSettings): z.infer<typeof numberSchema> {
  return {
    number: s.number,
    route: routeString(s),
    enabled: s.enabled,
    description: s.description,
    max_concurrent_calls: s.maxConcurrentCalls,
    forwarding_rules: storedRules(s.forwardRules)
      .filter((r) => r.when !== 'always')
      .map((r) => (r.timeoutS !== undefined ? { target: r.target, when: r.when, timeout_s: r.timeoutS } : { target: r.target, when: r.when })),
    status_callback: s.statusCallback,
    sms_webhook: s.smsWebhook,
    recording_enabled: s.recordingEnabled,
    trunk_id: s.trunkId,
    ai_settings: s.aiSettings,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  };
}

function ruleJson(r: StoredRule): JsonObject {
  return r.timeoutS !== undefined ? { target: r.target, when: r.when, timeoutS: r.timeoutS } : { target: r.target, when: r.when };
}

/** The repository patch of a PUT body, merged with the stored settings where route and rules interact. */
function toPatch(body: z.output<typeof numberBody>, existing: NumberSettings | undefined): NumberSettingsPatch {
  const patch: NumberSettingsPatch = {};
  if (body.enabled !== undefined) patch.enabled = body.enabled;
  if (body.description !== undefined) patch.description = body.description;
  if (body.max_concurrent_calls !== undefined) patch.maxConcurrentCalls = body.max_concurrent_calls;
  if (body.status_callback !== undefined) patch.statusCallback = body.status_callback;
  if (body.sms_webhook !== undefined) patch.smsWebhook = body.sms_webhook;
  if (body.recording_enabled !== undefined) patch.recordingEnabled = body.recording_enabled;
  if (body.trunk_id !== undefined) patch.trunkId = body.trunk_id;
  if (body.ai_settings !== undefined) patch.aiSettings = body.ai_settings as JsonObject;

  const route = body.route;
  if (route !== undefined) {
    patch.route = route.kind;
    // A number routes to one thing: references of the other kinds are cleared.
    patch.ivrMenuId = route.kind === 'ivr' ? route.id : null;
    patch.queueId = route.kind === 'queue' ? route.id : null;
  }
  if (route !== undefined || body.forwarding_rules !== undefined) {
    const stored = existing !== undefined ? storedRules(existing.forwardRules) : [];
    const conditional: StoredRule[] =
      body.forwarding_rules !== undefined
        ? body.forwarding_rules.map((r) => (r.timeout_s !== undefined ? { target: r.target, when: r.when, timeoutS: r.timeout_s } : { target: r.target, when: r.when }))
        : stored.filter((r) => r.when !== 'always');
    let always: StoredRule | undefined;
    if (route !== undefined) always = route.kind === 'forward' ? { target: route.target, when: 'always' } : undefined;
    else always = existing?.route === 'forward' ? stored.find((r) => r.when === 'always') : undefined;
    patch.forwardRules = [...(always !== undefined ? [always] : []), ...conditional].map(ruleJson);
  }
  return patch;
}

/** Which field a foreign-key failure of the numbers table is about. */
function fkField(err: unknown): { field: string; message: string } {
  const constraint = err !== null && typeof err === 'object' && 'constraint' in err ? String((err as { constraint: unknown }).constraint) : '';
  if (constraint.includes('ivr_menu')) return { field: 'route', message: 'route: no IVR menu with that id' };
  if (constraint.includes('queue')) return { field: 'route', message: 'route: no queue with that id' };
  return { field: 'trunk_id', message: 'trunk_id: no trunk with that id' };
}

const numberParam = z.strictObject({ number: didSchema });
const blockParam = z.strictObject({ number: e164Schema });

export function numberRoutes(deps: NumberRouteDeps): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/numbers/block',
      tag: 'Numbers',
      summary: 'Block a caller number',
      description: 'Calls and messages from the number are refused before routing. Blocking again replaces reason and expiry.',
      access: 'numbers:write',
      body: blockBody,
      responses: { 201: { description: 'Blocked', schema: blockedSchema }, ...VALIDATION_RESPONSE, ...AUTH_RESPONSES },
      async handle({ body, log }) {
        const expiresAt = body.expires_at !== undefined ? new Date(body.expires_at) : undefined;
        if (expiresAt !== undefined && expiresAt.getTime() <= Date.now()) throw ApiError.validation('expires_at', 'expires_at: must be in the future');
        const blocked = await deps.blockedNumbers.block(body.number, { reason: body.reason, expiresAt });
        log.info({ number: blocked.number, expiresAt: blocked.expiresAt }, 'number blocked');
        return { status: 201, body: blockedJson(blocked) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/numbers/block/:number',
      tag: 'Numbers',
      summary: 'Unblock a caller number',
      access: 'numbers:write',
      params: blockParam,
      responses: { 204: { description: 'Unblocked' }, ...VALIDATION_RESPONSE, ...NOT_FOUND_RESPONSE, ...AUTH_RESPONSES },
      async handle({ params, log }) {
        if (!(await deps.blockedNumbers.unblock(params.number))) throw ApiError.notFound(`${params.number} is not blocked`);
        log.info({ number: params.number }, 'number unblocked');
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/numbers/blocked',
      tag: 'Numbers',
      summary: 'List blocked numbers (active blocks, newest first)',
      access: 'numbers:read',
      query: z.strictObject({ limit: queryInt(1, 1000, 100), offset: queryInt(0, 1_000_000_000, 0) }),
      responses: { 200: { description: 'A page of blocked numbers', schema: blockedListSchema }, ...VALIDATION_RESPONSE, ...AUTH_RESPONSES },
      async handle({ query }) {
        const page = await deps.blockedNumbers.list({ limit: query.limit, offset: query.offset });
        return { status: 200, body: { items: page.items.map(blockedJson), total: page.total, limit: query.limit, offset: query.offset } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/numbers/:number',
      tag: 'Numbers',
      summary: 'Settings of one of our numbers (DID)',
      access: 'numbers:read',
      params: numberParam,
      responses: { 200: { description: 'The settings', schema: numberSchema }, ...VALIDATION_RESPONSE, ...NOT_FOUND_RESPONSE, ...AUTH_RESPONSES },
      async handle({ params }) {
        const settings = await deps.numbers.get(params.number);
        if (settings === undefined) throw ApiError.notFound(`${params.number} has no settings (it gets DEFAULT_ROUTE)`);
        return { status: 200, body: numberJson(settings) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/numbers/:number',
      tag: 'Numbers',
      summary: 'Create or change the settings of a number (DID)',
      description:
        'Fields left out keep their value (or the default for a new number). route: ai | answer | echo | reject | ivr:<id> | queue:<id> | forward:<number or sip URI>. forwarding_rules replace the conditional rules (busy, no_answer, unavailable).',
      access: 'numbers:write',
      params: numberParam,
      body: numberBody,
      responses: { 200: { description: 'The settings after the change', schema: numberSchema }, ...VALIDATION_RESPONSE, ...AUTH_RESPONSES },
      async handle({ params, body, log }) {
        const existing = await deps.numbers.get(params.number);
        let settings: NumberSettings;
        try {
          settings = await deps.numbers.upsert(params.number, toPatch(body, existing));
        } catch (err) {
          if (isForeignKeyViolation(err)) {
            const { field, message } = fkField(err);
            throw ApiError.validation(field, message);
          }
          throw err;
        }
        log.info({ number: settings.number, route: settings.route, created: existing === undefined }, 'number settings saved');
        return { status: 200, body: numberJson(settings) };
      },
    }),
  ];
}

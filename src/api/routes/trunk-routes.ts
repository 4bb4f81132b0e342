import { z } from 'zod';
import { isUniqueViolation, type NewTrunk, type TrunkPatch, type TrunkRecord, type TrunkRepository } from '../../store';
import { ApiError } from '../api-error';
import { defineRoute, type RouteDefinition } from '../route-definition';
import { AUTH_RESPONSES, NOT_FOUND_RESPONSE, VALIDATION_RESPONSE, cidrSchema, errorSchema, hostSchema } from './common-schemas';

export interface TrunkRouteDeps {
  trunks: TrunkRepository;
  /** Live state from the trunk registry (OPTIONS pings, REGISTER), when one runs; else the stored status. */
  trunkState?: (id: string) => TrunkLiveState | undefined;
  /** Told after every change so the registry can re-register / re-route without polling. */
  onTrunksChanged?: (change: { kind: 'created' | 'updated' | 'deleted'; id: string }) => void;
}

export interface TrunkLiveState {
  status: 'unknown' | 'up' | 'down';
  registered?: boolean;
  activeCalls?: number;
  detail?: string;
}

/** Codecs our media engine transcodes (G.711, RFC 3551 §4.5.14). */
const CODECS = ['PCMU', 'PCMA'] as const;

const fields = {
  name: z.string().trim().min(1).max(100),
  provider: z.string().max(100).nullable(),
  proxy_address: hostSchema,
  proxy_port: z.number().int().min(1).max(65535),
  transport: z.enum(['udp', 'tcp', 'tls']),
  username: z.string().min(1).max(128).nullable(),
  password: z.string().min(1).max(256).nullable(),
  realm: z.string().max(253).nullable(),
  /** Send REGISTER to the provider (RFC 3261 §10). */
  register: z.boolean(),
  /** REGISTER Expires (s); RFC 3261 §10.2.8 lets the registrar lower it, 60 s is the usual floor. */
  expiry: z.number().int().min(60).max(86_400),
  from_domain: hostSchema.nullable(),
  caller_id: z.string().regex(/^\+?[0-9A-Za-z*#._-]{1,64}$/, 'must be an E.164 number or a dialable user part').nullable(),
  supports_outbound: z.boolean(),
  supports_inbound: z.boolean(),
  priority: z.number().int().min(0).max(1000),
  weight: z.number().int().min(1).max(1000),
  max_channels: z.number().int().min(1).max(100_000).nullable(),
  allowed_cidrs: z.array(cidrSchema).max(100),
  prefixes: z.array(z.string().regex(/^\+?[0-9]{1,15}$/, 'must be a number prefix such as +1 or +4420')).max(500),
  codecs: z.array(z.enum(CODECS)).min(1).max(CODECS.length),
  dial_prefix: z.string().regex(/^[0-9+*#]{0,16}$/, 'must be at most 16 dial characters'),
  strip_digits: z.number().int().min(0).max(15),
  enabled: z.boolean(),
};

const createBody = z.strictObject({
  ...fields,
  provider: fields.provider.optional(),
  proxy_port: fields.proxy_port.optional(),
  transport: fields.transport.optional(),
  username: fields.username.optional(),
  password: fields.password.optional(),
  realm: fields.realm.optional(),
  register: fields.register.optional(),
  expiry: fields.expiry.optional(),
  from_domain: fields.from_domain.optional(),
  caller_id: fields.caller_id.optional(),
  supports_outbound: fields.supports_outbound.optional(),
  supports_inbound: fields.supports_inbound.optional(),
  priority: fields.priority.optional(),
  weight: fields.weight.optional(),
  max_channels: fields.max_channels.optional(),
  allowed_cidrs: fields.allowed_cidrs.optional(),
  prefixes: fields.prefixes.optional(),
  codecs: fields.codecs.optional(),
  dial_prefix: fields.dial_prefix.optional(),
  strip_digits: fields.strip_digits.optional(),
  enabled: fields.enabled.optional(),
});

const updateBody = createBody.partial();

type TrunkInput = z.output<typeof updateBody>;

const trunkSchema = z.object({
  id: z.string(),
  name: z.string(),
  provider: z.string().nullable(),
  proxy_address: z.string(),
  proxy_port: z.number().int(),
  transport: z.string(),
  username: z.string().nullable(),
  /** Passwords are write-only: never returned, only whether one is stored. */
  has_password: z.boolean(),
  realm: z.string().nullable(),
  register: z.boolean(),
  expiry: z.number().int(),
  from_domain: z.string().nullable(),
  caller_id: z.string().nullable(),
  supports_outbound: z.boolean(),
  supports_inbound: z.boolean(),
  priority: z.number().int(),
  weight: z.number().int(),
  max_channels: z.number().int().nullable(),
  allowed_cidrs: z.array(z.string()),
  prefixes: z.array(z.string()),
  codecs: z.array(z.string()),
  dial_prefix: z.string(),
  strip_digits: z.number().int(),
  enabled: z.boolean(),
  status: z.string(),
  status_changed_at: z.string().nullable(),
  registered: z.boolean().optional(),
  created_at: z.string(),
  updated_at: z.string(),
});

function toRecordFields(b: TrunkInput): TrunkPatch {
  const p: TrunkPatch = {};
  if (b.name !== undefined) p.name = b.name;
  if (b.provider !== undefined) p.provider = b.provider;
  if (b.proxy_address !== undefined) p.proxyAddress = b.proxy_address;
  if (b.proxy_port !== undefined) p.proxyPort = b.proxy_port;
  if (b.transport !== undefined) p.transport = b.transport;
  if (b.username !== undefined) p.username = b.username;
  if (b.password !== undefined) p.password = b.password;
  if (b.realm !== undefined) p.realm = b.realm;
  if (b.register !== undefined) p.register = b.register;
  if (b.expiry !== undefined) p.registerExpiresS = b.expiry;
  if (b.from_domain !== undefined) p.fromDomain = b.from_domain;
  if (b.caller_id !== undefined) p.callerId = b.caller_id;
  if (b.supports_outbound !== undefined) p.supportsOutbound = b.supports_outbound;
  if (b.supports_inbound !== undefined) p.supportsInbound = b.supports_inbound;
  if (b.priority !== undefined) p.priority = b.priority;
  if (b.weight !== undefined) p.weight = b.weight;
  if (b.max_channels !== undefined) p.maxConcurrentCalls = b.max_channels;
  if (b.allowed_cidrs !== undefined) p.inboundCidrs = b.allowed_cidrs;
  if (b.prefixes !== undefined) p.prefixes = b.prefixes;
  if (b.codecs !== undefined) p.codecs = [...new Set(b.codecs)];
  if (b.dial_prefix !== undefined) p.dialPrefix = b.dial_prefix;
  if (b.strip_digits !== undefined) p.stripDigits = b.strip_digits;
  if (b.enabled !== undefined) p.enabled = b.enabled;
  return p;
}

/** RFC 3261 §22.2: registering needs credentials for the digest challenge the provider will send. */
function checkRegistration(register: boolean, username: string | null | undefined, hasPassword: boolean): void {
  if (!register) return;
  if (username === null || username === undefined) throw ApiError.validation('username', 'username: is required when register is true');
  if (!hasPassword) throw ApiError.validation('password', 'password: is required when register is true');
}

export function trunkRoutes(deps: TrunkRouteDeps): RouteDefinition[] {
  const json = (t: TrunkRecord): z.infer<typeof trunkSchema> => {
    const live = deps.trunkState?.(t.id);
    const out: z.infer<typeof trunkSchema> = {
      id: t.id,
      name: t.name,
      provider: t.provider,
      proxy_address: t.proxyAddress,
      proxy_port: t.proxyPort,
      transport: t.transport,
      username: t.username,
      has_password: t.hasPassword,
      realm: t.realm,
      register: t.register,
      expiry: t.registerExpiresS,
      from_domain: t.fromDomain,
      caller_id: t.callerId,
      supports_outbound: t.supportsOutbound,
      supports_inbound: t.supportsInbound,
      priority: t.priority,
      weight: t.weight,
      max_channels: t.maxConcurrentCalls,
      allowed_cidrs: t.inboundCidrs,
      prefixes: t.prefixes,
      codecs: t.codecs,
      dial_prefix: t.dialPrefix,
      strip_digits: t.stripDigits,
      enabled: t.enabled,
      status: live?.status ?? t.status,
      status_changed_at: t.statusChangedAt?.toISOString() ?? null,
      created_at: t.createdAt.toISOString(),
      updated_at: t.updatedAt.toISOString(),
    };
    if (live?.registered !== undefined) out.registered = live.registered;
    return out;
  };
  const notify = (kind: 'created' | 'updated' | 'deleted', id: string): void => {
    try {
      deps.onTrunksChanged?.({ kind, id });
    } catch {
      // A failing subscriber must not turn a committed change into an error response.
    }
  };
  const duplicateName = (err: unknown): never => {
    if (isUniqueViolation(err)) throw ApiError.conflict('name', 'name: a trunk with this name already exists');
    throw err;
  };
  const idParam = z.strictObject({ trunk_id: z.string().max(64) });
  const CONFLICT = { 409: { description: 'A trunk with this name exists', schema: errorSchema } };

  return [
    defineRoute({
      method: 'post',
      path: '/api/trunks',
      tag: 'Trunks',
      summary: 'Add a SIP trunk',
      description: 'The password is stored encrypted (AES-256-GCM) and never returned.',
      access: 'trunks:write',
      body: createBody,
      responses: { 201: { description: 'Created', schema: trunkSchema }, ...VALIDATION_RESPONSE, ...CONFLICT, ...AUTH_RESPONSES },
      async handle({ body, log }) {
        checkRegistration(body.register ?? false, body.username, body.password !== undefined && body.password !== null);
        const fieldsOf = toRecordFields(body);
        const trunk: NewTrunk = { ...fieldsOf, name: body.name, proxyAddress: body.proxy_address, password: body.password ?? undefined };
        const created = await deps.trunks.create(trunk).catch(duplicateName);
        log.info({ trunkId: created.id, name: created.name }, 'trunk created');
        notify('created', created.id);
        return { status: 201, body: json(created) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/trunks',
      tag: 'Trunks',
      summary: 'List trunks (route-choice order)',
      access: 'trunks:read',
      responses: { 200: { description: 'All trunks', schema: z.object({ items: z.array(trunkSchema) }) }, ...AUTH_RESPONSES },
      async handle() {
        return { status: 200, body: { items: (await deps.trunks.list()).map(json) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/trunks/:trunk_id',
      tag: 'Trunks',
      summary: 'One trunk',
      access: 'trunks:read',
      params: idParam,
      responses: { 200: { description: 'The trunk', schema: trunkSchema }, ...NOT_FOUND_RESPONSE, ...AUTH_RESPONSES },
      async handle({ params }) {
        const trunk = await deps.trunks.get(params.trunk_id);
        if (trunk === undefined) throw ApiError.notFound('no such trunk');
        return { status: 200, body: json(trunk) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/trunks/:trunk_id',
      tag: 'Trunks',
      summary: 'Change a trunk',
      description: 'Fields left out keep their value; password null removes the stored password.',
      access: 'trunks:write',
      params: idParam,
      body: updateBody,
      responses: { 200: { description: 'The trunk after the change', schema: trunkSchema }, ...VALIDATION_RESPONSE, ...NOT_FOUND_RESPONSE, ...CONFLICT, ...AUTH_RESPONSES },
      async handle({ params, body, log }) {
        const existing = await deps.trunks.get(params.trunk_id);
        if (existing === undefined) throw ApiError.notFound('no such trunk');
        checkRegistration(
          body.register ?? existing.register,
          body.username !== undefined ? body.username : existing.username,
          body.password !== undefined ? body.password !== null : existing.hasPassword,
        );
        const updated = await deps.trunks.update(existing.id, toRecordFields(body)).catch(duplicateName);
        if (updated === undefined) throw ApiError.notFound('no such trunk');
        log.info({ trunkId: updated.id, fields: Object.keys(body).filter((k) => k !== 'password') }, 'trunk updated');
        notify('updated', updated.id);
        return { status: 200, body: json(updated) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/trunks/:trunk_id',
      tag: 'Trunks',
      summary: 'Remove a trunk',
      description: 'Call records keep their history; their trunk reference becomes null.',
      access: 'trunks:write',
      params: idParam,
      responses: { 204: { description: 'Removed' }, ...NOT_FOUND_RESPONSE, ...AUTH_RESPONSES },
      async handle({ params, log }) {
        if (!(await deps.trunks.delete(params.trunk_id))) throw ApiError.notFound('no such trunk');
        log.info({ trunkId: params.trunk_id }, 'trunk deleted');
        notify('deleted', params.trunk_id);
        return { status: 204 };
      },
    }),
  ];
}

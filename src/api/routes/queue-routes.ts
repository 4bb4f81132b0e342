import { z } from 'zod';
import { QueueDefinitionError, queueDefinitionSchema, queueFromRecord, type QueueDefinitionInput, type QueuePullResult, type StoredQueue } from '../../call';
import type { QueuePosition, QueueRecord } from '../../store';
import { ApiError } from '../api-error';
import { defineRoute, type RouteDefinition } from '../route-definition';
import { AUTH_RESPONSES, NOT_FOUND_RESPONSE, VALIDATION_RESPONSE, errorSchema } from './common-schemas';

/** What the queue API needs: stored definitions and lines (QueueRepository + QueueService) and the live app. */
export interface QueueApi {
  listQueues(): Promise<QueueRecord[]>;
  getQueue(ref: string): Promise<QueueRecord | undefined>;
  define(input: QueueDefinitionInput): Promise<StoredQueue>;
  deleteQueue(id: string): Promise<boolean>;
  positions(queueId: string): Promise<QueuePosition[]>;
  changePriority(callId: string, priority: number): Promise<number | undefined>;
  /** Pull a waiting caller to a target (the caller must wait on the instance answering the request). */
  pull(callId: string, target: string): Promise<QueuePullResult>;
  /** A definition changed: offer waiting callers again. */
  changed(queueId: string): void;
}

export interface QueueRouteDeps {
  /** Absent: the routes answer 503 queues_unavailable. */
  queues?: QueueApi;
  clock?: () => number;
}

const TAG = 'Queues';
const queueRef = z.object({ queue_id: z.string().min(1).max(100) });
const callerRef = z.object({ queue_id: z.string().min(1).max(100), call_id: z.string().min(1).max(256) });

const callerSchema = z.object({
  call_id: z.string(),
  position: z.number().int(),
  priority: z.number().int(),
  priority_source: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  instance_id: z.string(),
  enqueued_at: z.string(),
  waited_s: z.number(),
});
const queueSchema = z.object({ id: z.string(), definition: z.record(z.string(), z.unknown()), waiting: z.array(callerSchema), created_at: z.string(), updated_at: z.string() }).loose();

function unavailable(): ApiError {
  return new ApiError(503, 'queues_unavailable', 'queues are not available on this server');
}

function definitionOf(row: QueueRecord): Record<string, unknown> {
  const r = queueFromRecord(row);
  if (!r.ok) return { name: row.name, invalid: r.issues };
  const { id: _id, ...def } = r.queue;
  return def;
}

function callerJson(p: QueuePosition, now: number): z.infer<typeof callerSchema> {
  const e = p.entry;
  return {
    call_id: e.callId,
    position: p.position,
    priority: e.priority,
    priority_source: e.prioritySource,
    from: e.fromNumber,
    to: e.toNumber,
    instance_id: e.instanceId,
    enqueued_at: e.enqueuedAt.toISOString(),
    waited_s: Math.max(0, Math.round((now - e.enqueuedAt.getTime()) / 100) / 10),
  };
}

function validation(err: z.ZodError): ApiError {
  const first = err.issues[0];
  return ApiError.validation(first ? first.path.map(String).join('.') || 'body' : 'body', err.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; '));
}

/**
 * Priority call queues: CRUD of definitions, the waiting callers with their positions, a caller's priority, and
 * pulling a caller out to a target. Definitions use the queue engine's field names (capacity, maxWaitS, mohFile,
 * announcePosition, announceIntervalS, targets, priorityRules, defaultPriority, onTimeout, onFull, strategy).
 */
export function queueRoutes(deps: QueueRouteDeps): RouteDefinition[] {
  const now = deps.clock ?? Date.now;
  const need = (): QueueApi => {
    if (!deps.queues) throw unavailable();
    return deps.queues;
  };
  const load = async (q: QueueApi, ref: string): Promise<QueueRecord> => {
    const row = await q.getQueue(ref);
    if (!row) throw ApiError.notFound(`no queue ${ref}`);
    return row;
  };
  const json = async (q: QueueApi, row: QueueRecord): Promise<z.infer<typeof queueSchema>> => {
    const t = now();
    return {
      id: row.id,
      name: row.name,
      definition: definitionOf(row),
      waiting: (await q.positions(row.id)).map((p) => callerJson(p, t)),
      created_at: row.createdAt.toISOString(),
      updated_at: row.updatedAt.toISOString(),
    };
  };
  const save = async (q: QueueApi, body: unknown): Promise<StoredQueue> => {
    const parsed = queueDefinitionSchema.safeParse(body);
    if (!parsed.success) throw validation(parsed.error);
    try {
      return await q.define(body as QueueDefinitionInput);
    } catch (err) {
      if (err instanceof QueueDefinitionError) throw ApiError.validation('body', err.message);
      throw err;
    }
  };
  return [
    defineRoute({
      method: 'post',
      path: '/api/queues',
      summary: 'Create a queue',
      tag: TAG,
      access: 'calls:write',
      body: z.record(z.string(), z.unknown()),
      responses: { 201: { description: 'Created', schema: queueSchema }, ...VALIDATION_RESPONSE, 409: { description: 'A queue of that name exists', schema: errorSchema }, ...AUTH_RESPONSES },
      handle: async ({ body }) => {
        const q = need();
        const name = typeof body['name'] === 'string' ? body['name'] : '';
        if (name !== '' && (await q.getQueue(name))) throw ApiError.conflict('name', `a queue named ${name} exists`);
        const saved = await save(q, body);
        return { status: 201, body: await json(q, await load(q, saved.id)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/queues',
      summary: 'List queues with their waiting callers',
      tag: TAG,
      access: 'calls:read',
      responses: { 200: { description: 'Every queue; `waiting` is in service order', schema: z.object({ items: z.array(queueSchema) }) }, ...AUTH_RESPONSES },
      handle: async () => {
        const q = need();
        const rows = await q.listQueues();
        return { status: 200, body: { items: await Promise.all(rows.map((r) => json(q, r))) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/queues/:queue_id',
      summary: 'Get a queue (by id or name) with its waiting callers',
      tag: TAG,
      access: 'calls:read',
      params: queueRef,
      responses: { 200: { description: 'The queue', schema: queueSchema }, ...NOT_FOUND_RESPONSE, ...AUTH_RESPONSES },
      handle: async ({ params }) => {
        const q = need();
        return { status: 200, body: await json(q, await load(q, params.queue_id)) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/queues/:queue_id',
      summary: 'Replace a queue definition',
      description: 'Waiting callers keep their places; new targets are offered callers at once.',
      tag: TAG,
      access: 'calls:write',
      params: queueRef,
      body: z.record(z.string(), z.unknown()),
      responses: { 200: { description: 'Replaced', schema: queueSchema }, ...VALIDATION_RESPONSE, ...NOT_FOUND_RESPONSE, ...AUTH_RESPONSES },
      handle: async ({ params, body }) => {
        const q = need();
        const row = await load(q, params.queue_id);
        const doc = { ...body, name: body['name'] ?? row.name };
        if (doc.name !== row.name) throw ApiError.validation('name', 'a queue cannot be renamed');
        const saved = await save(q, doc);
        q.changed(saved.id);
        return { status: 200, body: await json(q, await load(q, saved.id)) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/queues/:queue_id',
      summary: 'Delete a queue',
      description: 'Refused (409) while callers wait in it.',
      tag: TAG,
      access: 'calls:write',
      params: queueRef,
      responses: { 204: { description: 'Deleted' }, ...NOT_FOUND_RESPONSE, 409: { description: 'Callers are waiting', schema: errorSchema }, ...AUTH_RESPONSES },
      handle: async ({ params }) => {
        const q = need();
        const row = await load(q, params.queue_id);
        if ((await q.positions(row.id)).length > 0) throw new ApiError(409, 'queue_busy', `callers are waiting in ${row.name}`);
        await q.deleteQueue(row.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/queues/:queue_id/callers/:call_id/priority',
      summary: "Change a waiting caller's priority",
      description: 'Higher is served first; the caller keeps its arrival order among callers of its new priority.',
      tag: TAG,
      access: 'calls:write',
      params: callerRef,
      body: z.strictObject({ priority: z.number().int().min(-1000).max(1000) }),
      responses: {
        200: { description: 'New place in line', schema: z.object({ call_id: z.string(), priority: z.number().int(), position: z.number().int() }) },
        ...VALIDATION_RESPONSE,
        ...NOT_FOUND_RESPONSE,
        ...AUTH_RESPONSES,
      },
      handle: async ({ params, body }) => {
        const q = need();
        const row = await load(q, params.queue_id);
        const waiting = await q.positions(row.id);
        if (!waiting.some((p) => p.entry.callId === params.call_id)) throw ApiError.notFound(`call ${params.call_id} is not waiting in ${row.name}`);
        const position = await q.changePriority(params.call_id, body.priority);
        if (position === undefined) throw ApiError.notFound(`call ${params.call_id} is no longer waiting`);
        return { status: 200, body: { call_id: params.call_id, priority: body.priority, position } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/queues/:queue_id/callers/:call_id/pull',
      summary: 'Pull a waiting caller out to a target',
      description: '`target`: `ai`, the id of one of the queue\'s targets, or a SIP URI / number to ring. A target that does not answer puts the caller back at its place (409 no_answer).',
      tag: TAG,
      access: 'calls:write',
      params: callerRef,
      body: z.strictObject({ target: z.string().min(1).max(512) }),
      responses: {
        200: { description: 'Connected', schema: z.object({ call_id: z.string(), target: z.string(), connected: z.boolean() }) },
        ...VALIDATION_RESPONSE,
        ...NOT_FOUND_RESPONSE,
        409: { description: 'The target did not answer, or the AI is unavailable', schema: errorSchema },
        ...AUTH_RESPONSES,
      },
      handle: async ({ params, body }) => {
        const q = need();
        const row = await load(q, params.queue_id);
        const waiting = await q.positions(row.id);
        if (!waiting.some((p) => p.entry.callId === params.call_id)) throw ApiError.notFound(`call ${params.call_id} is not waiting in ${row.name}`);
        const r = await q.pull(params.call_id, body.target);
        if (r.ok) return { status: 200, body: { call_id: params.call_id, target: r.target, connected: true } };
        switch (r.reason) {
          case 'not_waiting':
            throw ApiError.notFound(`call ${params.call_id} is not waiting on this instance`);
          case 'bad_target':
            throw ApiError.validation('target', 'must be ai, a target id of the queue, a SIP URI or a number');
          case 'ai_unavailable':
            throw new ApiError(409, 'ai_unavailable', 'the AI route is not available');
          case 'no_answer':
            throw new ApiError(409, 'no_answer', `${body.target} did not answer; the caller is back in line`);
        }
      },
    }),
  ];
}

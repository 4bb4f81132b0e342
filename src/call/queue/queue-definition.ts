import { z } from 'zod';
import type { JsonObject, JsonValue, NewQueue, QueueRecord, QueueStrategyName } from '../../store';

/**
 * Queues as data: capacity, wait limit, how callers are ordered (priority rules), what they hear, who
 * takes them (targets and ring strategy) and what happens on timeout or when the queue is full.
 */

const NAME = /^[A-Za-z0-9_.:-]{1,100}$/;
const DIALLED_NUMBER = /^\+?[0-9*#]{1,32}$/;

/** Ring strategies (stored names). `least_recent` and kebab-case spellings are accepted on input. */
export const QUEUE_STRATEGIES: readonly QueueStrategyName[] = ['ring_all', 'round_robin', 'longest_idle', 'random'];

const strategySchema = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase().replaceAll('-', '_');
    return s === 'least_recent' ? 'longest_idle' : s;
  },
  z.enum(['ring_all', 'round_robin', 'longest_idle', 'random']),
);

/** Who a caller can be handed to: an AI slot, or a SIP destination (phone, agent, PBX). */
export const queueTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ai'), id: z.string().regex(NAME), settings: z.record(z.string(), z.unknown()).optional() }).strict(),
  z.object({ kind: z.literal('sip'), id: z.string().regex(NAME), uri: z.string().min(5).max(512).regex(/^sips?:/i, 'must be a sip: or sips: URI') }).strict(),
]);
export type QueueTarget = z.infer<typeof queueTargetSchema>;

/**
 * Priority rules, first match wins: by the caller's number, the number dialled (DID) or the trunk the call
 * came in on. A priority given by the IVR or a webhook overrides them.
 */
export const queuePriorityRuleSchema = z
  .object({
    match: z.enum(['caller', 'did', 'trunk']),
    values: z.array(z.string().min(1).max(100)).min(1).max(10_000),
    priority: z.number().int().min(-1000).max(1000),
  })
  .strict();
export type QueuePriorityRule = z.infer<typeof queuePriorityRuleSchema>;

/** What happens to a caller who waited too long, or who finds the queue full. */
export const queueExitActionSchema = z.discriminatedUnion('type', [
  /** Play a message (a MOH_DIR/prompt file, or text for TTS) and hang up. */
  z.object({ type: z.literal('hangup'), message: z.union([z.string().min(1).max(1024), z.object({ text: z.string().trim().min(1).max(2000) }).strict()]).optional() }).strict(),
  z.object({ type: z.literal('forward'), number: z.string().regex(DIALLED_NUMBER) }).strict(),
  z.object({ type: z.literal('ai'), settings: z.record(z.string(), z.unknown()).optional() }).strict(),
]);
export type QueueExitAction = z.infer<typeof queueExitActionSchema>;

export const queueDefinitionSchema = z
  .object({
    name: z.string().regex(NAME),
    strategy: strategySchema.default('ring_all'),
    /** Most callers waiting at once (null: unbounded). */
    capacity: z.number().int().positive().max(100_000).nullable().default(null),
    /** Longest wait before onTimeout, seconds (null: no limit). */
    maxWaitS: z.number().int().positive().max(86_400).nullable().default(null),
    /** Music-on-hold track (a file of MOH_DIR); null: the number's or the default track. */
    mohFile: z.string().min(1).max(255).nullable().default(null),
    /** Tell callers their position and wait time every announceIntervalS. */
    announcePosition: z.boolean().default(false),
    announceIntervalS: z.number().int().min(5).max(3600).nullable().default(60),
    targets: z.array(queueTargetSchema).max(1000).default([]),
    priorityRules: z.array(queuePriorityRuleSchema).max(100).default([]),
    defaultPriority: z.number().int().min(-1000).max(1000).default(0),
    onTimeout: queueExitActionSchema.default({ type: 'hangup' }),
    onFull: queueExitActionSchema.default({ type: 'hangup' }),
  })
  .strict()
  .superRefine((q, ctx) => {
    const seen = new Set<string>();
    q.targets.forEach((t, i) => {
      if (seen.has(t.id)) ctx.addIssue({ code: 'custom', message: `duplicate target id ${JSON.stringify(t.id)}`, path: ['targets', i, 'id'] });
      seen.add(t.id);
    });
  });

/** A validated queue definition (defaults applied). */
export type QueueDefinition = z.output<typeof queueDefinitionSchema>;
export type QueueDefinitionInput = z.input<typeof queueDefinitionSchema>;

/** A stored queue: its definition and database id. */
export interface StoredQueue extends QueueDefinition {
  readonly id: string;
}

/** The row fields of a definition. */
export function queueToRecord(def: QueueDefinition): NewQueue {
  return {
    name: def.name,
    strategy: def.strategy,
    maxSize: def.capacity,
    maxWaitS: def.maxWaitS,
    mohFile: def.mohFile,
    announcePosition: def.announcePosition,
    announceIntervalS: def.announceIntervalS,
    agents: def.targets as JsonValue[],
    priorityRules: def.priorityRules as JsonValue[],
    defaultPriority: def.defaultPriority,
    overflowAction: def.onTimeout as JsonObject,
    fullAction: def.onFull as JsonObject,
  };
}

export type QueueParseResult = { ok: true; queue: StoredQueue } | { ok: false; issues: { path: string; message: string }[] };

/** A stored row back to a definition, validated (a row edited by hand may no longer be valid). */
export function queueFromRecord(row: QueueRecord): QueueParseResult {
  const r = queueDefinitionSchema.safeParse({
    name: row.name,
    strategy: row.strategy,
    capacity: row.maxSize,
    maxWaitS: row.maxWaitS,
    mohFile: row.mohFile,
    announcePosition: row.announcePosition,
    announceIntervalS: row.announceIntervalS,
    targets: row.agents,
    priorityRules: row.priorityRules,
    defaultPriority: row.defaultPriority,
    onTimeout: row.overflowAction ?? undefined,
    onFull: row.fullAction ?? undefined,
  });
  if (!r.success) return { ok: false, issues: r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) };
  return { ok: true, queue: { ...r.data, id: row.id } };
}

/** Who is calling, as priority rules see it. */
export interface QueueCaller {
  readonly callId: string;
  /** Caller's number (From user part). */
  readonly from?: string | null;
  /** Number dialled (our DID). */
  readonly to?: string | null;
  /** Trunk id or name the call came in on. */
  readonly trunkId?: string | null;
  /** Priority decided upstream (IVR option, webhook): overrides the rules. */
  readonly priority?: number;
}

/** The priority of a caller and why: explicit, the first matching rule (`rule:<index>`), or the default. */
export function resolvePriority(def: QueueDefinition, caller: QueueCaller): { priority: number; source: string } {
  if (caller.priority !== undefined) return { priority: caller.priority, source: 'explicit' };
  for (let i = 0; i < def.priorityRules.length; i++) {
    const rule = def.priorityRules[i];
    const value = rule.match === 'caller' ? caller.from : rule.match === 'did' ? caller.to : caller.trunkId;
    if (value !== undefined && value !== null && rule.values.includes(value)) return { priority: rule.priority, source: `rule:${i}` };
  }
  return { priority: def.defaultPriority, source: 'default' };
}

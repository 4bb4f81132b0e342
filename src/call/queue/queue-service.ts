import type { EnqueueOutcome, NewQueue, NewQueueEntry, QueueEntryRecord, QueuePosition, QueueRecord } from '../../store';
import { systemClock, TypedEmitter, type Clock, type TimerHandle } from '../../util';
import {
  queueDefinitionSchema,
  queueFromRecord,
  queueToRecord,
  resolvePriority,
  type QueueCaller,
  type QueueDefinitionInput,
  type QueueExitAction,
  type StoredQueue,
} from './queue-definition';
import { QueueTargetPool, type RingPlan } from './queue-target-pool';

/** What QueueService needs from storage; QueueRepository (src/store) implements it. */
export interface QueueStore {
  saveQueue(q: NewQueue): Promise<QueueRecord>;
  getQueue(id: string): Promise<QueueRecord | undefined>;
  getQueueByName(name: string): Promise<QueueRecord | undefined>;
  enqueue(entry: NewQueueEntry): Promise<EnqueueOutcome>;
  position(callId: string): Promise<QueuePosition | undefined>;
  positions(queueId: string): Promise<QueuePosition[]>;
  takeNext(queueId: string, agent: string): Promise<QueueEntryRecord | undefined>;
  take(callId: string, agent: string): Promise<QueueEntryRecord | undefined>;
  finish(callId: string, status: 'connected' | 'abandoned' | 'timeout' | 'overflow', agent?: string | null): Promise<QueueEntryRecord | undefined>;
  requeue(entryId: number): Promise<QueueEntryRecord | undefined>;
  changePriority(callId: string, priority: number, source?: string): Promise<QueuePosition | undefined>;
}

/** A queue definition in storage does not validate (edited by hand, or from an older version). */
export class QueueDefinitionError extends Error {
  readonly code = 'QUEUE_BAD_DEFINITION';
  constructor(
    readonly queue: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(`queue ${queue}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'QueueDefinitionError';
  }
}

export type QueueJoinResult =
  | { ok: true; queue: StoredQueue; entry: QueueEntryRecord; position: number }
  /** The queue is full: play/do `action` instead. */
  | { ok: false; reason: 'full'; queue: StoredQueue; action: QueueExitAction }
  | { ok: false; reason: 'no_queue' }
  | { ok: false; reason: 'already_waiting'; entry: QueueEntryRecord };

/** A caller taken from the line and whom to ring for it. */
export interface QueueDispatch {
  readonly queue: StoredQueue;
  readonly entry: QueueEntryRecord;
  readonly plan: RingPlan;
}

/** Announcement of a waiting caller's place (every announceIntervalS when announcePosition is on). */
export interface QueueAnnouncement {
  readonly callId: string;
  readonly position: number;
  readonly waitedS: number;
}

export interface QueueWatchHandlers {
  /** Time to tell the caller where it stands. */
  announce?(a: QueueAnnouncement): void;
  /** The caller waited maxWaitS: its entry is closed (`timeout`); carry out `action`. */
  timeout?(action: QueueExitAction, entry: QueueEntryRecord): void;
  /** A timer step failed (storage unreachable); the wait goes on. */
  error?(err: unknown): void;
}

export interface QueueServiceEvents {
  [event: string]: unknown[];
  enqueued: [QueueEntryRecord, number];
  dequeued: [QueueEntryRecord];
  left: [QueueEntryRecord];
  timeout: [QueueEntryRecord];
}

export interface QueueServiceOptions {
  store: QueueStore;
  /** This instance (queue_entries.instance_id): whose media the waiting callers are on. */
  instanceId: string;
  clock?: Clock;
  /** For the random ring strategy (tests inject a seeded one). */
  random?: () => number;
}

interface Watch {
  callId: string;
  queueId: string;
  announceTimer: TimerHandle | undefined;
  timeoutTimer: TimerHandle | undefined;
  startedAt: number;
}

/**
 * Priority call queues. Waiting callers live in PostgreSQL (every instance sees the same line, in exact
 * priority-then-arrival order); targets and their ring strategy live per instance. Call control enqueues
 * a caller (then plays it music on hold), `watch`es it for announcements and the wait limit, and calls
 * `takeNext` when a target frees; the caller's hangup is `leave`.
 */
export class QueueService extends TypedEmitter<QueueServiceEvents> {
  private readonly store: QueueStore;
  private readonly clock: Clock;
  private readonly pools = new Map<string, QueueTargetPool>();
  private readonly watches = new Map<string, Watch>();

  constructor(private readonly options: QueueServiceOptions) {
    super();
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
  }

  /** Validate and store a queue definition (replacing the one of the same name). */
  async define(input: QueueDefinitionInput): Promise<StoredQueue> {
    const def = queueDefinitionSchema.parse(input);
    const row = await this.store.saveQueue(queueToRecord(def));
    const queue = this.parse(row);
    this.poolOf(queue);
    return queue;
  }

  /** A queue by id or name. Rejects with QueueDefinitionError when its stored definition is invalid. */
  async queue(ref: string): Promise<StoredQueue | undefined> {
    const row = (await this.store.getQueue(ref)) ?? (await this.store.getQueueByName(ref));
    return row ? this.parse(row) : undefined;
  }

  /** Put a caller in line with the priority its rules (or the IVR) give it. */
  async enqueue(ref: string, caller: QueueCaller): Promise<QueueJoinResult> {
    const queue = await this.queue(ref);
    if (!queue) return { ok: false, reason: 'no_queue' };
    const { priority, source } = resolvePriority(queue, caller);
    const r = await this.store.enqueue({
      queueId: queue.id,
      callId: caller.callId,
      instanceId: this.options.instanceId,
      priority,
      prioritySource: source,
      fromNumber: caller.from ?? null,
      toNumber: caller.to ?? null,
      trunkId: caller.trunkId ?? null,
    });
    if (r.ok) {
      this.safeEmit('enqueued', r.entry, r.position);
      return { ok: true, queue, entry: r.entry, position: r.position };
    }
    if (r.reason === 'full') return { ok: false, reason: 'full', queue, action: queue.onFull };
    if (r.reason === 'already_waiting') return { ok: false, reason: 'already_waiting', entry: r.entry };
    return { ok: false, reason: 'no_queue' };
  }

  /** The caller hung up while waiting. */
  async leave(callId: string): Promise<QueueEntryRecord | undefined> {
    this.unwatch(callId);
    const entry = await this.store.finish(callId, 'abandoned');
    if (entry) this.safeEmit('left', entry);
    return entry;
  }

  /** Move a waiting caller to another priority (it keeps its arrival order among its new peers). */
  changePriority(callId: string, priority: number): Promise<QueuePosition | undefined> {
    if (!Number.isInteger(priority) || priority < -1000 || priority > 1000) throw new TypeError(`priority must be an integer in -1000..1000, got ${priority}`);
    return this.store.changePriority(callId, priority, 'explicit');
  }

  /** Take one given caller out of line for `target` (an operator pulls it), whatever its place. */
  async pullTo(callId: string, target: string): Promise<QueueEntryRecord | undefined> {
    const entry = await this.store.take(callId, target);
    if (entry) {
      this.unwatch(callId);
      this.safeEmit('dequeued', entry);
    }
    return entry;
  }

  /**
   * A target freed (or a caller arrived): take the head of the line and say whom to ring. With `targetId`,
   * that target takes the call; otherwise the queue's strategy picks among the free targets. The planned
   * targets are marked busy: `release` those that do not end up with the call. Undefined when nobody waits
   * or no target is free.
   */
  async takeNext(ref: string, targetId?: string): Promise<QueueDispatch | undefined> {
    const queue = await this.queue(ref);
    if (!queue) return undefined;
    const pool = this.poolOf(queue);
    let plan: RingPlan | undefined;
    if (targetId !== undefined) {
      const target = queue.targets.find((t) => t.id === targetId);
      if (!target) throw new TypeError(`queue ${queue.name} has no target ${JSON.stringify(targetId)}`);
      if (!pool.isFree(targetId)) return undefined;
      plan = { strategy: queue.strategy, parallel: false, targets: [target] };
    } else {
      plan = pool.plan(queue.strategy);
      if (!plan) return undefined;
    }
    for (const t of plan.targets) pool.markBusy(t.id);
    let entry: QueueEntryRecord | undefined;
    try {
      entry = await this.store.takeNext(queue.id, plan.targets.map((t) => t.id).join(','));
    } finally {
      if (!entry) for (const t of plan.targets) pool.release(t.id, this.clock.now());
    }
    if (!entry) return undefined;
    this.unwatch(entry.callId);
    this.safeEmit('dequeued', entry);
    return { queue, entry, plan };
  }

  /** A target is free again: its call ended, or it did not answer / lost the ring_all race. */
  release(queueId: string, targetId: string): boolean {
    return this.pools.get(queueId)?.release(targetId, this.clock.now()) ?? false;
  }

  /** Nobody answered: the caller goes back to its original place in line. */
  requeue(entry: QueueEntryRecord): Promise<QueueEntryRecord | undefined> {
    return this.store.requeue(entry.id);
  }

  position(callId: string): Promise<QueuePosition | undefined> {
    return this.store.position(callId);
  }

  /** The line of a queue, in service order. */
  async positions(ref: string): Promise<QueuePosition[]> {
    const queue = await this.queue(ref);
    return queue ? this.store.positions(queue.id) : [];
  }

  /**
   * Run a waiting caller's timers on the clock: position announcements every announceIntervalS (when the
   * queue announces) and the maxWaitS limit. Stopped by leave/takeNext/pullTo, or the returned function.
   */
  watch(queue: StoredQueue, callId: string, handlers: QueueWatchHandlers): () => void {
    this.unwatch(callId);
    const w: Watch = { callId, queueId: queue.id, announceTimer: undefined, timeoutTimer: undefined, startedAt: this.clock.now() };
    this.watches.set(callId, w);
    const fail = (err: unknown): void => {
      try {
        handlers.error?.(err);
      } catch {
        // a faulty handler must not break the timers
      }
    };
    const intervalS = queue.announceIntervalS;
    if (queue.announcePosition && intervalS !== null && handlers.announce) {
      const announce = handlers.announce;
      const tick = (): void => {
        if (this.watches.get(callId) !== w) return;
        w.announceTimer = this.clock.setTimeout(tick, intervalS * 1000);
        this.store.position(callId).then((p) => {
          if (p && this.watches.get(callId) === w) announce({ callId, position: p.position, waitedS: Math.floor((this.clock.now() - w.startedAt) / 1000) });
        }, fail);
      };
      w.announceTimer = this.clock.setTimeout(tick, intervalS * 1000);
    }
    if (queue.maxWaitS !== null) {
      w.timeoutTimer = this.clock.setTimeout(() => {
        if (this.watches.get(callId) !== w) return;
        this.unwatch(callId);
        // finish() only changes a waiting entry: a caller taken at the same moment stays taken.
        this.store.finish(callId, 'timeout').then((entry) => {
          if (!entry) return;
          this.safeEmit('timeout', entry);
          handlers.timeout?.(queue.onTimeout, entry);
        }, fail);
      }, queue.maxWaitS * 1000);
    }
    return () => {
      if (this.watches.get(callId) === w) this.unwatch(callId);
    };
  }

  /** Stop every timer (shutdown). */
  close(): void {
    for (const callId of [...this.watches.keys()]) this.unwatch(callId);
  }

  /** Callers this instance is timing. */
  get watching(): number {
    return this.watches.size;
  }

  private unwatch(callId: string): void {
    const w = this.watches.get(callId);
    if (!w) return;
    this.watches.delete(callId);
    this.clock.clearTimeout(w.announceTimer);
    this.clock.clearTimeout(w.timeoutTimer);
  }

  private parse(row: QueueRecord): StoredQueue {
    const r = queueFromRecord(row);
    if (!r.ok) throw new QueueDefinitionError(row.name, r.issues);
    return r.queue;
  }

  private poolOf(queue: StoredQueue): QueueTargetPool {
    let pool = this.pools.get(queue.id);
    if (!pool) {
      pool = new QueueTargetPool(queue.targets, this.options.random);
      this.pools.set(queue.id, pool);
    } else {
      pool.sync(queue.targets);
    }
    return pool;
  }
}

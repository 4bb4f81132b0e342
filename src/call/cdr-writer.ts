import { systemClock, type Clock } from '../util';
import type { CallStore, CdrEnd, CdrEventWrite, CdrPatch, CdrStart, CdrWriteSet } from './call-store';

/** Where CDR write failures are reported (the observability logger satisfies it). */
export interface CdrWriterLogger {
  warn(obj: object, msg?: string): void;
}

export interface CdrWriterOptions {
  /** Calls gathered into one batch statement at most (default 256). */
  maxBatchCalls?: number;
  /**
   * Batch statements in flight at once (default 2). Writes queued meanwhile leave together in the next batch, so
   * the statement count falls as the load rises (group commit) and CDRs never take the whole database pool.
   */
  maxConcurrent?: number;
  /** Retries of a batch that failed for a reason other than its data (connection lost, timeout). Default 3. */
  maxRetries?: number;
  /** First retry delay in ms, doubled each time (default 200). */
  retryDelayMs?: number;
  /**
   * Least time between the starts of two batches, ms (default 10): under load every call's writes of a tick share
   * one statement, so the statement rate stays near 1000/tickMs whatever the call rate. A write waits at most this
   * long (plus one statement) to be durable. 0 sends as soon as a slot is free.
   */
  tickMs?: number;
  clock?: Clock;
}

/** One write of a call's CDR, as data: the writer folds these into batches when the store can take them. */
export type CdrOp =
  | { kind: 'create'; start: CdrStart }
  | { kind: 'update'; patch: CdrPatch }
  | { kind: 'dtmf'; digits: string }
  | { kind: 'end'; end: CdrEnd }
  | { kind: 'event'; event: CdrEventWrite };

/** Told whether the write committed (false: it failed or was skipped). */
export type CdrWriteDone = (committed: boolean) => void;

interface Item {
  /** A data write (batched when `store` supports batches)... */
  op: CdrOp | undefined;
  store: CallStore | undefined;
  /** ...or an opaque write, run alone in its turn. */
  write: (() => Promise<unknown>) | undefined;
  what: string | undefined;
  /** The write that creates the row: when it fails, the call's later writes are skipped. */
  first: boolean;
  done: CdrWriteDone | undefined;
}

/** The queue of one call. At most one write (or one batch holding some of its writes) runs at a time. */
interface Lane {
  readonly callId: string;
  items: Item[];
  /** A write of this call is running. */
  busy: boolean;
  /** Waiting in `ready` for a batch slot. */
  queued: boolean;
  waiters: (() => void)[] | undefined;
}

/** Calls whose CDR insert failed, remembered (bounded) so their later writes are skipped. */
const MAX_BROKEN = 10_000;

/**
 * Serialises the CDR writes of each call and batches them across calls. A call's writes are applied in the order
 * they were queued and never overlap; calls do not wait for each other. When the store has `writeCdrBatch`, the
 * pending writes of every call leave together, folded into one statement per batch (insert, update, events):
 * about one round trip per event-loop turn instead of one per write. Callers never await a write on the signalling
 * path; a write is durable once its `done` callback (or the promise of `enqueue`/`flush`) reports it. Failures are
 * logged and counted, never thrown into call control; transient ones (connection, timeout) are retried.
 */
export class CdrWriter {
  private readonly lanes = new Map<string, Lane>();
  /** The first write (the CDR insert) failed: later writes of these calls are skipped (call_events need the row). */
  private readonly broken = new Set<string>();
  private ready: Lane[] = [];
  private active = 0;
  private scheduled = false;
  private failuresValue = 0;
  private writesValue = 0;
  private batchesValue = 0;
  private readonly maxBatchCalls: number;
  private readonly maxConcurrent: number;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;
  private readonly tickMs: number;
  private lastBatchAt = -Infinity;
  private readonly clock: Clock;
  private readonly pumpNow = (): void => {
    this.scheduled = false;
    this.pump();
  };

  constructor(
    private readonly log: CdrWriterLogger,
    options: CdrWriterOptions = {},
  ) {
    this.maxBatchCalls = Math.max(1, options.maxBatchCalls ?? 256);
    this.maxConcurrent = Math.max(1, options.maxConcurrent ?? 2);
    this.maxRetries = Math.max(0, options.maxRetries ?? 3);
    this.retryDelayMs = Math.max(1, options.retryDelayMs ?? 200);
    this.tickMs = Math.max(0, options.tickMs ?? 10);
    this.clock = options.clock ?? systemClock;
  }

  /** Writes that failed since start. */
  get failures(): number {
    return this.failuresValue;
  }
  /** Writes completed since start. */
  get writes(): number {
    return this.writesValue;
  }
  /** Batch statements committed since start. */
  get batches(): number {
    return this.batchesValue;
  }
  /** Calls with writes still queued. */
  get busyCalls(): number {
    return this.lanes.size;
  }

  /**
   * Queue a data write of `callId` behind its earlier writes. `done` is told once it committed or failed; the
   * completion of a `create` failing makes the call's later writes be skipped (they would fail on the missing row).
   */
  submit(store: CallStore, callId: string, op: CdrOp, done?: CdrWriteDone): void {
    const lane = this.laneOf(callId);
    lane.items.push({ op, store, write: undefined, what: undefined, first: op.kind === 'create', done });
    this.kick(lane);
  }

  /**
   * Queue an opaque `write` behind the call's earlier writes; it runs alone, in its turn. `first` marks the insert
   * that creates the row: if it fails, the call's later writes are dropped rather than failing one by one.
   * Resolves (never rejects) once the write settled.
   */
  enqueue(callId: string, what: string, write: () => Promise<unknown>, first = false): Promise<void> {
    return new Promise<void>((resolve) => {
      const lane = this.laneOf(callId);
      lane.items.push({ op: undefined, store: undefined, write, what, first, done: () => resolve() });
      this.kick(lane);
    });
  }

  /** Resolves when every write queued so far for `callId` has finished. */
  flush(callId: string): Promise<void> {
    const lane = this.lanes.get(callId);
    if (!lane) return Promise.resolve();
    return new Promise<void>((resolve) => (lane.waiters ??= []).push(resolve));
  }

  /** Resolves when every write queued so far (all calls) has finished: shutdown and tests. */
  async flushAll(): Promise<void> {
    while (this.lanes.size > 0) await Promise.all([...this.lanes.keys()].map((id) => this.flush(id)));
  }

  private laneOf(callId: string): Lane {
    let lane = this.lanes.get(callId);
    if (!lane) {
      lane = { callId, items: [], busy: false, queued: false, waiters: undefined };
      this.lanes.set(callId, lane);
    }
    return lane;
  }

  /** Move the lane on: run its next opaque write, queue it for a batch, or retire it when empty. */
  private kick(lane: Lane): void {
    if (lane.busy || lane.queued) return;
    if (lane.items.length > 0 && this.broken.has(lane.callId)) {
      const skipped = lane.items;
      lane.items = [];
      for (const item of skipped) item.done?.(false);
    }
    const head = lane.items[0];
    if (head === undefined) {
      this.retire(lane);
      return;
    }
    if (head.write !== undefined || head.store?.writeCdrBatch === undefined) {
      this.runAlone(lane);
      return;
    }
    lane.queued = true;
    this.ready.push(lane);
    this.schedule();
  }

  private retire(lane: Lane): void {
    if (this.lanes.get(lane.callId) === lane) this.lanes.delete(lane.callId);
    const waiters = lane.waiters;
    lane.waiters = undefined;
    if (waiters) for (const w of waiters) w();
  }

  /** The head item on its own: opaque writes, and data writes to a store without batches (one method per write). */
  private runAlone(lane: Lane): void {
    const item = lane.items.shift() as Item;
    lane.busy = true;
    let p: Promise<unknown>;
    try {
      p = item.write !== undefined ? item.write() : applyOne(item.store as CallStore, lane.callId, item.op as CdrOp);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      () => {
        this.writesValue++;
        this.settleItem(lane, item, true);
      },
      (err: unknown) => {
        this.failuresValue++;
        if (item.first) this.markBroken(lane.callId);
        this.log.warn({ err, callId: lane.callId, write: item.what ?? describe(item.op) }, 'CDR write failed');
        this.settleItem(lane, item, false);
      },
    );
  }

  private settleItem(lane: Lane, item: Item, ok: boolean): void {
    lane.busy = false;
    item.done?.(ok);
    this.kick(lane);
  }

  /**
   * Gather what is ready into one batch: at least what this turn of the event loop queued (setImmediate runs after
   * pending I/O), and everything of the current tick when the previous batch left less than `tickMs` ago.
   */
  private schedule(): void {
    if (this.scheduled || this.active >= this.maxConcurrent || this.ready.length === 0) return;
    this.scheduled = true;
    const wait = this.lastBatchAt + this.tickMs - this.clock.now();
    if (wait > 0) this.clock.setTimeout(this.pumpNow, wait);
    else setImmediate(this.pumpNow);
  }

  private pump(): void {
    while (this.active < this.maxConcurrent && this.ready.length > 0) {
      const lanes = this.ready.length <= this.maxBatchCalls ? this.ready : this.ready.slice(0, this.maxBatchCalls);
      this.ready = lanes === this.ready ? [] : this.ready.slice(this.maxBatchCalls);
      const store = lanes[0].items[0].store as CallStore;
      const sets: CdrWriteSet[] = [];
      const members: { lane: Lane; items: Item[] }[] = [];
      const other: Lane[] = [];
      for (const lane of lanes) {
        lane.queued = false;
        // One store per batch (a process has one; tests may have several).
        if (lane.items[0]?.store !== store) {
          other.push(lane);
          continue;
        }
        let n = 1;
        while (n < lane.items.length && lane.items[n].store === store && lane.items[n].op !== undefined) n++;
        const items = lane.items.length === n ? lane.items : lane.items.slice(0, n);
        lane.items = items === lane.items ? [] : lane.items.slice(n);
        lane.busy = true;
        sets.push(fold(lane.callId, items));
        members.push({ lane, items });
      }
      for (const lane of other) this.kick(lane);
      if (sets.length === 0) continue;
      this.active++;
      this.lastBatchAt = this.clock.now();
      void this.runBatch(store, sets, members).finally(() => {
        this.active--;
        this.schedule();
      });
    }
  }

  private async runBatch(store: CallStore, sets: CdrWriteSet[], members: { lane: Lane; items: Item[] }[]): Promise<void> {
    const err = await this.attempt(store, sets);
    if (err === undefined) {
      for (const m of members) this.settleBatch(m.lane, m.items, undefined);
      return;
    }
    if (sets.length === 1) {
      this.settleBatch(members[0].lane, members[0].items, err);
      return;
    }
    // One bad call (a duplicate Call-ID, a trunk deleted meanwhile) must not sink the others: isolate it.
    await Promise.all(
      sets.map(async (set, i) => {
        const m = members[i];
        this.settleBatch(m.lane, m.items, await this.attempt(store, [set], this.maxRetries));
      }),
    );
  }

  /** Run one batch statement, retrying transient failures; resolves with the final error, if any. */
  private async attempt(store: CallStore, sets: readonly CdrWriteSet[], retried = 0): Promise<unknown> {
    for (let n = retried; ; n++) {
      try {
        await (store.writeCdrBatch as (s: readonly CdrWriteSet[]) => Promise<void>).call(store, sets);
        this.batchesValue++;
        return undefined;
      } catch (err) {
        if (n >= this.maxRetries || !isTransient(err)) return err;
        this.log.warn({ err, calls: sets.length, attempt: n + 1 }, 'CDR batch failed; retrying');
        await new Promise<void>((resolve) => this.clock.setTimeout(resolve, this.retryDelayMs * 2 ** (n - retried)));
      }
    }
  }

  private settleBatch(lane: Lane, items: Item[], err: unknown): void {
    const ok = err === undefined;
    if (ok) this.writesValue += items.length;
    else {
      this.failuresValue += items.length;
      if (items.some((i) => i.first)) this.markBroken(lane.callId);
      this.log.warn({ err, callId: lane.callId, writes: items.map((i) => describe(i.op)) }, 'CDR write failed');
    }
    lane.busy = false;
    for (const item of items) item.done?.(ok);
    this.kick(lane);
  }

  private markBroken(callId: string): void {
    this.broken.add(callId);
    if (this.broken.size > MAX_BROKEN) this.broken.delete(this.broken.values().next().value as string);
  }
}

/** The writes of one call folded into one set: a later patch wins field by field, metadata keys merge, ends keep the first. */
function fold(callId: string, items: readonly Item[]): CdrWriteSet {
  const set: CdrWriteSet = { callId, events: [] };
  for (const item of items) {
    const op = item.op as CdrOp;
    switch (op.kind) {
      case 'create':
        set.create = op.start;
        break;
      case 'update': {
        const prev = set.patch;
        if (prev === undefined) set.patch = op.patch;
        else {
          const merged = { ...prev, ...op.patch };
          if (prev.metadata && op.patch.metadata) merged.metadata = { ...prev.metadata, ...op.patch.metadata };
          set.patch = merged;
        }
        break;
      }
      case 'dtmf':
        set.dtmf = set.dtmf === undefined ? op.digits : set.dtmf + op.digits;
        break;
      case 'end':
        set.end ??= op.end;
        break;
      case 'event':
        set.events.push(op.event);
        break;
    }
  }
  return set;
}

/** A data write through the store's one-write methods. */
function applyOne(store: CallStore, callId: string, op: CdrOp): Promise<void> {
  switch (op.kind) {
    case 'create':
      return store.createCdr(op.start);
    case 'update':
      return store.updateCdr(callId, op.patch);
    case 'dtmf':
      return store.appendDtmf(callId, op.digits);
    case 'end':
      return store.endCdr(callId, op.end);
    case 'event':
      return store.appendEvent(callId, op.event.type, op.event.data, op.event.at);
  }
}

function describe(op: CdrOp | undefined): string {
  if (op === undefined) return 'write';
  return op.kind === 'event' ? `event ${op.event.type}` : op.kind;
}

/**
 * Worth retrying: errors without a code (pg's "Connection terminated", pool acquire timeouts), Node system errors
 * (ECONNRESET, EPIPE...), and SQLSTATE classes that say the server, not the data, failed (08 connection exception,
 * 53 insufficient resources, 57 operator intervention such as a statement timeout, 40 transaction rollback).
 * Data errors (22, 23...) and our own coded errors (a closed database) are final.
 */
function isTransient(err: unknown): boolean {
  const code = err !== null && typeof err === 'object' && 'code' in err ? (err as { code: unknown }).code : undefined;
  if (code === undefined) return true;
  if (typeof code !== 'string') return false;
  if (/^E[A-Z]+$/.test(code)) return true;
  if (!/^[0-9A-Z]{5}$/.test(code)) return false;
  const cls = code.slice(0, 2);
  return cls === '08' || cls === '53' || cls === '57' || cls === '40';
}

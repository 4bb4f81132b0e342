import { isUniqueViolation, type Database, type Queryable, type SqlParam } from './database';
import { date, dateOrNull, jsonArray, jsonObject, jsonParam, num, numOrNull, strOrNull, type JsonObject, type JsonValue } from './row-values';

export type QueueStrategyName = 'ring_all' | 'round_robin' | 'longest_idle' | 'random';
export type QueueEntryStatus = 'waiting' | 'connected' | 'abandoned' | 'timeout' | 'overflow';

/** One queue row. Rules, targets and actions are JSON documents QueueService validates (src/call/queue). */
export interface QueueRecord {
  id: string;
  name: string;
  strategy: QueueStrategyName;
  /** Most callers waiting at once; null = unbounded. */
  maxSize: number | null;
  maxWaitS: number | null;
  mohFile: string | null;
  announcePosition: boolean;
  announceIntervalS: number | null;
  /** Targets calls are offered to (AI slots, SIP destinations). */
  agents: JsonValue[];
  priorityRules: JsonValue[];
  defaultPriority: number;
  /** Action on max wait. */
  overflowAction: JsonObject | null;
  /** Action when the queue is full. */
  fullAction: JsonObject | null;
  createdAt: Date;
  updatedAt: Date;
}

export type NewQueue = Omit<QueueRecord, 'id' | 'createdAt' | 'updatedAt'>;

/** A caller in (or once in) a queue. */
export interface QueueEntryRecord {
  /** Arrival sequence: with priority, the service order. */
  id: number;
  queueId: string;
  callId: string;
  instanceId: string;
  priority: number;
  /** Why it has that priority ('explicit', 'rule:<n>', 'default'). */
  prioritySource: string;
  status: QueueEntryStatus;
  fromNumber: string | null;
  toNumber: string | null;
  trunkId: string | null;
  enqueuedAt: Date;
  dequeuedAt: Date | null;
  /** Target the caller went to. */
  agent: string | null;
}

export interface NewQueueEntry {
  queueId: string;
  callId: string;
  instanceId: string;
  priority: number;
  prioritySource: string;
  fromNumber?: string | null;
  toNumber?: string | null;
  trunkId?: string | null;
}

/** A waiting caller and its 1-based place in line. */
export interface QueuePosition {
  entry: QueueEntryRecord;
  position: number;
}

export type EnqueueOutcome =
  | { ok: true; entry: QueueEntryRecord; position: number }
  | { ok: false; reason: 'full'; waiting: number }
  | { ok: false; reason: 'no_queue' }
  | { ok: false; reason: 'already_waiting'; entry: QueueEntryRecord };

function toQueue(row: Record<string, unknown>): QueueRecord {
  const overflow = row['overflow_action'];
  const full = row['full_action'];
  return {
    id: String(row['id']),
    name: String(row['name']),
    strategy: row['strategy'] as QueueStrategyName,
    maxSize: numOrNull(row['max_size']),
    maxWaitS: numOrNull(row['max_wait_s']),
    mohFile: strOrNull(row['moh_file']),
    announcePosition: row['announce_position'] === true,
    announceIntervalS: numOrNull(row['announce_interval_s']),
    agents: jsonArray(row['agents']),
    priorityRules: jsonArray(row['priority_rules']),
    defaultPriority: num(row['default_priority']),
    overflowAction: overflow === null || overflow === undefined ? null : jsonObject(overflow),
    fullAction: full === null || full === undefined ? null : jsonObject(full),
    createdAt: date(row['created_at']),
    updatedAt: date(row['updated_at']),
  };
}

function toEntry(row: Record<string, unknown>): QueueEntryRecord {
  return {
    id: num(row['id']),
    queueId: String(row['queue_id']),
    callId: String(row['call_id']),
    instanceId: String(row['instance_id']),
    priority: num(row['priority']),
    prioritySource: String(row['priority_source']),
    status: row['status'] as QueueEntryStatus,
    fromNumber: strOrNull(row['from_number']),
    toNumber: strOrNull(row['to_number']),
    trunkId: strOrNull(row['trunk_id']),
    enqueuedAt: date(row['enqueued_at']),
    dequeuedAt: dateOrNull(row['dequeued_at']),
    agent: strOrNull(row['agent']),
  };
}

/** A full database handle (can open a transaction), as opposed to a transaction's `tx`. */
function isDatabase(db: Queryable): db is Database {
  return typeof (db as Partial<Database>).transaction === 'function';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Service order: higher priority first, then arrival (the identity sequence). Matches queue_entries_waiting_idx. */
const ORDER = 'priority DESC, id';

/** Entries ahead of entry `e` (alias) in its queue, plus one. */
const POSITION_SQL = `(SELECT count(*) + 1 FROM queue_entries o
   WHERE o.queue_id = e.queue_id AND o.status = 'waiting'
     AND (o.priority > e.priority OR (o.priority = e.priority AND o.id < e.id)))`;

const QUEUE_COLUMNS = `name, strategy, max_size, max_wait_s, moh_file, announce_position, announce_interval_s, agents, priority_rules,
  default_priority, overflow_action, full_action`;

function queueParams(q: NewQueue): SqlParam[] {
  return [
    q.name,
    q.strategy,
    q.maxSize,
    q.maxWaitS,
    q.mohFile,
    q.announcePosition,
    q.announceIntervalS,
    jsonParam(q.agents),
    jsonParam(q.priorityRules),
    q.defaultPriority,
    q.overflowAction === null ? null : jsonParam(q.overflowAction),
    q.fullAction === null ? null : jsonParam(q.fullAction),
  ];
}

/**
 * Queues and their waiting callers, shared by every instance. Order is exact under concurrency: enqueue
 * locks the queue row, so capacity checks and arrival numbers are serialised per queue, and taking the
 * head uses `FOR UPDATE SKIP LOCKED`, so two instances freeing targets at once take two different callers.
 */
export class QueueRepository {
  constructor(private readonly db: Queryable) {}

  /** Insert a queue, or replace the definition of the one of the same name (id kept). */
  async saveQueue(q: NewQueue): Promise<QueueRecord> {
    const res = await this.db.query(
      `INSERT INTO queues (${QUEUE_COLUMNS})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11::jsonb, $12::jsonb)
       ON CONFLICT (name) DO UPDATE SET
         strategy = EXCLUDED.strategy, max_size = EXCLUDED.max_size, max_wait_s = EXCLUDED.max_wait_s, moh_file = EXCLUDED.moh_file,
         announce_position = EXCLUDED.announce_position, announce_interval_s = EXCLUDED.announce_interval_s, agents = EXCLUDED.agents,
         priority_rules = EXCLUDED.priority_rules, default_priority = EXCLUDED.default_priority,
         overflow_action = EXCLUDED.overflow_action, full_action = EXCLUDED.full_action, updated_at = now()
       RETURNING *`,
      queueParams(q),
    );
    return toQueue(res.rows[0]);
  }

  async getQueue(id: string): Promise<QueueRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const res = await this.db.query('SELECT * FROM queues WHERE id = $1', [id]);
    return res.rows[0] ? toQueue(res.rows[0]) : undefined;
  }

  async getQueueByName(name: string): Promise<QueueRecord | undefined> {
    const res = await this.db.query('SELECT * FROM queues WHERE name = $1', [name]);
    return res.rows[0] ? toQueue(res.rows[0]) : undefined;
  }

  async listQueues(): Promise<QueueRecord[]> {
    const res = await this.db.query('SELECT * FROM queues ORDER BY name');
    return res.rows.map(toQueue);
  }

  /** Delete a queue and its entries. */
  async deleteQueue(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const res = await this.db.query('DELETE FROM queues WHERE id = $1', [id]);
    return res.rowCount > 0;
  }

  /**
   * Put a caller in line. The queue row is locked (FOR UPDATE) until commit, so concurrent arrivals on any
   * instance are serialised per queue: each counts the line after the previous one committed (READ
   * COMMITTED takes a new snapshot per statement), the capacity holds exactly, and arrival numbers follow
   * lock order, which is also commit order.
   */
  async enqueue(entry: NewQueueEntry): Promise<EnqueueOutcome> {
    if (!UUID.test(entry.queueId)) return { ok: false, reason: 'no_queue' };
    const db = this.db;
    try {
      // Inside a caller's transaction (a tx handle) the lock simply lasts until that transaction ends.
      if (isDatabase(db)) return await db.transaction((tx) => this.enqueueLocked(tx, entry));
      return await this.enqueueLocked(db, entry);
    } catch (err) {
      // The same call entering two different queues at once: queue_entries_one_waiting_uq lets one win.
      if (!isUniqueViolation(err) || !isDatabase(db)) throw err;
      const existing = await this.db.query(`SELECT * FROM queue_entries WHERE call_id = $1 AND status = 'waiting'`, [entry.callId]);
      if (!existing.rows[0]) throw err;
      return { ok: false, reason: 'already_waiting', entry: toEntry(existing.rows[0]) };
    }
  }

  private async enqueueLocked(q: Queryable, entry: NewQueueEntry): Promise<EnqueueOutcome> {
    const queue = await q.query<{ max_size: unknown }>('SELECT max_size FROM queues WHERE id = $1 FOR UPDATE', [entry.queueId]);
    if (queue.rows.length === 0) return { ok: false, reason: 'no_queue' };
    const dup = await q.query(`SELECT * FROM queue_entries WHERE call_id = $1 AND status = 'waiting'`, [entry.callId]);
    if (dup.rows[0]) return { ok: false, reason: 'already_waiting', entry: toEntry(dup.rows[0]) };
    const maxSize = numOrNull(queue.rows[0].max_size);
    if (maxSize !== null) {
      const count = await q.query<{ n: unknown }>(`SELECT count(*) AS n FROM queue_entries WHERE queue_id = $1 AND status = 'waiting'`, [entry.queueId]);
      const waiting = num(count.rows[0]?.n);
      if (waiting >= maxSize) return { ok: false, reason: 'full', waiting };
    }
    const ins = await q.query(
      `INSERT INTO queue_entries (queue_id, call_id, instance_id, priority, priority_source, from_number, to_number, trunk_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      [entry.queueId, entry.callId, entry.instanceId, entry.priority, entry.prioritySource, entry.fromNumber ?? null, entry.toNumber ?? null, entry.trunkId ?? null],
    );
    const placed = await this.positionOfEntry(num(ins.rows[0]['id']), q);
    if (!placed) throw new Error('queue entry vanished right after insert');
    return { ok: true, entry: placed.entry, position: placed.position };
  }

  async getEntry(id: number): Promise<QueueEntryRecord | undefined> {
    const res = await this.db.query('SELECT * FROM queue_entries WHERE id = $1', [id]);
    return res.rows[0] ? toEntry(res.rows[0]) : undefined;
  }

  /** The waiting entry of a call, with its place in line. */
  async position(callId: string): Promise<QueuePosition | undefined> {
    const res = await this.db.query(`SELECT e.*, ${POSITION_SQL} AS position FROM queue_entries e WHERE e.call_id = $1 AND e.status = 'waiting'`, [callId]);
    const row = res.rows[0];
    return row ? { entry: toEntry(row), position: num(row['position']) } : undefined;
  }

  /** Every waiting caller of a queue, in service order. */
  async positions(queueId: string): Promise<QueuePosition[]> {
    if (!UUID.test(queueId)) return [];
    const res = await this.db.query(
      `SELECT *, row_number() OVER (ORDER BY ${ORDER}) AS position FROM queue_entries WHERE queue_id = $1 AND status = 'waiting' ORDER BY ${ORDER}`,
      [queueId],
    );
    return res.rows.map((row) => ({ entry: toEntry(row), position: num(row['position']) }));
  }

  async waitingCount(queueId: string): Promise<number> {
    if (!UUID.test(queueId)) return 0;
    const res = await this.db.query<{ n: unknown }>(`SELECT count(*) AS n FROM queue_entries WHERE queue_id = $1 AND status = 'waiting'`, [queueId]);
    return num(res.rows[0]?.n);
  }

  /**
   * Take the head of the line for `agent`: the waiting caller with the highest priority, longest in line.
   * SKIP LOCKED lets concurrent takers pass over a row another transaction is taking.
   */
  async takeNext(queueId: string, agent: string): Promise<QueueEntryRecord | undefined> {
    if (!UUID.test(queueId)) return undefined;
    const res = await this.db.query(
      `UPDATE queue_entries SET status = 'connected', dequeued_at = now(), updated_at = now(), agent = $2
       WHERE id = (SELECT id FROM queue_entries WHERE queue_id = $1 AND status = 'waiting' ORDER BY ${ORDER} LIMIT 1 FOR UPDATE SKIP LOCKED)
         AND status = 'waiting'
       RETURNING *`,
      [queueId, agent],
    );
    return res.rows[0] ? toEntry(res.rows[0]) : undefined;
  }

  /** Take one given caller out of line for `agent` (pull), whatever its place. */
  async take(callId: string, agent: string): Promise<QueueEntryRecord | undefined> {
    return this.finish(callId, 'connected', agent);
  }

  /**
   * End a caller's wait with `status` (abandoned when it hung up, timeout, overflow, connected). Only a
   * waiting entry changes: the first of two racing finishers wins, the other gets undefined.
   */
  async finish(callId: string, status: Exclude<QueueEntryStatus, 'waiting'>, agent: string | null = null): Promise<QueueEntryRecord | undefined> {
    const res = await this.db.query(
      `UPDATE queue_entries SET status = $2, dequeued_at = now(), updated_at = now(), agent = COALESCE($3, agent)
       WHERE call_id = $1 AND status = 'waiting' RETURNING *`,
      [callId, status, agent],
    );
    return res.rows[0] ? toEntry(res.rows[0]) : undefined;
  }

  /** Put a taken caller back in line at its original place (the target did not answer). */
  async requeue(entryId: number): Promise<QueueEntryRecord | undefined> {
    const res = await this.db.query(
      `UPDATE queue_entries SET status = 'waiting', dequeued_at = NULL, agent = NULL, updated_at = now()
       WHERE id = $1 AND status = 'connected'
         AND NOT EXISTS (SELECT 1 FROM queue_entries o WHERE o.call_id = queue_entries.call_id AND o.status = 'waiting')
       RETURNING *`,
      [entryId],
    );
    return res.rows[0] ? toEntry(res.rows[0]) : undefined;
  }

  /** Change a waiting caller's priority; it keeps its arrival, so it is FIFO among its new peers. */
  async changePriority(callId: string, priority: number, source = 'explicit'): Promise<QueuePosition | undefined> {
    const res = await this.db.query(
      `UPDATE queue_entries SET priority = $2, priority_source = $3, updated_at = now() WHERE call_id = $1 AND status = 'waiting' RETURNING id`,
      [callId, priority, source],
    );
    if (res.rowCount === 0) return undefined;
    return this.positionOfEntry(num(res.rows[0]['id']));
  }

  /** Waiting callers of a queue who have waited `maxWaitS` or more (database clock), marked `timeout`. */
  async expire(queueId: string, maxWaitS: number): Promise<QueueEntryRecord[]> {
    if (!UUID.test(queueId)) return [];
    const res = await this.db.query(
      `UPDATE queue_entries SET status = 'timeout', dequeued_at = now(), updated_at = now()
       WHERE queue_id = $1 AND status = 'waiting' AND enqueued_at <= now() - make_interval(secs => $2)
       RETURNING *`,
      [queueId, maxWaitS],
    );
    return res.rows.map(toEntry).sort((a, b) => b.priority - a.priority || a.id - b.id);
  }

  /** Crash recovery: the waiting callers of a dead instance lost their media with it. */
  async abandonInstance(instanceId: string): Promise<number> {
    const res = await this.db.query(
      `UPDATE queue_entries SET status = 'abandoned', dequeued_at = now(), updated_at = now() WHERE instance_id = $1 AND status = 'waiting'`,
      [instanceId],
    );
    return res.rowCount;
  }

  private async positionOfEntry(id: number, q: Queryable = this.db): Promise<QueuePosition | undefined> {
    const res = await q.query(`SELECT e.*, ${POSITION_SQL} AS position FROM queue_entries e WHERE e.id = $1 AND e.status = 'waiting'`, [id]);
    const row = res.rows[0];
    return row ? { entry: toEntry(row), position: num(row['position']) } : undefined;
  }
}

import { randomUUID } from 'node:crypto';
import { pageHistory } from './cursor';
import type { PreparedQuery, Queryable, SqlParam } from './database';
import { date, dateOrNull, jsonObject, jsonParam, num, numOrNull, strOrNull, type JsonObject, type JsonValue } from './row-values';

export type CdrDirection = 'inbound' | 'outbound';
export type CdrStatus = 'initiated' | 'ringing' | 'answered' | 'completed' | 'failed' | 'busy' | 'no_answer' | 'cancelled' | 'rejected';
export type CdrFinalStatus = 'completed' | 'failed' | 'busy' | 'no_answer' | 'cancelled' | 'rejected';
export type HangupSide = 'caller' | 'callee' | 'ai' | 'api' | 'system';

export const CDR_STATUSES: readonly CdrStatus[] = ['initiated', 'ringing', 'answered', 'completed', 'failed', 'busy', 'no_answer', 'cancelled', 'rejected'];

/** A call detail record. */
export interface CallRecord {
  id: string;
  /** SIP Call-ID of the leg that created the call. */
  callId: string;
  parentCallId: string | null;
  instanceId: string;
  direction: CdrDirection;
  fromNumber: string;
  toNumber: string;
  fromDisplay: string | null;
  trunkId: string | null;
  remoteAddress: string | null;
  status: CdrStatus;
  startedAt: Date;
  answeredAt: Date | null;
  endedAt: Date | null;
  /** Start to end, seconds. */
  durationS: number | null;
  /** Answer to end, whole seconds rounded up; 0 when never answered. */
  billableS: number | null;
  sipCode: number | null;
  hangupCause: string | null;
  hangupSide: HangupSide | null;
  codec: string | null;
  rtpPacketsSent: number;
  rtpPacketsReceived: number;
  rtpBytesSent: number;
  rtpBytesReceived: number;
  rtpPacketsLost: number;
  rtpJitterMs: number | null;
  mos: number | null;
  dtmfDigits: string;
  recordingId: string | null;
  webhookUrl: string | null;
  metadata: JsonObject;
  updatedAt: Date;
}

export interface NewCall {
  callId: string;
  instanceId: string;
  direction: CdrDirection;
  fromNumber: string;
  toNumber: string;
  fromDisplay?: string;
  parentCallId?: string;
  trunkId?: string;
  remoteAddress?: string;
  status?: CdrStatus;
  /** Default: the database clock. */
  startedAt?: Date;
  codec?: string;
  webhookUrl?: string;
  metadata?: JsonObject;
}

/** Fields `update` may change. `metadata` is merged into the stored object (top-level keys replaced). */
export interface CallUpdate {
  status?: CdrStatus;
  answeredAt?: Date;
  endedAt?: Date;
  sipCode?: number;
  hangupCause?: string;
  hangupSide?: HangupSide;
  codec?: string;
  trunkId?: string | null;
  remoteAddress?: string;
  rtpPacketsSent?: number;
  rtpPacketsReceived?: number;
  rtpBytesSent?: number;
  rtpBytesReceived?: number;
  rtpPacketsLost?: number;
  rtpJitterMs?: number;
  mos?: number;
  dtmfDigits?: string;
  recordingId?: string | null;
  webhookUrl?: string | null;
  metadata?: JsonObject;
}

export interface CallEnd {
  status: CdrFinalStatus;
  /** Default: the database clock. */
  endedAt?: Date;
  sipCode?: number;
  hangupCause?: string;
  hangupSide?: HangupSide;
}

export interface CallListFilter {
  /** Matches either party. */
  number?: string;
  direction?: CdrDirection;
  status?: CdrStatus | readonly CdrStatus[];
  instanceId?: string;
  /** started_at >= from */
  from?: Date;
  /** started_at < to */
  to?: Date;
  /** Page size, 1-500. Default 50. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface CallPage {
  items: CallRecord[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

// Patch field -> column and cast. Column names in SQL come only from this table, never from input.
const UPDATE_COLUMNS: { readonly [K in keyof CallUpdate]-?: readonly [column: string, cast: string] } = {
  status: ['status', ''],
  answeredAt: ['answered_at', '::timestamptz'],
  endedAt: ['ended_at', '::timestamptz'],
  sipCode: ['sip_code', '::smallint'],
  hangupCause: ['hangup_cause', ''],
  hangupSide: ['hangup_side', ''],
  codec: ['codec', ''],
  trunkId: ['trunk_id', '::uuid'],
  remoteAddress: ['remote_address', ''],
  rtpPacketsSent: ['rtp_packets_sent', '::bigint'],
  rtpPacketsReceived: ['rtp_packets_received', '::bigint'],
  rtpBytesSent: ['rtp_bytes_sent', '::bigint'],
  rtpBytesReceived: ['rtp_bytes_received', '::bigint'],
  rtpPacketsLost: ['rtp_packets_lost', '::bigint'],
  rtpJitterMs: ['rtp_jitter_ms', '::real'],
  mos: ['mos', '::real'],
  dtmfDigits: ['dtmf_digits', ''],
  recordingId: ['recording_id', '::uuid'],
  webhookUrl: ['webhook_url', ''],
  metadata: ['metadata', '::jsonb'],
};


// Durations are computed from the new end time inside the same UPDATE (SET expressions see the old row),
// so a CDR is never left ended without its durations. Billable time rounds up to whole seconds, as
// carriers bill; a clock step backwards cannot make either negative.
function durationSql(endExpr: string): string {
  return `GREATEST(0, EXTRACT(EPOCH FROM (${endExpr} - started_at)))::double precision`;
}
function billableSql(endExpr: string): string {
  return `CASE WHEN answered_at IS NULL THEN 0 ELSE GREATEST(0, CEIL(EXTRACT(EPOCH FROM (${endExpr} - answered_at))))::integer END`;
}

function toRecord(row: Record<string, unknown>): CallRecord {
  return {
    id: String(row['id']),
    callId: String(row['call_id']),
    parentCallId: strOrNull(row['parent_call_id']),
    instanceId: String(row['instance_id']),
    direction: row['direction'] as CdrDirection,
    fromNumber: String(row['from_number']),
    toNumber: String(row['to_number']),
    fromDisplay: strOrNull(row['from_display']),
    trunkId: strOrNull(row['trunk_id']),
    remoteAddress: strOrNull(row['remote_address']),
    status: row['status'] as CdrStatus,
    startedAt: date(row['started_at']),
    answeredAt: dateOrNull(row['answered_at']),
    endedAt: dateOrNull(row['ended_at']),
    durationS: numOrNull(row['duration_s']),
    billableS: numOrNull(row['billable_s']),
    sipCode: numOrNull(row['sip_code']),
    hangupCause: strOrNull(row['hangup_cause']),
    hangupSide: strOrNull(row['hangup_side']) as HangupSide | null,
    codec: strOrNull(row['codec']),
    rtpPacketsSent: num(row['rtp_packets_sent']),
    rtpPacketsReceived: num(row['rtp_packets_received']),
    rtpBytesSent: num(row['rtp_bytes_sent']),
    rtpBytesReceived: num(row['rtp_bytes_received']),
    rtpPacketsLost: num(row['rtp_packets_lost']),
    rtpJitterMs: numOrNull(row['rtp_jitter_ms']),
    mos: numOrNull(row['mos']),
    dtmfDigits: String(row['dtmf_digits'] ?? ''),
    recordingId: strOrNull(row['recording_id']),
    webhookUrl: strOrNull(row['webhook_url']),
    metadata: jsonObject(row['metadata']),
    updatedAt: date(row['updated_at']),
  };
}

/** One call's share of a {@link CallRepository.writeBatch}: what happened to it since its previous batch, in order. */
export interface CallBatchEntry {
  callId: string;
  /** The row does not exist yet: insert it, with `update`, `appendDtmf` and `end` below already applied. */
  create?: NewCall;
  /** Fields changed (later changes already merged over earlier ones; `metadata` keys merged). */
  update?: CallUpdate;
  /** Digits appended to dtmf_digits. */
  appendDtmf?: string;
  /** Close the call, after `update`; first end wins as in `end()`. */
  end?: CallEnd;
  /** call_events rows, appended in this order after the CDR write. */
  events?: readonly CallBatchEvent[];
}

export interface CallBatchEvent {
  type: string;
  data?: JsonObject;
  /** Default: the database clock. */
  at?: Date;
}

// ---- batched writes ----------------------------------------------------------------------------------------------
// A batch is one statement whatever its size: the rows travel as one jsonb parameter (`{i: inserts, u: updates,
// e: events}`), so the SQL text never changes (no per-batch planning of a new shape, no parameter-count limit).
// Key presence in a row means "set this column" (the value may be null), absence means "keep it".

/** `j->>'col'` with the column's cast; jsonb columns read the value itself (`j->'col'`). */
function jsonField(column: string, cast: string): string {
  return cast === '::jsonb' ? `j->'${column}'` : `(j->>'${column}')${cast}`;
}

/** The row of an update applies its `end_*` keys only when the call is still open (first end wins). */
const END_APPLIES = "(j ? 'end_status' AND c.ended_at IS NULL)";
const END_AT = "COALESCE((j->>'end_at')::timestamptz, now())";

function batchUpdateSql(): string {
  const sets: string[] = [];
  const special = new Set(['status', 'ended_at', 'sip_code', 'hangup_cause', 'hangup_side', 'dtmf_digits', 'metadata']);
  for (const [column, cast] of Object.values(UPDATE_COLUMNS)) {
    if (special.has(column)) continue;
    sets.push(`${column} = CASE WHEN j ? '${column}' THEN ${jsonField(column, cast)} ELSE c.${column} END`);
  }
  const answered = "CASE WHEN j ? 'answered_at' THEN (j->>'answered_at')::timestamptz ELSE c.answered_at END";
  const patched = (column: string, cast: string): string => `CASE WHEN j ? '${column}' THEN (j->>'${column}')${cast} ELSE c.${column} END`;
  sets.push(
    `status = CASE WHEN ${END_APPLIES} THEN j->>'end_status' ELSE ${patched('status', '')} END`,
    `ended_at = CASE WHEN ${END_APPLIES} THEN ${END_AT} ELSE ${patched('ended_at', '::timestamptz')} END`,
    `duration_s = CASE WHEN ${END_APPLIES} THEN GREATEST(0, EXTRACT(EPOCH FROM (${END_AT} - c.started_at)))::double precision ELSE c.duration_s END`,
    `billable_s = CASE WHEN ${END_APPLIES} THEN (CASE WHEN (${answered}) IS NULL THEN 0
       ELSE GREATEST(0, CEIL(EXTRACT(EPOCH FROM (${END_AT} - (${answered})))))::integer END) ELSE c.billable_s END`,
    `sip_code = COALESCE(CASE WHEN ${END_APPLIES} THEN (j->>'end_sip_code')::smallint END, ${patched('sip_code', '::smallint')})`,
    `hangup_cause = COALESCE(CASE WHEN ${END_APPLIES} THEN j->>'end_cause' END, ${patched('hangup_cause', '')})`,
    `hangup_side = COALESCE(CASE WHEN ${END_APPLIES} THEN j->>'end_side' END, ${patched('hangup_side', '')})`,
    `dtmf_digits = CASE WHEN j ? 'dtmf_digits' THEN j->>'dtmf_digits' ELSE c.dtmf_digits END || COALESCE(j->>'dtmf_append', '')`,
    `metadata = c.metadata || COALESCE(j->'metadata', '{}'::jsonb)`,
    'updated_at = now()',
  );
  return `UPDATE calls c SET ${sets.join(',\n    ')}
  FROM jsonb_array_elements($1::jsonb->'u') AS u(j) WHERE c.call_id = j->>'call_id'`;
}

function batchInsertSql(): string {
  // The row as it stands after the batch: the new call with its changes and (maybe) its end folded in.
  const columns = ['call_id', 'instance_id', 'direction', 'from_number', 'to_number', 'from_display', 'parent_call_id'];
  const values = columns.map((c) => `j->>'${c}'`);
  // The row id comes with the row (a random UUID drawn in Node, as gen_random_uuid() would draw it): in PGlite the
  // engine's own draw costs about as much as the rest of the insert's expressions together.
  columns.push('id');
  values.push("COALESCE((j->>'id')::uuid, gen_random_uuid())");
  for (const [column, cast] of Object.values(UPDATE_COLUMNS)) {
    if (column === 'status' || column === 'ended_at' || column === 'sip_code' || column === 'hangup_cause' || column === 'hangup_side') continue;
    columns.push(column);
    if (column === 'metadata') values.push(`COALESCE(j->'metadata', '{}'::jsonb)`);
    else if (column === 'dtmf_digits') values.push(`COALESCE(j->>'dtmf_digits', '') || COALESCE(j->>'dtmf_append', '')`);
    else if (column.startsWith('rtp_') && cast === '::bigint') values.push(`COALESCE(${jsonField(column, cast)}, 0)`);
    else values.push(jsonField(column, cast));
  }
  const ended = `CASE WHEN j ? 'end_status' THEN ${END_AT} ELSE (j->>'ended_at')::timestamptz END`;
  const started = "COALESCE((j->>'started_at')::timestamptz, now())";
  const answered = "(j->>'answered_at')::timestamptz";
  columns.push('status', 'started_at', 'ended_at', 'duration_s', 'billable_s', 'sip_code', 'hangup_cause', 'hangup_side');
  values.push(
    "COALESCE(j->>'end_status', j->>'status', 'initiated')",
    started,
    ended,
    `CASE WHEN (${ended}) IS NULL THEN NULL ELSE GREATEST(0, EXTRACT(EPOCH FROM ((${ended}) - ${started})))::double precision END`,
    `CASE WHEN (${ended}) IS NULL THEN NULL WHEN ${answered} IS NULL THEN 0
       ELSE GREATEST(0, CEIL(EXTRACT(EPOCH FROM ((${ended}) - ${answered}))))::integer END`,
    "COALESCE((j->>'end_sip_code')::smallint, (j->>'sip_code')::smallint)",
    "COALESCE(j->>'end_cause', j->>'hangup_cause')",
    "COALESCE(j->>'end_side', j->>'hangup_side')",
  );
  return `INSERT INTO calls (${columns.join(', ')})
  SELECT ${values.join(',\n    ')}
  FROM jsonb_array_elements($1::jsonb->'i') AS i(j)`;
}

// Inserts and updates touch different calls (a call created in this batch is inserted with its changes folded in),
// so the three parts cannot see each other's rows; call_events' foreign key is checked at the end of the statement,
// after the CDR insert. Events keep the order of the array (identity values follow it).
const BATCH_SQL = `WITH ins AS (
  ${batchInsertSql()}
), upd AS (
  ${batchUpdateSql()}
)
INSERT INTO call_events (call_id, type, data, at)
SELECT e->>'call_id', e->>'type', COALESCE(e->'data', '{}'::jsonb), COALESCE((e->>'at')::timestamptz, now())
FROM jsonb_array_elements($1::jsonb->'e') WITH ORDINALITY AS x(e, n) ORDER BY n`;

/** Prepared once per connection: planning this statement costs more than running it for a few calls. */
const BATCH_STATEMENT: PreparedQuery = { name: 'cdr_write_batch_v2', text: BATCH_SQL };

type BatchRow = Record<string, JsonValue | Date | undefined>;

/** A CallUpdate as batch-row keys (column names); only the keys present in the patch. */
function putUpdate(row: BatchRow, patch: CallUpdate): void {
  for (const key of Object.keys(patch) as (keyof CallUpdate)[]) {
    const value = patch[key];
    const spec = UPDATE_COLUMNS[key];
    if (value === undefined || spec === undefined) continue;
    row[spec[0]] = value;
  }
}

function putEnd(row: BatchRow, end: CallEnd): void {
  row['end_status'] = end.status;
  if (end.endedAt !== undefined) row['end_at'] = end.endedAt;
  if (end.sipCode !== undefined) row['end_sip_code'] = end.sipCode;
  if (end.hangupCause !== undefined) row['end_cause'] = end.hangupCause;
  if (end.hangupSide !== undefined) row['end_side'] = end.hangupSide;
}

/** The batch as the one jsonb parameter of BATCH_SQL. */
function batchParam(entries: readonly CallBatchEntry[]): string {
  const inserts: BatchRow[] = [];
  const updates: BatchRow[] = [];
  const events: BatchRow[] = [];
  for (const entry of entries) {
    const row: BatchRow = { call_id: entry.callId };
    const c = entry.create;
    if (c) {
      row['id'] = randomUUID();
      row['instance_id'] = c.instanceId;
      row['direction'] = c.direction;
      row['from_number'] = c.fromNumber;
      row['to_number'] = c.toNumber;
      row['from_display'] = c.fromDisplay;
      row['parent_call_id'] = c.parentCallId;
      row['trunk_id'] = c.trunkId;
      row['remote_address'] = c.remoteAddress;
      row['status'] = c.status;
      row['started_at'] = c.startedAt;
      row['codec'] = c.codec;
      row['webhook_url'] = c.webhookUrl;
      row['metadata'] = c.metadata;
    }
    const u = entry.update;
    if (u) {
      const meta = u.metadata;
      putUpdate(row, u);
      if (c && meta) row['metadata'] = { ...(c.metadata ?? {}), ...meta };
    }
    if (entry.appendDtmf) row['dtmf_append'] = entry.appendDtmf;
    if (entry.end) putEnd(row, entry.end);
    const hasChange = c !== undefined || u !== undefined || entry.appendDtmf || entry.end !== undefined;
    if (c) inserts.push(row);
    else if (hasChange) updates.push(row);
    if (entry.events) {
      for (const ev of entry.events) events.push({ call_id: entry.callId, type: ev.type, data: ev.data, at: ev.at });
    }
  }
  // JSON.stringify writes Dates as ISO-8601 UTC with milliseconds and leaves out undefined keys ("keep").
  return JSON.stringify({ i: inserts, u: updates, e: events });
}

/**
 * Call detail records. Every write is an awaited statement: once a method resolves, the row is
 * committed (no write-behind buffer that a kill -9 could lose).
 */
export class CallRepository {
  constructor(private readonly db: Queryable) {}

  /** Insert the CDR of a new call. Throws on a duplicate Call-ID (SQLSTATE 23505). */
  async create(call: NewCall): Promise<CallRecord> {
    const res = await this.db.query(
      `INSERT INTO calls (call_id, instance_id, direction, from_number, to_number, from_display, parent_call_id,
                          trunk_id, remote_address, status, started_at, codec, webhook_url, metadata)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::uuid, $9, $10, COALESCE($11::timestamptz, now()), $12, $13, $14::jsonb)
       RETURNING *`,
      [
        call.callId,
        call.instanceId,
        call.direction,
        call.fromNumber,
        call.toNumber,
        call.fromDisplay ?? null,
        call.parentCallId ?? null,
        call.trunkId ?? null,
        call.remoteAddress ?? null,
        call.status ?? 'initiated',
        call.startedAt ?? null,
        call.codec ?? null,
        call.webhookUrl ?? null,
        jsonParam(call.metadata ?? {}),
      ],
    );
    return toRecord(res.rows[0]);
  }

  /** Change fields of a call; undefined when no such call. */
  async update(callId: string, patch: CallUpdate): Promise<CallRecord | undefined> {
    const sets: string[] = [];
    const params: SqlParam[] = [callId];
    for (const key of Object.keys(patch) as (keyof CallUpdate)[]) {
      const value = patch[key];
      const spec = UPDATE_COLUMNS[key];
      if (value === undefined || spec === undefined) continue;
      const [column, cast] = spec;
      if (key === 'metadata') {
        params.push(jsonParam(value as JsonObject));
        sets.push(`metadata = metadata || $${params.length}::jsonb`);
      } else {
        params.push(value as SqlParam);
        sets.push(`${column} = $${params.length}${cast}`);
      }
    }
    if (sets.length === 0) return this.getByCallId(callId);
    sets.push('updated_at = now()');
    const res = await this.db.query(`UPDATE calls SET ${sets.join(', ')} WHERE call_id = $1 RETURNING *`, params);
    return res.rows[0] ? toRecord(res.rows[0]) : undefined;
  }

  /**
   * Apply the writes of many calls in one statement (one round trip, one commit): CDR inserts with their first
   * changes folded in, CDR updates and ends, and call_events rows. Atomic: on error nothing of the batch is written
   * (the caller may retry entries one by one to isolate a bad one). Resolves once committed. An entry must not
   * both `create` a call and be followed by another entry for the same call in the same batch.
   */
  async writeBatch(entries: readonly CallBatchEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const param = batchParam(entries);
    if (this.db.runPrepared) await this.db.runPrepared(BATCH_STATEMENT, [param]);
    else await this.db.query(BATCH_SQL, [param]);
  }

  /** Mark the call answered (status and answer time). */
  answer(callId: string, answeredAt?: Date): Promise<CallRecord | undefined> {
    return this.queryOne(
      `UPDATE calls SET status = 'answered', answered_at = COALESCE($2::timestamptz, now()), updated_at = now()
       WHERE call_id = $1 AND ended_at IS NULL RETURNING *`,
      [callId, answeredAt ?? null],
      callId,
    );
  }

  /**
   * Close the call with its final state, computing duration and billable seconds in the database.
   * Idempotent: a call already ended keeps its first end (BYE and a timeout can race).
   */
  end(callId: string, end: CallEnd): Promise<CallRecord | undefined> {
    const endExpr = 'COALESCE($3::timestamptz, now())';
    return this.queryOne(
      `UPDATE calls SET status = $2, ended_at = ${endExpr}, duration_s = ${durationSql(endExpr)}, billable_s = ${billableSql(endExpr)},
              sip_code = COALESCE($4::smallint, sip_code), hangup_cause = COALESCE($5, hangup_cause),
              hangup_side = COALESCE($6, hangup_side), updated_at = now()
       WHERE call_id = $1 AND ended_at IS NULL
       RETURNING *`,
      [callId, end.status, end.endedAt ?? null, end.sipCode ?? null, end.hangupCause ?? null, end.hangupSide ?? null],
      callId,
    );
  }

  /** Append DTMF digits atomically (no read-modify-write race between two detectors). */
  appendDtmf(callId: string, digits: string): Promise<CallRecord | undefined> {
    return this.queryOne(
      'UPDATE calls SET dtmf_digits = dtmf_digits || $2, updated_at = now() WHERE call_id = $1 RETURNING *',
      [callId, digits],
      callId,
    );
  }

  /**
   * Close every call an instance left open (after a crash, at start-up; or at shutdown), with `cause`.
   * Answered calls become `completed`, others `failed`. Returns how many were closed.
   */
  async closeOpenCalls(instanceId: string, cause: string, endedAt?: Date): Promise<number> {
    const endExpr = 'GREATEST(started_at, COALESCE($3::timestamptz, now()))';
    const res = await this.db.query(
      `UPDATE calls SET status = CASE WHEN answered_at IS NOT NULL THEN 'completed' ELSE 'failed' END,
                        ended_at = ${endExpr}, duration_s = ${durationSql(endExpr)}, billable_s = ${billableSql(endExpr)},
                        hangup_cause = $2, hangup_side = 'system', updated_at = now()
       WHERE instance_id = $1 AND ended_at IS NULL`,
      [instanceId, cause, endedAt ?? null],
    );
    return res.rowCount;
  }

  async getByCallId(callId: string): Promise<CallRecord | undefined> {
    const res = await this.db.query('SELECT * FROM calls WHERE call_id = $1', [callId]);
    return res.rows[0] ? toRecord(res.rows[0]) : undefined;
  }

  async getById(id: string): Promise<CallRecord | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const res = await this.db.query('SELECT * FROM calls WHERE id = $1::uuid', [id]);
    return res.rows[0] ? toRecord(res.rows[0]) : undefined;
  }

  /** Newest first, filtered, keyset-paginated (stable while new calls arrive). */
  async list(filter: CallListFilter = {}): Promise<CallPage> {
    return pageHistory(this.db, 'calls', 'started_at', filter, toRecord, (add, where) => {
      if (filter.instanceId !== undefined) where.push(`instance_id = ${add(filter.instanceId)}`);
    });
  }

  /** The row an UPDATE returned, or the current row when the UPDATE matched nothing (already ended). */
  private async queryOne(sql: string, params: SqlParam[], callId: string): Promise<CallRecord | undefined> {
    const res = await this.db.query(sql, params);
    return res.rows[0] ? toRecord(res.rows[0]) : this.getByCallId(callId);
  }
}

import { cursorTsSql, decodeCursor, encodeCursor } from './cursor';
import type { Queryable, SqlParam } from './database';
import { date, dateOrNull, jsonObject, jsonParam, num, numOrNull, strOrNull, type JsonObject } from './row-values';

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

const MAX_PAGE = 500;

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
    const where: string[] = [];
    const params: SqlParam[] = [];
    const add = (value: SqlParam): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.number !== undefined) {
      const p = add(filter.number);
      where.push(`(from_number = ${p} OR to_number = ${p})`);
    }
    if (filter.direction !== undefined) where.push(`direction = ${add(filter.direction)}`);
    if (filter.status !== undefined) {
      const statuses = typeof filter.status === 'string' ? [filter.status] : [...filter.status];
      where.push(`status = ANY(${add(statuses)}::text[])`);
    }
    if (filter.instanceId !== undefined) where.push(`instance_id = ${add(filter.instanceId)}`);
    if (filter.from !== undefined) where.push(`started_at >= ${add(filter.from)}::timestamptz`);
    if (filter.to !== undefined) where.push(`started_at < ${add(filter.to)}::timestamptz`);
    if (filter.cursor !== undefined) {
      const c = decodeCursor(filter.cursor);
      where.push(`(started_at, id) < (${add(c.ts)}::timestamptz, ${add(c.id)}::uuid)`);
    }
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 50), 1), MAX_PAGE);
    const res = await this.db.query(
      `SELECT *, ${cursorTsSql('started_at')} AS cursor_ts FROM calls
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY started_at DESC, id DESC LIMIT ${add(limit + 1)}`,
      params,
    );
    const more = res.rows.length > limit;
    const rows = more ? res.rows.slice(0, limit) : res.rows;
    const last = rows[rows.length - 1];
    return {
      items: rows.map(toRecord),
      nextCursor: more && last ? encodeCursor(String(last['cursor_ts']), String(last['id'])) : null,
    };
  }

  /** The row an UPDATE returned, or the current row when the UPDATE matched nothing (already ended). */
  private async queryOne(sql: string, params: SqlParam[], callId: string): Promise<CallRecord | undefined> {
    const res = await this.db.query(sql, params);
    return res.rows[0] ? toRecord(res.rows[0]) : this.getByCallId(callId);
  }
}

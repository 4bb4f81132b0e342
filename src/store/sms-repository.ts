import { randomUUID } from 'node:crypto';
import { pageHistory } from './cursor';
import type { Queryable } from './database';
import { date, dateOrNull, jsonObject, jsonParam, num, numOrNull, strOrNull, type JsonObject } from './row-values';

export type SmsDirection = 'inbound' | 'outbound';
/**
 * Life of a message. Outbound: queued -> sending (leased by a worker) -> sent -> delivered, or back to queued for a
 * retry, or failed. Inbound: received.
 */
export type SmsRecordStatus = 'queued' | 'sending' | 'sent' | 'delivered' | 'failed' | 'received';
export const SMS_STATUSES: readonly SmsRecordStatus[] = ['queued', 'sending', 'sent', 'delivered', 'failed', 'received'];
export type SmsEncodingName = 'GSM-7' | 'UCS-2';

/** One row of sms_messages. */
export interface SmsRecord {
  id: string;
  direction: SmsDirection;
  fromNumber: string;
  toNumber: string;
  body: string;
  segments: number;
  encoding: SmsEncodingName | null;
  status: SmsRecordStatus;
  trunkId: string | null;
  /** Send attempts started (counted when a worker claims the message, so a crash mid-send still counts). */
  attempts: number;
  maxAttempts: number;
  /** When a queued message becomes due; null for inbound messages and finished ones. */
  nextAttemptAt: Date | null;
  /** Instance holding the lease while status is `sending`. */
  lockedBy: string | null;
  lockedUntil: Date | null;
  lastError: string | null;
  sipCallId: string | null;
  /** Final SIP status of the last attempt (0 = no response). */
  sipCode: number | null;
  /** Parts already acknowledged when sent one MESSAGE per segment. */
  segmentsSent: number;
  webhookUrl: string | null;
  metadata: JsonObject;
  createdAt: Date;
  sentAt: Date | null;
  deliveredAt: Date | null;
  updatedAt: Date;
}

export interface NewOutboundSms {
  fromNumber: string;
  toNumber: string;
  body: string;
  segments: number;
  encoding: SmsEncodingName;
  maxAttempts?: number;
  trunkId?: string;
  webhookUrl?: string;
  metadata?: JsonObject;
}

export interface NewInboundSms {
  fromNumber: string;
  toNumber: string;
  body: string;
  segments: number;
  encoding: SmsEncodingName;
  trunkId?: string;
  sipCallId?: string;
  metadata?: JsonObject;
}

/** One part of a concatenated inbound message (3GPP TS 23.040 §9.2.3.24.1 reference / total / sequence). */
export interface InboundSmsPart {
  fromNumber: string;
  toNumber: string;
  /** Concatenation reference, 0-65535. */
  ref: number;
  total: number;
  /** 1-based. */
  seq: number;
  body: string;
  /** Alphabet of this part's text; the assembled message is UCS-2 when any part is. */
  encoding: SmsEncodingName;
  trunkId?: string;
  sipCallId?: string;
}

export interface SmsListFilter {
  /** Matches either party. */
  number?: string;
  direction?: SmsDirection;
  status?: SmsRecordStatus | readonly SmsRecordStatus[];
  /** created_at >= from */
  from?: Date;
  /** created_at < to */
  to?: Date;
  /** Page size, 1-500. Default 50. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface SmsPage {
  items: SmsRecord[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** What a worker learnt from one attempt. */
export interface SmsAttemptResult {
  sipCode: number;
  error?: string;
  sipCallId?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toRecord(row: Record<string, unknown>): SmsRecord {
  return {
    id: String(row['id']),
    direction: row['direction'] as SmsDirection,
    fromNumber: String(row['from_number']),
    toNumber: String(row['to_number']),
    body: String(row['body']),
    segments: num(row['segments']),
    encoding: strOrNull(row['encoding']) as SmsEncodingName | null,
    status: row['status'] as SmsRecordStatus,
    trunkId: strOrNull(row['trunk_id']),
    attempts: num(row['attempts']),
    maxAttempts: num(row['max_attempts']),
    nextAttemptAt: dateOrNull(row['next_attempt_at']),
    lockedBy: strOrNull(row['locked_by']),
    lockedUntil: dateOrNull(row['locked_until']),
    lastError: strOrNull(row['last_error']),
    sipCallId: strOrNull(row['sip_call_id']),
    sipCode: numOrNull(row['sip_code']),
    segmentsSent: num(row['segments_sent']),
    webhookUrl: strOrNull(row['webhook_url']),
    metadata: jsonObject(row['metadata']),
    createdAt: date(row['created_at']),
    sentAt: dateOrNull(row['sent_at']),
    deliveredAt: dateOrNull(row['delivered_at']),
    updatedAt: date(row['updated_at']),
  };
}

// Every worker-side write is fenced by the lease: it applies only while this instance still holds the message
// in `sending`. A worker whose lease expired (paused process, lost database connection) cannot overwrite the
// outcome recorded by the instance that re-claimed the message.
const FENCE = "status = 'sending' AND locked_by = $2";

// Rows of one concatenated inbound message, assembled in sequence order. Missing parts are listed in metadata.
const ASSEMBLE_SELECT = `
  SELECT from_number, to_number, string_agg(body, '' ORDER BY seq) AS body, max(total) AS total, count(*) AS got,
         (array_agg(trunk_id ORDER BY seq))[1] AS trunk_id, (array_agg(sip_call_id ORDER BY seq DESC))[1] AS sip_call_id,
         ref, array_agg(seq ORDER BY seq) AS seqs,
         CASE WHEN bool_or(encoding = 'UCS-2') THEN 'UCS-2' ELSE 'GSM-7' END AS encoding
  FROM taken GROUP BY from_number, to_number, ref`;

const ASSEMBLE_INSERT = `
  INSERT INTO sms_messages (direction, from_number, to_number, body, segments, encoding, status, trunk_id, sip_call_id, metadata)
  SELECT 'inbound', a.from_number, a.to_number, a.body, a.total, a.encoding, 'received', a.trunk_id, a.sip_call_id,
         jsonb_build_object('concat', jsonb_build_object('ref', a.ref, 'total', a.total, 'received', a.got))
         || CASE WHEN a.got < a.total THEN jsonb_build_object('incomplete', true,
              'missingParts', (SELECT to_jsonb(array_agg(s)) FROM generate_series(1, a.total) s WHERE NOT (s = ANY(a.seqs))))
            ELSE '{}'::jsonb END
  FROM assembled a
  RETURNING *`;

/**
 * The SMS store: the durable outbound queue (claimed by workers with leases, safe with several instances on one
 * PostgreSQL) and the message history of both directions. Every method is one awaited statement: once it
 * resolves, the change is committed.
 */
export class SmsRepository {
  constructor(private readonly db: Queryable) {}

  /** Store an outbound message as `queued`, due now. Resolves only after the row is committed. */
  async enqueue(msg: NewOutboundSms): Promise<SmsRecord> {
    const res = await this.db.query(
      `INSERT INTO sms_messages (direction, from_number, to_number, body, segments, encoding, status, max_attempts,
                                 next_attempt_at, trunk_id, webhook_url, metadata)
       VALUES ('outbound', $1, $2, $3, $4, $5, 'queued', $6, now(), $7::uuid, $8, $9::jsonb)
       RETURNING *`,
      [
        msg.fromNumber,
        msg.toNumber,
        msg.body,
        msg.segments,
        msg.encoding,
        msg.maxAttempts ?? 5,
        msg.trunkId ?? null,
        msg.webhookUrl ?? null,
        jsonParam(msg.metadata ?? {}),
      ],
    );
    return toRecord(res.rows[0]);
  }

  /**
   * Store several outbound messages in one statement (one commit): the results are in input order. All or none:
   * a row that violates a constraint (an unknown trunk) fails the whole call, so callers retry items one by one.
   */
  async enqueueMany(msgs: readonly NewOutboundSms[]): Promise<SmsRecord[]> {
    if (msgs.length === 0) return [];
    const ids = msgs.map(() => randomUUID());
    const res = await this.db.query(
      `INSERT INTO sms_messages (id, direction, from_number, to_number, body, segments, encoding, status, max_attempts,
                                 next_attempt_at, trunk_id, webhook_url, metadata)
       SELECT u.id, 'outbound', u.f, u.t, u.b, u.s, u.e, 'queued', u.m, now(), NULLIF(u.tr, '')::uuid, NULLIF(u.w, ''), u.md::jsonb
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::integer[], $8::text[], $9::text[], $10::text[])
            AS u(id, f, t, b, s, e, m, tr, w, md)
       RETURNING *`,
      [
        ids,
        msgs.map((m) => m.fromNumber),
        msgs.map((m) => m.toNumber),
        msgs.map((m) => m.body),
        msgs.map((m) => m.segments),
        msgs.map((m) => m.encoding),
        msgs.map((m) => m.maxAttempts ?? 5),
        msgs.map((m) => m.trunkId ?? ''),
        msgs.map((m) => m.webhookUrl ?? ''),
        msgs.map((m) => JSON.stringify(m.metadata ?? {})),
      ],
    );
    const byId = new Map(res.rows.map((r) => [String(r['id']), r]));
    return ids.map((id) => toRecord(byId.get(id) as Record<string, unknown>));
  }

  /** Store a received (complete, single-part) inbound message. */
  async insertInbound(msg: NewInboundSms): Promise<SmsRecord> {
    const res = await this.db.query(
      `INSERT INTO sms_messages (direction, from_number, to_number, body, segments, encoding, status, trunk_id, sip_call_id, metadata)
       VALUES ('inbound', $1, $2, $3, $4, $5, 'received', $6::uuid, $7, $8::jsonb)
       RETURNING *`,
      [msg.fromNumber, msg.toNumber, msg.body, msg.segments, msg.encoding, msg.trunkId ?? null, msg.sipCallId ?? null, jsonParam(msg.metadata ?? {})],
    );
    return toRecord(res.rows[0]);
  }

  /**
   * Store one part of a concatenated inbound message. When it completes its set, the parts are removed and the
   * whole message is stored and returned; otherwise undefined. A duplicate part (same sender, recipient,
   * reference and sequence) is ignored. Safe when the parts of one message reach several instances at once: the
   * assembling statement deletes the parts and inserts the message in one statement, so exactly one caller gets
   * them (a concurrent DELETE finds the rows gone and inserts nothing), and no crash can lose acknowledged parts.
   */
  async addInboundPart(part: InboundSmsPart): Promise<SmsRecord | undefined> {
    await this.db.query(
      `INSERT INTO sms_inbound_parts (from_number, to_number, ref, total, seq, body, encoding, trunk_id, sip_call_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::uuid, $9) ON CONFLICT DO NOTHING`,
      [part.fromNumber, part.toNumber, part.ref, part.total, part.seq, part.body, part.encoding, part.trunkId ?? null, part.sipCallId ?? null],
    );
    const key = 'from_number = $1 AND to_number = $2 AND ref = $3';
    const res = await this.db.query(
      `WITH taken AS (
         DELETE FROM sms_inbound_parts WHERE ${key}
           AND (SELECT count(*) FROM sms_inbound_parts WHERE ${key}) >= (SELECT max(total) FROM sms_inbound_parts WHERE ${key})
         RETURNING *),
       assembled AS (${ASSEMBLE_SELECT})
       ${ASSEMBLE_INSERT}`,
      [part.fromNumber, part.toNumber, part.ref],
    );
    return res.rows[0] ? toRecord(res.rows[0]) : undefined;
  }

  /**
   * Give up waiting for the missing parts of sets whose first part arrived more than `olderThanMs` ago: store
   * what arrived as one message marked `incomplete` (with `missingParts`), rather than lose acknowledged text.
   * One statement per call (DELETE ... RETURNING feeding the INSERT), so two instances sweeping at once cannot
   * store a set twice.
   */
  async expireInboundParts(olderThanMs: number): Promise<SmsRecord[]> {
    const res = await this.db.query(
      `WITH stale AS (
         SELECT from_number, to_number, ref FROM sms_inbound_parts GROUP BY from_number, to_number, ref
         HAVING min(received_at) < now() - $1::double precision * interval '1 millisecond'),
       taken AS (
         DELETE FROM sms_inbound_parts p USING stale s
         WHERE p.from_number = s.from_number AND p.to_number = s.to_number AND p.ref = s.ref
         RETURNING p.*),
       assembled AS (${ASSEMBLE_SELECT})
       ${ASSEMBLE_INSERT}`,
      [olderThanMs],
    );
    return res.rows.map(toRecord);
  }

  async get(id: string): Promise<SmsRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const res = await this.db.query('SELECT * FROM sms_messages WHERE id = $1::uuid', [id]);
    return res.rows[0] ? toRecord(res.rows[0]) : undefined;
  }

  /** Newest first, filtered, keyset-paginated (stable while new messages arrive). */
  async list(filter: SmsListFilter = {}): Promise<SmsPage> {
    return pageHistory(this.db, 'sms_messages', 'created_at', filter, toRecord);
  }

  /**
   * Lease up to `limit` due outbound messages to `instanceId` for `leaseMs`: queued ones whose next attempt is
   * due, and `sending` ones whose lease expired (their worker crashed or stalled). `FOR UPDATE SKIP LOCKED`
   * makes concurrent claims from several instances take disjoint rows without waiting on each other; the
   * attempt is counted here, before anything is sent, so a crash mid-send still counts against max_attempts.
   */
  async claimDue(instanceId: string, limit: number, leaseMs: number): Promise<SmsRecord[]> {
    const res = await this.db.query(
      `UPDATE sms_messages SET status = 'sending', locked_by = $1,
              locked_until = now() + $2::double precision * interval '1 millisecond',
              attempts = attempts + 1, updated_at = now()
       WHERE id IN (
         SELECT id FROM sms_messages
         WHERE direction = 'outbound'
           AND ((status = 'queued' AND next_attempt_at <= now()) OR (status = 'sending' AND locked_until < now()))
         ORDER BY next_attempt_at, created_at
         LIMIT $3
         FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [instanceId, leaseMs, Math.max(1, Math.trunc(limit))],
    );
    return res.rows.map(toRecord);
  }

  /**
   * Start of a worker: `sending` rows leased to `instanceId` were left by an earlier run of this instance that died
   * (SIGKILL, crash) before writing their outcome; a running instance holds no leases yet. They are queued again,
   * due now, instead of waiting out the lease. Their counted attempt stays counted, acknowledged segments stay
   * acknowledged. Correct only while no other running process uses the same instance id.
   */
  async releaseLeases(instanceId: string): Promise<number> {
    const res = await this.db.query(
      `UPDATE sms_messages SET status = 'queued', locked_by = NULL, locked_until = NULL, next_attempt_at = now(), updated_at = now()
       WHERE status = 'sending' AND locked_by = $1`,
      [instanceId],
    );
    return res.rowCount;
  }

  /**
   * A part of a segmented message was acknowledged; a retry resumes after it. The lease is renewed for `leaseMs`,
   * since each part may take a full transaction timeout. False when the lease was lost.
   */
  async recordSegmentsSent(id: string, instanceId: string, segmentsSent: number, leaseMs: number, sipCallId?: string): Promise<boolean> {
    const res = await this.db.query(
      `UPDATE sms_messages SET segments_sent = GREATEST(segments_sent, $3), sip_call_id = COALESCE($4, sip_call_id),
              locked_until = now() + $5::double precision * interval '1 millisecond', updated_at = now()
       WHERE id = $1::uuid AND ${FENCE}`,
      [id, instanceId, segmentsSent, sipCallId ?? null, leaseMs],
    );
    return res.rowCount > 0;
  }

  /** The peer accepted the message (2xx). The updated row; undefined when the lease was lost (or a receipt already moved it on). */
  async markSent(id: string, instanceId: string, result: SmsAttemptResult): Promise<SmsRecord | undefined> {
    const res = await this.db.query(
      `UPDATE sms_messages SET status = 'sent', sent_at = now(), sip_code = $3, sip_call_id = COALESCE($4, sip_call_id),
              segments_sent = segments, last_error = NULL, locked_by = NULL, locked_until = NULL, next_attempt_at = NULL,
              updated_at = now()
       WHERE id = $1::uuid AND ${FENCE}
       RETURNING *`,
      [id, instanceId, result.sipCode, result.sipCallId ?? null],
    );
    return res.rows[0] ? toRecord(res.rows[0]) : undefined;
  }

  /**
   * markSent for several messages in one statement (one commit). Results in input order; undefined where the lease
   * was lost.
   */
  async markSentMany(instanceId: string, items: readonly { id: string; result: SmsAttemptResult }[]): Promise<(SmsRecord | undefined)[]> {
    if (items.length === 0) return [];
    const res = await this.db.query(
      `UPDATE sms_messages m SET status = 'sent', sent_at = now(), sip_code = u.code, sip_call_id = COALESCE(NULLIF(u.cid, ''), m.sip_call_id),
              segments_sent = m.segments, last_error = NULL, locked_by = NULL, locked_until = NULL, next_attempt_at = NULL,
              updated_at = now()
       FROM unnest($2::uuid[], $3::integer[], $4::text[]) AS u(id, code, cid)
       WHERE m.id = u.id AND m.status = 'sending' AND m.locked_by = $1
       RETURNING m.*`,
      [instanceId, items.map((i) => i.id), items.map((i) => i.result.sipCode), items.map((i) => i.result.sipCallId ?? '')],
    );
    const byId = new Map(res.rows.map((r) => [String(r['id']), r]));
    return items.map((i) => {
      const row = byId.get(i.id);
      return row ? toRecord(row) : undefined;
    });
  }

  /** Back to the queue, due after `delayMs`. Undefined when the lease was lost. */
  async scheduleRetry(id: string, instanceId: string, delayMs: number, result: SmsAttemptResult): Promise<SmsRecord | undefined> {
    const res = await this.db.query(
      `UPDATE sms_messages SET status = 'queued', next_attempt_at = now() + $3::double precision * interval '1 millisecond',
              sip_code = $4, last_error = $5, sip_call_id = COALESCE($6, sip_call_id), locked_by = NULL, locked_until = NULL,
              updated_at = now()
       WHERE id = $1::uuid AND ${FENCE}
       RETURNING *`,
      [id, instanceId, Math.max(0, delayMs), result.sipCode, result.error ?? null, result.sipCallId ?? null],
    );
    return res.rows[0] ? toRecord(res.rows[0]) : undefined;
  }

  /** Final failure. Undefined when the lease was lost. */
  async markFailed(id: string, instanceId: string, result: SmsAttemptResult): Promise<SmsRecord | undefined> {
    const res = await this.db.query(
      `UPDATE sms_messages SET status = 'failed', sip_code = $3, last_error = $4, sip_call_id = COALESCE($5, sip_call_id),
              locked_by = NULL, locked_until = NULL, next_attempt_at = NULL, updated_at = now()
       WHERE id = $1::uuid AND ${FENCE}
       RETURNING *`,
      [id, instanceId, result.sipCode, result.error ?? null, result.sipCallId ?? null],
    );
    return res.rows[0] ? toRecord(res.rows[0]) : undefined;
  }

  /**
   * A delivery receipt arrived. Positive: `delivered`. Negative: `failed` with the reason. Applies to outbound
   * messages that left us (`sent`) or are being sent (the receipt can overtake our own write of the 2xx).
   * Undefined when no such message is in one of those states (unknown id, duplicate receipt).
   */
  async recordReceipt(id: string, delivered: boolean, error?: string): Promise<SmsRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const res = await this.db.query(
      delivered
        ? `UPDATE sms_messages SET status = 'delivered', delivered_at = now(), sent_at = COALESCE(sent_at, now()),
                  locked_by = NULL, locked_until = NULL, next_attempt_at = NULL, updated_at = now()
           WHERE id = $1::uuid AND direction = 'outbound' AND status IN ('sent', 'sending') RETURNING *`
        : `UPDATE sms_messages SET status = 'failed', last_error = $2, locked_by = NULL, locked_until = NULL,
                  next_attempt_at = NULL, updated_at = now()
           WHERE id = $1::uuid AND direction = 'outbound' AND status IN ('sent', 'sending') RETURNING *`,
      delivered ? [id] : [id, error ?? 'delivery failed'],
    );
    return res.rows[0] ? toRecord(res.rows[0]) : undefined;
  }

  /** Outbound messages waiting to be sent or being sent (the queue depth gauge). */
  async queueDepth(): Promise<number> {
    const res = await this.db.query<{ n: unknown }>("SELECT count(*) AS n FROM sms_messages WHERE status IN ('queued', 'sending')");
    return num(res.rows[0]?.n);
  }
}

import type { Queryable } from './database';
import { date, jsonObject, jsonParam, num, type JsonObject } from './row-values';

/** One entry of a call's timeline (state change, DTMF, transfer, AI action...). */
export interface CallEvent {
  id: number;
  callId: string;
  at: Date;
  type: string;
  data: JsonObject;
}

function toEvent(row: Record<string, unknown>): CallEvent {
  return { id: num(row['id']), callId: String(row['call_id']), at: date(row['at']), type: String(row['type']), data: jsonObject(row['data']) };
}

/** The call timeline. Events reference the CDR, so create the call first. */
export class CallEventRepository {
  constructor(private readonly db: Queryable) {}

  /** Append an event; `at` defaults to the database clock. */
  async append(callId: string, type: string, data: JsonObject = {}, at?: Date): Promise<CallEvent> {
    const res = await this.db.query(
      'INSERT INTO call_events (call_id, type, data, at) VALUES ($1, $2, $3::jsonb, COALESCE($4::timestamptz, now())) RETURNING *',
      [callId, type, jsonParam(data), at ?? null],
    );
    return toEvent(res.rows[0]);
  }

  /** Events of a call in the order they were appended; `afterId` continues a previous page. */
  async listByCall(callId: string, options: { limit?: number; afterId?: number } = {}): Promise<CallEvent[]> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 1000), 1), 10_000);
    const res = await this.db.query('SELECT * FROM call_events WHERE call_id = $1 AND id > $2 ORDER BY id LIMIT $3', [
      callId,
      options.afterId ?? 0,
      limit,
    ]);
    return res.rows.map(toEvent);
  }
}

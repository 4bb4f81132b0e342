import type { Queryable, SqlParam } from './database';
import { cursorTsSql, decodeCursor, encodeCursor } from './cursor';
import { date, dateOrNull, numOrNull, strOrNull } from './row-values';

export type RecordingStatus = 'recording' | 'completed' | 'failed' | 'deleted';
/** What started a recording: the number's setting, originate's `record: true`, the API, or the AI platform. */
export type RecordingSource = 'number' | 'originate' | 'api' | 'ai';
/** Stereo with the caller on the left and the other side on the right, or one mixed channel. */
export type RecordingLayout = 'caller-left' | 'mixed';

/** One recording of (part of) a call. */
export interface RecordingRecord {
  id: string;
  callId: string;
  /** Absolute path of the WAV file on the instance that wrote it. */
  filePath: string;
  /** File name under RECORDINGS_DIR. */
  fileName: string;
  format: string;
  channels: 1 | 2;
  sampleRate: number;
  layout: RecordingLayout;
  status: RecordingStatus;
  source: RecordingSource;
  durationS: number | null;
  sizeBytes: number | null;
  instanceId: string | null;
  error: string | null;
  startedAt: Date;
  endedAt: Date | null;
  createdAt: Date;
}

export interface NewRecording {
  callId: string;
  filePath: string;
  fileName: string;
  channels: 1 | 2;
  sampleRate: number;
  layout: RecordingLayout;
  source: RecordingSource;
  instanceId: string;
  startedAt?: Date;
}

export interface RecordingCompletion {
  durationS: number;
  sizeBytes: number;
  endedAt: Date;
}

export interface RecordingListFilter {
  callId?: string;
  status?: RecordingStatus;
  /** Page size 1-500, default 50. */
  limit?: number;
  cursor?: string;
}

export interface RecordingPage {
  items: RecordingRecord[];
  nextCursor: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toRecording(row: Record<string, unknown>): RecordingRecord {
  const path = String(row['file_path']);
  return {
    id: String(row['id']),
    callId: String(row['call_id']),
    filePath: path,
    fileName: strOrNull(row['file_name']) ?? path.slice(path.lastIndexOf('/') + 1),
    format: String(row['format']),
    channels: Number(row['channels']) === 1 ? 1 : 2,
    sampleRate: Number(row['sample_rate']),
    layout: row['layout'] === 'mixed' ? 'mixed' : 'caller-left',
    status: row['status'] as RecordingStatus,
    source: row['source'] as RecordingSource,
    durationS: numOrNull(row['duration_s']),
    sizeBytes: numOrNull(row['size_bytes']),
    instanceId: strOrNull(row['instance_id']),
    error: strOrNull(row['error']),
    startedAt: date(row['started_at']),
    endedAt: dateOrNull(row['ended_at']),
    createdAt: date(row['created_at']),
  };
}

/**
 * Recordings (files under RECORDINGS_DIR) and their link to the CDR: a completed recording sets
 * `calls.recording_id`, so the CDR names the latest recording of the call; every recording of a call is found
 * by `call_id`. Deleted recordings keep their row (status `deleted`) so the CDR link stays explainable.
 */
export class RecordingRepository {
  constructor(private readonly db: Queryable) {}

  async create(r: NewRecording): Promise<RecordingRecord> {
    const res = await this.db.query(
      `INSERT INTO recordings (call_id, file_path, file_name, format, channels, sample_rate, layout, status, source, instance_id, started_at)
       VALUES ($1, $2, $3, 'wav', $4, $5, $6, 'recording', $7, $8, COALESCE($9::timestamptz, now())) RETURNING *`,
      [r.callId, r.filePath, r.fileName, r.channels, r.sampleRate, r.layout, r.source, r.instanceId, r.startedAt ?? null],
    );
    return toRecording(res.rows[0]);
  }

  async get(id: string): Promise<RecordingRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const res = await this.db.query('SELECT * FROM recordings WHERE id = $1', [id]);
    return res.rows[0] ? toRecording(res.rows[0]) : undefined;
  }

  /**
   * Mark a recording complete with its size and duration and point the CDR at it. Only a recording still in
   * progress changes (the first of two racing completions wins); undefined otherwise.
   */
  async complete(id: string, c: RecordingCompletion): Promise<RecordingRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const res = await this.db.query(
      `UPDATE recordings SET status = 'completed', duration_s = $2, size_bytes = $3, ended_at = $4::timestamptz
       WHERE id = $1 AND status = 'recording' RETURNING *`,
      [id, c.durationS, c.sizeBytes, c.endedAt],
    );
    const row = res.rows[0];
    if (!row) return undefined;
    const rec = toRecording(row);
    await this.db.query('UPDATE calls SET recording_id = $2, updated_at = now() WHERE call_id = $1', [rec.callId, rec.id]);
    return rec;
  }

  async fail(id: string, error: string): Promise<RecordingRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const res = await this.db.query(
      `UPDATE recordings SET status = 'failed', error = $2, ended_at = now() WHERE id = $1 AND status = 'recording' RETURNING *`,
      [id, error.slice(0, 500)],
    );
    return res.rows[0] ? toRecording(res.rows[0]) : undefined;
  }

  /** The file is gone: keep the row as `deleted`. True when the recording existed and was not deleted already. */
  async markDeleted(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const res = await this.db.query(`UPDATE recordings SET status = 'deleted' WHERE id = $1 AND status <> 'deleted'`, [id]);
    return res.rowCount > 0;
  }

  /** Every recording of a call, oldest first. */
  async listByCall(callId: string): Promise<RecordingRecord[]> {
    const res = await this.db.query('SELECT * FROM recordings WHERE call_id = $1 ORDER BY started_at, id', [callId]);
    return res.rows.map(toRecording);
  }

  /** Recordings newest first, keyset-paginated on (started_at, id). Deleted ones only when asked for by status. */
  async list(filter: RecordingListFilter = {}): Promise<RecordingPage> {
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 50), 1), 500);
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (filter.callId !== undefined) {
      params.push(filter.callId);
      where.push(`call_id = $${params.length}`);
    }
    if (filter.status !== undefined) {
      params.push(filter.status);
      where.push(`status = $${params.length}`);
    } else {
      where.push(`status <> 'deleted'`);
    }
    if (filter.cursor !== undefined) {
      const c = decodeCursor(filter.cursor);
      params.push(c.ts, c.id);
      where.push(`(started_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(limit + 1);
    const res = await this.db.query(
      `SELECT *, ${cursorTsSql('started_at')} AS cursor_ts FROM recordings WHERE ${where.join(' AND ')}
       ORDER BY started_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const rows = res.rows.slice(0, limit);
    const last = rows[rows.length - 1];
    return {
      items: rows.map(toRecording),
      nextCursor: res.rows.length > limit && last ? encodeCursor(String(last['cursor_ts']), String(last['id'])) : null,
    };
  }

  /** Crash recovery: recordings this instance left in progress are failed (their files may be truncated). */
  async failOpen(instanceId: string): Promise<number> {
    const res = await this.db.query(
      `UPDATE recordings SET status = 'failed', error = 'server-restart', ended_at = now() WHERE instance_id = $1 AND status = 'recording'`,
      [instanceId],
    );
    return res.rowCount;
  }
}

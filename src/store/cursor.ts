import { CodedError } from '../util';
import type { Queryable, SqlParam } from './database';

/** A pagination cursor from a client was not produced by us (tampered, truncated, other endpoint). */
export class InvalidCursorError extends CodedError {
  constructor() {
    super('INVALID_CURSOR', 'invalid pagination cursor');
  }
}

/**
 * Keyset cursor for lists ordered by (timestamp DESC, id DESC). The timestamp travels as the database's
 * own microsecond text, not a JS Date (milliseconds), or rows sharing a millisecond would be skipped.
 */
export function encodeCursor(ts: string, id: string): string {
  return Buffer.from(JSON.stringify([ts, id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { ts: string; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'string' ||
    typeof parsed[1] !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(parsed[0]) ||
    !/^[0-9a-f-]{36}$/.test(parsed[1])
  ) {
    throw new InvalidCursorError();
  }
  return { ts: parsed[0], id: parsed[1] };
}

/** SQL expression giving a timestamptz column as cursor text (UTC, microseconds). */
export function cursorTsSql(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Filters shared by the newest-first history lists (calls, SMS). */
export interface HistoryFilter {
  /** Matches either party. */
  number?: string;
  direction?: string;
  status?: string | readonly string[];
  /** time column >= from */
  from?: Date;
  /** time column < to */
  to?: Date;
  /** Page size, 1-500. Default 50. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

const MAX_HISTORY_PAGE = 500;

/**
 * One page of `table`, newest first by (`timeColumn`, id), keyset-paginated so it stays stable while new rows arrive.
 * `extra` adds table-specific conditions through the same parameter list.
 */
export async function pageHistory<R>(
  db: Queryable,
  table: string,
  timeColumn: string,
  filter: HistoryFilter,
  toRecord: (row: Record<string, unknown>) => R,
  extra?: (add: (value: SqlParam) => string, where: string[]) => void,
): Promise<{ items: R[]; nextCursor: string | null }> {
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
  extra?.(add, where);
  if (filter.from !== undefined) where.push(`${timeColumn} >= ${add(filter.from)}::timestamptz`);
  if (filter.to !== undefined) where.push(`${timeColumn} < ${add(filter.to)}::timestamptz`);
  if (filter.cursor !== undefined) {
    const c = decodeCursor(filter.cursor);
    where.push(`(${timeColumn}, id) < (${add(c.ts)}::timestamptz, ${add(c.id)}::uuid)`);
  }
  const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 50), 1), MAX_HISTORY_PAGE);
  const res = await db.query<Record<string, unknown>>(
    `SELECT *, ${cursorTsSql(timeColumn)} AS cursor_ts FROM ${table}
     ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY ${timeColumn} DESC, id DESC LIMIT ${add(limit + 1)}`,
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

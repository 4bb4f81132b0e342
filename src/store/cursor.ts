import { CodedError } from '../util';

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

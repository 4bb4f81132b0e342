/**
 * Conversions between database rows and records. Both backends return Date for timestamptz, parsed
 * objects for jsonb and numbers for int/bigint/real; these helpers make nullability explicit and guard
 * against a driver returning text.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function dateOrNull(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v;
  // A Date from another realm (rows structured-cloned from the PGlite worker into a vm context, as under
  // jest) fails instanceof; copy it through its time value rather than its lossy string form.
  if (Object.prototype.toString.call(v) === '[object Date]') return new Date((v as Date).getTime());
  return new Date(String(v));
}

export function date(v: unknown): Date {
  return dateOrNull(v) ?? new Date(Number.NaN);
}

export function numOrNull(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'number' ? v : Number(v);
}

export function num(v: unknown): number {
  return numOrNull(v) ?? 0;
}

export function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

export function jsonObject(v: unknown): JsonObject {
  if (typeof v === 'string') return jsonObject(JSON.parse(v) as unknown);
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : {};
}

export function jsonArray(v: unknown): JsonValue[] {
  if (typeof v === 'string') return jsonArray(JSON.parse(v) as unknown);
  return Array.isArray(v) ? (v as JsonValue[]) : [];
}

/** A jsonb parameter: always JSON text with a `::jsonb` cast in the SQL (pg would send a JS array as a Postgres array). */
export function jsonParam(v: JsonValue | readonly JsonValue[] | undefined): string | null {
  return v === undefined ? null : JSON.stringify(v);
}

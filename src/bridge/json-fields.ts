/**
 * Small, allocation-light readers for untrusted JSON objects from the AI. Every reader returns undefined for a
 * missing or mistyped field instead of throwing, so decoders can name the offending field in their error reply.
 */

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse text as a JSON object; undefined when it is not JSON or not an object (the caller tells them apart). */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : 'invalid JSON' };
  }
}

/**
 * A field read from `data` first, then from the top level: the seed's examples put call_id and target sometimes at
 * the top level (`{"type":"hangup","call_id":...}`) and sometimes inside `data`; both are accepted.
 */
export function field(msg: JsonObject, data: JsonObject | undefined, name: string): unknown {
  if (data !== undefined && data[name] !== undefined) return data[name];
  return msg[name];
}

export function stringField(msg: JsonObject, data: JsonObject | undefined, name: string): string | undefined {
  const v = field(msg, data, name);
  return typeof v === 'string' ? v : undefined;
}

/** A finite number, also accepted as a numeric string (jambonz sends `"sampleRate": "16000"`). */
export function numberField(msg: JsonObject, data: JsonObject | undefined, name: string): number | undefined {
  const v = field(msg, data, name);
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.length > 0 && v.length < 32) {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Largest decoded size written into a caller's scratch buffer; larger payloads (a whole WAV) get their own. */
export const MAX_SCRATCH_BYTES = 64 * 1024;

/**
 * Decode standard base64 (RFC 4648 §4). Buffer.from(.., 'base64') silently skips invalid characters, which would
 * turn a corrupt payload into noise on the caller's ear; we refuse it instead. Returns undefined when invalid.
 *
 * With a `scratch` holder, a payload of up to 64 KiB is decoded into its reused buffer (grown as needed) and the
 * result is a view of it, valid until the next call: no allocation per audio message.
 */
export function decodeBase64(s: string, scratch?: { buf: Buffer }): Buffer | undefined {
  if (s.length % 4 === 1 || !BASE64.test(s)) return undefined;
  const max = Math.ceil((s.length * 3) / 4);
  if (scratch === undefined || max > MAX_SCRATCH_BYTES) return Buffer.from(s, 'base64');
  if (scratch.buf.length < max) scratch.buf = Buffer.allocUnsafe(Math.min(MAX_SCRATCH_BYTES, Math.max(max, scratch.buf.length * 2)));
  const n = scratch.buf.write(s, 0, 'base64');
  return scratch.buf.subarray(0, n);
}

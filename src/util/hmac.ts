import { createHmac, timingSafeEqual } from 'node:crypto';

/** Prefix of a webhook signature value: names the algorithm so it can change without breaking receivers. */
export const WEBHOOK_SIGNATURE_PREFIX = 'sha256=';

/** Header that carries the signature of an outgoing webhook body. */
export const WEBHOOK_SIGNATURE_HEADER = 'X-Signature';

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * The `X-Signature` value of a webhook body: `sha256=` + lowercase hex HMAC-SHA256 (RFC 2104) of the exact
 * bytes sent. Sign the serialised body, never a re-serialisation of it: receivers verify the raw bytes.
 */
export function signWebhook(body: string | Buffer, key: string | Buffer): string {
  if (typeof key === 'string' ? key.length === 0 : key.byteLength === 0) throw new TypeError('webhook signing key must not be empty');
  return WEBHOOK_SIGNATURE_PREFIX + createHmac('sha256', key).update(body).digest('hex');
}

/**
 * True when `signature` (an `X-Signature` value) is the signature of `body` under `key`. The comparison is
 * constant time over the digest, so the check leaks nothing about how many leading characters matched.
 * A missing, malformed or differently prefixed value is simply false.
 */
export function verifyWebhookSignature(body: string | Buffer, key: string | Buffer, signature: string | undefined | null): boolean {
  if (typeof signature !== 'string' || !signature.startsWith(WEBHOOK_SIGNATURE_PREFIX)) return false;
  const hex = signature.slice(WEBHOOK_SIGNATURE_PREFIX.length).toLowerCase();
  if (!HEX_SHA256.test(hex)) return false;
  if (typeof key === 'string' ? key.length === 0 : key.byteLength === 0) return false;
  const expected = createHmac('sha256', key).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

import { z } from 'zod';
import { isHostOrIp, parseCidr } from '../../config';
import { parseUri } from '../../sip/message';

/** ITU-T E.164: '+', a non-zero country code digit, at most 15 digits in all. */
export const E164 = /^\+[1-9][0-9]{1,14}$/;
/** A dialable SIP user part (DIDs that are not E.164: short codes, extensions). */
const USER_PART = /^\+?[0-9A-Za-z*#._-]{1,64}$/;

export const e164Schema = z.string().regex(E164, 'must be an E.164 number such as +14155550123');

/** One of our numbers (a DID): E.164, or a dialable user part for local numbering plans. */
export const didSchema = z.string().regex(USER_PART, 'must be an E.164 number or a dialable user part');

export const uuidSchema = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID');

export const hostSchema = z.string().max(253).refine(isHostOrIp, 'must be a host name or IP address');

export const cidrSchema = z.string().max(64).refine((s) => parseCidr(s) !== undefined, 'must be an IP address or CIDR block');

/** A webhook URL: absolute http(s), no credentials in it (they would end up in logs). */
export const webhookUrlSchema = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.username === '' && u.password === '';
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL without credentials');

/** A call destination: an E.164 number or a sip:/sips: URI (RFC 3261 §19.1). */
export const destinationSchema = z
  .string()
  .max(512)
  .refine((s) => E164.test(s) || ((s.startsWith('sip:') || s.startsWith('sips:')) && parseUri(s) !== undefined), 'must be an E.164 number or a sip: URI');

/** Query integer (query strings are text). */
export function queryInt(min: number, max: number, fallback: number) {
  return z
    .string()
    .regex(/^\d{1,9}$/, 'must be a non-negative integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((v) => v ?? fallback);
}

export const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
  }),
});

/** The responses every authenticated route may give besides its own. */
export const AUTH_RESPONSES = {
  401: { description: 'Missing, invalid or expired token', schema: errorSchema },
  403: { description: 'Token lacks the scope, or the client address is not allowed', schema: errorSchema },
  429: { description: 'Rate limited; see Retry-After', schema: errorSchema },
} as const;

export const VALIDATION_RESPONSE = { 400: { description: 'Validation failed; error.field names the field', schema: errorSchema } } as const;
export const NOT_FOUND_RESPONSE = { 404: { description: 'No such resource', schema: errorSchema } } as const;

/** `status=a,b`: one status of `statuses` or a comma-separated list of them (duplicates folded). */
export function statusListQuery<T extends string>(statuses: readonly T[]) {
  const known: ReadonlySet<string> = new Set(statuses);
  return z
    .string()
    .max(200)
    .transform((s, ctx): T[] => {
      const out: T[] = [];
      for (const item of s.split(',')) {
        const v = item.trim();
        if (!known.has(v)) {
          ctx.addIssue({ code: 'custom', message: `must be one or more of ${statuses.join(', ')}, comma-separated` });
          return z.NEVER;
        }
        if (!out.includes(v as T)) out.push(v as T);
      }
      return out;
    })
    .optional();
}

/**
 * The query of a history list (calls, SMS): either party, direction, statuses, a [since, until) window on the
 * record's start time, and keyset pagination (`cursor` is the `next_cursor` of the previous page).
 */
export function historyQuerySchema<T extends string>(statuses: readonly T[]) {
  return z.strictObject({
    number: z.string().min(1).max(64).optional(),
    direction: z.enum(['inbound', 'outbound']).optional(),
    status: statusListQuery(statuses),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    cursor: z.string().min(1).max(512).optional(),
    limit: queryInt(1, 500, 50),
  });
}

/** One page of a history list. */
export function historyPageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable(), limit: z.number().int() });
}

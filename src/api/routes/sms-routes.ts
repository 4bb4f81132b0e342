import { z } from 'zod';
import { SmsValidationError, type AcceptedSms, type SmsHistoryFilter, type SmsHistoryPage, type SmsSendInput, type SmsView } from '../../sms';
import { InvalidCursorError, SMS_STATUSES, isForeignKeyViolation, type SmsRecordStatus } from '../../store';
import { InvalidStateError } from '../../util';
import { ApiError } from '../api-error';
import { defineRoute, type RouteDefinition } from '../route-definition';
import { AUTH_RESPONSES, NOT_FOUND_RESPONSE, VALIDATION_RESPONSE, errorSchema, uuidSchema, webhookUrlSchema, historyPageSchema, historyQuerySchema } from './common-schemas';

/** What the SMS routes need of the SMS service (SmsService satisfies it). */
export interface SmsApi {
  accept(input: SmsSendInput): Promise<AcceptedSms>;
  get(id: string): Promise<SmsView | undefined>;
  history(filter?: SmsHistoryFilter): Promise<SmsHistoryPage>;
}

export interface SmsRouteDeps {
  /** The SMS service; absent = the routes stay documented and answer 503 `sms_unavailable`. */
  sms?: SmsApi;
}

/** Longest text the router reads; the service then enforces its segment limit (SMS_MAX_SEGMENTS, 10 by default). */
const MAX_TEXT_CHARS = 5000;

/** An address as the service takes it: E.164 number, short code, SIP user name or alphanumeric sender id. */
const addressSchema = z.string().min(1).max(64);

const sendBody = z.strictObject({
  from_number: addressSchema.describe('Sender: one of our numbers (E.164), a short code or an alphanumeric sender id'),
  to_number: addressSchema.describe('Destination number, E.164 (+14155550123)'),
  message: z.string().min(1).max(MAX_TEXT_CHARS).describe('UTF-8 text; sent byte-exact as text/plain;charset=UTF-8'),
  webhook_url: webhookUrlSchema.optional().describe('Status changes of this message are POSTed here (event sms.status)'),
  trunk_id: uuidSchema.optional().describe('Send through this trunk instead of the route choice (no effect when SMS_GATEWAY_URI is set)'),
});

const ENCODINGS = ['GSM-7', 'UCS-2'] as const;

const acceptedSchema = z.object({
  message_id: z.string(),
  status: z.literal('queued'),
  segments: z.number().int(),
  encoding: z.enum(ENCODINGS),
  created_at: z.string(),
});

const messageSchema = z.object({
  message_id: z.string(),
  direction: z.enum(['inbound', 'outbound']),
  from_number: z.string(),
  to_number: z.string(),
  message: z.string(),
  status: z.enum(SMS_STATUSES as readonly SmsRecordStatus[] as [SmsRecordStatus, ...SmsRecordStatus[]]),
  segments: z.number().int(),
  encoding: z.enum(ENCODINGS),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  /** Final SIP status of the last attempt (0 = no response or no route). */
  last_sip_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  next_attempt_at: z.string().nullable(),
  trunk_id: z.string().nullable(),
  sip_call_id: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  sent_at: z.string().nullable(),
  delivered_at: z.string().nullable(),
  updated_at: z.string(),
});

const historySchema = historyPageSchema(messageSchema);

const historyQuery = historyQuerySchema(SMS_STATUSES);

const messageParam = z.strictObject({ message_id: z.string().min(1).max(64) });

function iso(d: Date | null): string | null {
  return d === null ? null : d.toISOString();
}

function messageJson(m: SmsView): z.infer<typeof messageSchema> {
  return {
    message_id: m.id,
    direction: m.direction,
    from_number: m.from,
    to_number: m.to,
    message: m.body,
    status: m.status,
    segments: m.segments,
    encoding: m.encoding,
    attempts: m.attempts,
    max_attempts: m.maxAttempts,
    last_sip_status: m.lastStatus,
    last_error: m.lastError,
    next_attempt_at: iso(m.nextAttemptAt),
    trunk_id: m.trunkId,
    sip_call_id: m.sipCallId,
    metadata: m.metadata,
    created_at: m.createdAt.toISOString(),
    sent_at: iso(m.sentAt),
    delivered_at: iso(m.deliveredAt),
    updated_at: m.updatedAt.toISOString(),
  };
}

/** Service field names -> the API's (SmsValidationError.field). */
const API_FIELD: Readonly<Record<string, string>> = { from: 'from_number', to: 'to_number', message: 'message', webhook_url: 'webhook_url', trunk_id: 'trunk_id' };

function validationOf(err: SmsValidationError): ApiError {
  const field = API_FIELD[err.field] ?? err.field;
  // The service words its messages with its own names ("to must be a phone number"); say the API's.
  const message = err.message.startsWith(`${err.field} `) ? `${field}${err.message.slice(err.field.length)}` : err.message;
  return ApiError.validation(field, message);
}

function unavailable(): ApiError {
  return new ApiError(503, 'sms_unavailable', 'SMS is not enabled on this server', undefined, { 'Retry-After': '30' });
}

const UNAVAILABLE_RESPONSE = { 503: { description: 'SMS is not running on this instance (not configured, or shutting down)', schema: errorSchema } } as const;

/**
 * The SMS endpoints: send (stored as `queued`, then delivered by the worker as SIP MESSAGE, RFC 3428), history
 * with keyset pagination, and the status of one message.
 */
export function smsRoutes(deps: SmsRouteDeps = {}): RouteDefinition[] {
  const service = (): SmsApi => {
    if (deps.sms === undefined) throw unavailable();
    return deps.sms;
  };
  return [
    defineRoute({
      method: 'post',
      path: '/api/sms/send',
      tag: 'SMS',
      summary: 'Send an SMS',
      description:
        'The message is stored as queued (committed before the 202) and sent as SIP MESSAGE through SMS_GATEWAY_URI or the trunks, with retries on 408/5xx. Track it with GET /api/sms/{message_id} or webhook_url.',
      access: 'sms:write',
      body: sendBody,
      responses: { 202: { description: 'Queued', schema: acceptedSchema }, ...VALIDATION_RESPONSE, ...AUTH_RESPONSES, ...UNAVAILABLE_RESPONSE },
      async handle({ body, log, res }) {
        const sms = service();
        let accepted: AcceptedSms;
        try {
          accepted = await sms.accept({ from: body.from_number, to: body.to_number, body: body.message, webhookUrl: body.webhook_url, trunkId: body.trunk_id });
        } catch (err) {
          if (err instanceof SmsValidationError) throw validationOf(err);
          if (isForeignKeyViolation(err)) throw ApiError.validation('trunk_id', 'trunk_id: no trunk with that id');
          // The service is closing (SIGTERM): nothing was stored, another instance can take the request.
          if (err instanceof InvalidStateError) throw unavailable();
          throw err;
        }
        log.info({ smsId: accepted.id, to: body.to_number, segments: accepted.segments, encoding: accepted.encoding }, 'SMS queued');
        res.setHeader('Location', `/api/sms/${accepted.id}`);
        return {
          status: 202,
          body: { message_id: accepted.id, status: accepted.status, segments: accepted.segments, encoding: accepted.encoding, created_at: accepted.createdAt.toISOString() },
        };
      },
    }),
    // Mounted before /api/sms/:message_id, which would otherwise take "history" for an id.
    defineRoute({
      method: 'get',
      path: '/api/sms/history',
      tag: 'SMS',
      summary: 'Message history, newest first',
      description: 'Filters: number (either party), direction, status (comma-separated), since / until (ISO 8601, created_at). Pass next_cursor as cursor for the next page.',
      access: 'sms:read',
      query: historyQuery,
      responses: { 200: { description: 'A page of messages', schema: historySchema }, ...VALIDATION_RESPONSE, ...AUTH_RESPONSES, ...UNAVAILABLE_RESPONSE },
      async handle({ query }) {
        const sms = service();
        const since = query.since !== undefined ? new Date(query.since) : undefined;
        const until = query.until !== undefined ? new Date(query.until) : undefined;
        if (since !== undefined && until !== undefined && until.getTime() <= since.getTime()) throw ApiError.validation('until', 'until: must be after since');
        let page: SmsHistoryPage;
        try {
          page = await sms.history({
            number: query.number,
            direction: query.direction,
            status: query.status,
            since,
            until,
            cursor: query.cursor,
            limit: query.limit,
          });
        } catch (err) {
          if (err instanceof InvalidCursorError) throw ApiError.validation('cursor', 'cursor: not a cursor this endpoint issued');
          throw err;
        }
        return { status: 200, body: { items: page.items.map(messageJson), next_cursor: page.nextCursor, limit: query.limit } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/sms/:message_id',
      tag: 'SMS',
      summary: 'Status of one message',
      access: 'sms:read',
      params: messageParam,
      responses: { 200: { description: 'The message', schema: messageSchema }, ...VALIDATION_RESPONSE, ...NOT_FOUND_RESPONSE, ...AUTH_RESPONSES, ...UNAVAILABLE_RESPONSE },
      async handle({ params }) {
        const view = await service().get(params.message_id);
        if (view === undefined) throw ApiError.notFound(`no message ${params.message_id}`);
        return { status: 200, body: messageJson(view) };
      },
    }),
  ];
}

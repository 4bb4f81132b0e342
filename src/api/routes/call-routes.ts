import { z } from 'zod';
import { CallControlError, type ActiveCallInfo, type CallControl, type TransferResult } from '../../call';
import { CDR_STATUSES, InvalidCursorError, type CallEvent, type CallEventRepository, type CallPage, type CallRecord, type CallRepository } from '../../store';
import { systemClock, type Clock, type TimerHandle } from '../../util';
import { ApiError } from '../api-error';
import { defineRoute, type RouteDefinition } from '../route-definition';
import { AUTH_RESPONSES, NOT_FOUND_RESPONSE, VALIDATION_RESPONSE, errorSchema, webhookUrlSchema, historyPageSchema, historyQuerySchema } from './common-schemas';
import { parseUri } from '../../sip/message';

/** What the call routes need: call control for live calls, the CDR tables for history. */
export interface CallRouteDeps {
  /** Call control (CallManager); absent = the live-call routes answer 503 `calls_unavailable`. */
  calls?: CallControl;
  /** CDRs; absent = history answers 503 and a call's detail shows the live state only. */
  cdrs?: CallRepository;
  callEvents?: CallEventRepository;
  /** This instance (a CDR left open by another live instance is that instance's call, not ours). */
  instanceId?: string;
  /**
   * Called right after an outbound call is placed with `record` and/or `machine_detection` (before the answer): arms
   * the recording and the answering-machine detection of that call. Absent = those options answer 501.
   */
  afterOriginate?: (callId: string, opts: { record: boolean; machineDetection: boolean; waitForBeep: boolean }) => void;
  /** Longest a transfer request waits for the outcome before answering 202 (ms). Default 20 s. */
  transferWaitMs?: number;
  clock?: Clock;
}

/** Below the HTTP server's 30 s request timeout, so a slow transfer still gets its 202. */
const DEFAULT_TRANSFER_WAIT_MS = 20_000;

// --- Input schemas

/**
 * A dialable number as the outbound trunk takes it: digits with an optional leading '+', '*' and '#' for
 * service codes. Not strictly E.164: carriers accept national and short numbers, and the README's own example
 * (+0987654321) is not E.164 either.
 */
const DIALABLE = /^\+?[0-9*#]{1,32}$/;

function isSipUri(s: string): boolean {
  // RFC 3261 §19.1: sip: and sips: URIs; a host is required to route the INVITE.
  if (!/^sips?:/i.test(s)) return false;
  const uri = parseUri(s);
  return uri !== undefined && uri.host !== '';
}

/** A destination: a dialable number (through the outbound trunk) or a SIP URI (dialled as is). */
const destinationSchema = z
  .string()
  .max(512)
  .refine((s) => DIALABLE.test(s) || isSipUri(s), 'must be a phone number (+14155550123) or a sip: URI');

/** A caller ID: a number or user name for the From URI, or a full SIP URI. */
const callerIdSchema = z
  .string()
  .max(512)
  .refine((s) => /^\+?[0-9A-Za-z*#._-]{1,64}$/.test(s) || isSipUri(s), 'must be a phone number (+14155550123), a SIP user name or a sip: URI');

// RFC 3261 §25.1: callid = word [ "@" word ], word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`"
// / "'" / "~" / "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}").
const WORD = "[A-Za-z0-9\\-.!%*_+`'~()<>:\\\\\"/\\[\\]?{}]+";
const CALL_ID = new RegExp(`^${WORD}(@${WORD})?$`);

const callIdSchema = z.string().min(1).max(256).regex(CALL_ID, 'must be a SIP Call-ID (RFC 3261 §25.1 callid)');

const initiateBody = z.strictObject({
  from_number: callerIdSchema.describe('Caller ID presented to the callee: one of our numbers, a user name or a sip: URI'),
  to_number: destinationSchema.describe('Who to call: a number (sent through the outbound trunk) or a sip: URI'),
  webhook_url: webhookUrlSchema.describe('Call status changes (initiated, ringing, answered, completed...) are POSTed here, signed with X-Signature'),
  trunk: z.string().min(1).max(64).optional().describe('Trunk to place the call through; default the outbound trunk'),
  route: z.string().min(1).max(600).optional().describe('What the callee gets once answered: ai | answer | echo | ivr:<id> | queue:<id> | forward:<target>; default answer'),
  timeout: z.number().int().min(1).max(600).optional().describe('Ring this long (seconds) before giving up as no-answer; default 60'),
  record: z.boolean().optional().describe('Record the call (stereo WAV; GET /api/recordings)'),
  machine_detection: z.boolean().optional().describe('Classify the answered party as human or machine (CDR metadata.amd, webhook, call_start)'),
  machine_detection_wait_for_beep: z.boolean().optional().describe('With machine_detection: start the route only after a machine greeting beep'),
});

const transferBody = z
  .strictObject({
    target: z.string().min(1).max(512).describe('blind: a number or sip: URI; attended: the call_id of another active call to join with'),
    type: z.enum(['blind', 'attended']).optional().describe('Default blind'),
  })
  .superRefine((b, ctx) => {
    const ok = b.type === 'attended' ? CALL_ID.test(b.target) && b.target.length <= 256 : DIALABLE.test(b.target) || isSipUri(b.target);
    if (!ok) {
      ctx.addIssue({
        code: 'custom',
        path: ['target'],
        message: b.type === 'attended' ? 'must be the call_id of another active call' : 'must be a phone number (+14155550123) or a sip: URI',
      });
    }
  });

const historyQuery = historyQuerySchema(CDR_STATUSES);

const callParam = z.strictObject({ call_id: callIdSchema });

// --- Output schemas

const activeCallSchema = z.object({
  call_id: z.string(),
  direction: z.enum(['inbound', 'outbound']),
  from_number: z.string(),
  to_number: z.string(),
  state: z.string(),
  route: z.string(),
  started_at: z.string(),
  answered_at: z.string().nullable(),
  duration_s: z.number(),
  codec: z.string().nullable(),
  on_hold: z.boolean(),
  b_leg: z.object({ call_id: z.string(), codec: z.string().nullable() }).nullable(),
  parent_call_id: z.string().nullable(),
  dtmf_digits: z.string(),
});

const activeListSchema = z.object({ items: z.array(activeCallSchema), count: z.number().int() });

const initiatedSchema = z.object({
  call_id: z.string(),
  state: z.string(),
  direction: z.literal('outbound'),
  from_number: z.string(),
  to_number: z.string(),
  route: z.string(),
  webhook_url: z.string(),
  started_at: z.string(),
});

const cdrSchema = z.object({
  id: z.string(),
  call_id: z.string(),
  parent_call_id: z.string().nullable(),
  instance_id: z.string(),
  direction: z.enum(['inbound', 'outbound']),
  from_number: z.string(),
  to_number: z.string(),
  from_display: z.string().nullable(),
  trunk_id: z.string().nullable(),
  remote_address: z.string().nullable(),
  status: z.string(),
  started_at: z.string(),
  answered_at: z.string().nullable(),
  ended_at: z.string().nullable(),
  duration_s: z.number().nullable(),
  billable_s: z.number().nullable(),
  sip_code: z.number().int().nullable(),
  hangup_cause: z.string().nullable(),
  hangup_side: z.string().nullable(),
  codec: z.string().nullable(),
  rtp: z.object({
    packets_sent: z.number(),
    packets_received: z.number(),
    bytes_sent: z.number(),
    bytes_received: z.number(),
    packets_lost: z.number(),
    jitter_ms: z.number().nullable(),
    mos: z.number().nullable(),
  }),
  dtmf_digits: z.string(),
  recording_id: z.string().nullable(),
  webhook_url: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  updated_at: z.string(),
});

const historySchema = historyPageSchema(cdrSchema);

const eventSchema = z.object({ id: z.number().int(), at: z.string(), type: z.string(), data: z.record(z.string(), z.unknown()) });

const detailSchema = z.object({
  call_id: z.string(),
  /** The CDR; null only in the moment between a call's start and its first CDR write. */
  cdr: cdrSchema.nullable(),
  /** The live state when the call is in progress on this instance. */
  live: activeCallSchema.nullable(),
  events: z.array(eventSchema),
});

const actionSchema = z.object({
  call_id: z.string(),
  action: z.enum(['hangup', 'hold', 'resume', 'transfer']),
  /** The call's state after the action; null once it has ended. */
  state: z.string().nullable(),
});

const transferSchema = actionSchema.extend({
  type: z.enum(['blind', 'attended']),
  /** `completed`: the transfer succeeded; `in_progress`: still running when the request stopped waiting. */
  outcome: z.enum(['completed', 'in_progress']),
  /** `refer`: the party was asked to call the target (RFC 3515); `bridge`: we called the target and bridged it. */
  method: z.enum(['refer', 'bridge']).nullable(),
  sip_status: z.number().int().nullable(),
});

// --- JSON views

function iso(d: Date | null): string | null {
  return d === null ? null : d.toISOString();
}

/** Snake-case view of a live call. Runs per call on GET /api/calls/active: a flat literal, no copies. */
export function activeCallJson(c: ActiveCallInfo): z.infer<typeof activeCallSchema> {
  return {
    call_id: c.callId,
    direction: c.direction,
    from_number: c.from,
    to_number: c.to,
    state: c.state,
    route: c.route,
    started_at: c.startedAt,
    answered_at: c.answeredAt,
    duration_s: c.durationS,
    codec: c.codec,
    on_hold: c.onHold,
    b_leg: c.bLeg === null ? null : { call_id: c.bLeg.callId, codec: c.bLeg.codec },
    parent_call_id: c.parentCallId,
    dtmf_digits: c.dtmfDigits,
  };
}

export function cdrJson(r: CallRecord): z.infer<typeof cdrSchema> {
  return {
    id: r.id,
    call_id: r.callId,
    parent_call_id: r.parentCallId,
    instance_id: r.instanceId,
    direction: r.direction,
    from_number: r.fromNumber,
    to_number: r.toNumber,
    from_display: r.fromDisplay,
    trunk_id: r.trunkId,
    remote_address: r.remoteAddress,
    status: r.status,
    started_at: r.startedAt.toISOString(),
    answered_at: iso(r.answeredAt),
    ended_at: iso(r.endedAt),
    duration_s: r.durationS,
    billable_s: r.billableS,
    sip_code: r.sipCode,
    hangup_cause: r.hangupCause,
    hangup_side: r.hangupSide,
    codec: r.codec,
    rtp: {
      packets_sent: r.rtpPacketsSent,
      packets_received: r.rtpPacketsReceived,
      bytes_sent: r.rtpBytesSent,
      bytes_received: r.rtpBytesReceived,
      packets_lost: r.rtpPacketsLost,
      jitter_ms: r.rtpJitterMs,
      mos: r.mos,
    },
    dtmf_digits: r.dtmfDigits,
    recording_id: r.recordingId,
    webhook_url: r.webhookUrl,
    metadata: r.metadata,
    updated_at: r.updatedAt.toISOString(),
  };
}

function eventJson(e: CallEvent): z.infer<typeof eventSchema> {
  return { id: e.id, at: e.at.toISOString(), type: e.type, data: e.data };
}

// --- Errors

function callsUnavailable(): ApiError {
  return new ApiError(503, 'calls_unavailable', 'call control is not running on this instance', undefined, { 'Retry-After': '5' });
}

function historyUnavailable(): ApiError {
  return new ApiError(503, 'calls_unavailable', 'call history is not available on this instance', undefined, { 'Retry-After': '5' });
}

/** Which request field a call-control failure is about, per operation. */
interface FieldMap {
  target?: string;
  route?: string;
  trunk?: string;
  /** The request named a trunk explicitly (NO_TRUNK is then the caller's fault, not the server's). */
  trunkGiven?: boolean;
}

/**
 * CallControlError -> HTTP. The client's input is at fault (400, naming the field), the call is not in a state for
 * the action (409), no such call (404), or this server cannot do it now (503, with Retry-After where waiting helps).
 */
export function callControlApiError(err: CallControlError, fields: FieldMap = {}): ApiError {
  switch (err.code) {
    case 'CALL_NOT_FOUND':
      return new ApiError(404, 'not_found', err.message);
    case 'CALL_STATE':
      return new ApiError(409, 'call_state', err.message);
    case 'BAD_TARGET':
      return new ApiError(400, 'bad_target', err.message, fields.target);
    case 'BAD_ROUTE':
      return new ApiError(400, 'bad_route', err.message, fields.route ?? 'route');
    case 'NO_TRUNK':
      return fields.trunkGiven === true
        ? new ApiError(400, 'no_trunk', err.message, fields.trunk ?? 'trunk')
        : new ApiError(503, 'no_trunk', err.message, undefined, { 'Retry-After': '30' });
    case 'ROUTE_UNAVAILABLE':
      return new ApiError(503, 'route_unavailable', err.message, fields.route ?? 'route', { 'Retry-After': '30' });
    case 'CAPACITY':
      return new ApiError(503, 'capacity', err.message, undefined, { 'Retry-After': '1' });
    case 'SHUTTING_DOWN':
      // Another instance behind the same entry point can take the request right away.
      return new ApiError(503, 'shutting_down', err.message, undefined, { 'Retry-After': '1' });
    default:
      return new ApiError(500, 'internal', 'internal error');
  }
}

const UNAVAILABLE_RESPONSE = { 503: { description: 'Call control is not running here, no trunk, at capacity or shutting down; see Retry-After', schema: errorSchema } } as const;
const CONFLICT_RESPONSE = { 409: { description: 'The call is not in a state for this action, or it has ended', schema: errorSchema } } as const;
const PEER_RESPONSE = { 502: { description: 'The other party refused or did not answer the request (re-INVITE, REFER, the transfer target)', schema: errorSchema } } as const;

/**
 * The call endpoints: place a call, list live calls (served from memory: no database access), history from the
 * CDRs with keyset pagination, one call's CDR and timeline, and mid-call control (hangup, hold, resume, transfer).
 */
export function callRoutes(deps: CallRouteDeps): RouteDefinition[] {
  const clock = deps.clock ?? systemClock;
  const transferWaitMs = deps.transferWaitMs ?? DEFAULT_TRANSFER_WAIT_MS;
  const control = (): CallControl => {
    if (deps.calls === undefined) throw callsUnavailable();
    return deps.calls;
  };

  /**
   * A call that is not live here: 409 when its CDR shows it ended (or running on another instance), else 404.
   * Only the error path reads the database.
   */
  const notLive = async (callId: string): Promise<ApiError> => {
    const cdr = deps.cdrs !== undefined ? await deps.cdrs.getByCallId(callId) : undefined;
    if (cdr === undefined) return ApiError.notFound(`no call ${callId}`);
    if (cdr.endedAt !== null) return new ApiError(409, 'call_ended', `call ${callId} has ended (${cdr.status})`);
    if (deps.instanceId !== undefined && cdr.instanceId !== deps.instanceId) {
      return new ApiError(409, 'call_elsewhere', `call ${callId} is handled by instance ${cdr.instanceId}; send the request there`);
    }
    return ApiError.notFound(`no active call ${callId}`);
  };

  /** The live call or the right error; CALL_NOT_FOUND from call control (a race with the call's end) maps the same. */
  const live = async (callId: string): Promise<{ calls: CallControl; info: ActiveCallInfo }> => {
    const calls = control();
    const info = calls.get(callId);
    if (info === undefined) throw await notLive(callId);
    return { calls, info };
  };

  const stateOf = (calls: CallControl, callId: string): string | null => calls.get(callId)?.state ?? null;

  const act = async <T>(callId: string, run: () => Promise<T>, fields?: FieldMap): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (err instanceof CallControlError) {
        if (err.code === 'CALL_NOT_FOUND' && fields?.target === undefined) throw await notLive(callId);
        throw callControlApiError(err, fields);
      }
      throw err;
    }
  };


  /** hold / resume: the same re-INVITE round trip, answered once the party accepted it (502 when it refused). */
  function holdRoute(action: 'hold' | 'resume', summary: string, description: string, okDescription: string): RouteDefinition {
    const past = action === 'hold' ? 'held' : 'resumed';
    return defineRoute({
      method: 'post',
      path: `/api/calls/:call_id/${action}`,
      tag: 'Calls',
      summary,
      description,
      access: 'calls:write',
      params: callParam,
      responses: {
        200: { description: okDescription, schema: actionSchema },
        ...VALIDATION_RESPONSE,
        ...NOT_FOUND_RESPONSE,
        ...CONFLICT_RESPONSE,
        ...PEER_RESPONSE,
        ...AUTH_RESPONSES,
        ...UNAVAILABLE_RESPONSE,
      },
      async handle({ params, log }) {
        const { calls } = await live(params.call_id);
        const ok = await act(params.call_id, () => (action === 'hold' ? calls.hold(params.call_id) : calls.resume(params.call_id)));
        if (!ok) throw new ApiError(502, `${action}_failed`, `the party did not accept the ${action} re-INVITE`);
        log.info({ callId: params.call_id }, `call ${past} by API`);
        return { status: 200, body: { call_id: params.call_id, action, state: stateOf(calls, params.call_id) } };
      },
    });
  }
  return [
    defineRoute({
      method: 'post',
      path: '/api/calls/initiate',
      tag: 'Calls',
      summary: 'Place an outbound call',
      description:
        'Sends the INVITE (through the outbound trunk for a number, directly for a sip: URI) and answers 201 once it is on its way. ' +
        'Follow the call with GET /api/calls/{call_id} or the webhook: initiated, ringing, answered, then a final status.',
      access: 'calls:write',
      body: initiateBody,
      responses: {
        201: { description: 'The call is being placed', schema: initiatedSchema },
        ...VALIDATION_RESPONSE,
        ...AUTH_RESPONSES,
        501: { description: 'A requested feature (record, machine_detection) is not available', schema: errorSchema },
        ...UNAVAILABLE_RESPONSE,
      },
      async handle({ body, log, res }) {
        const calls = control();
        const wantsRecord = body.record === true;
        const wantsAmd = body.machine_detection === true;
        if ((wantsRecord || wantsAmd) && !deps.afterOriginate) {
          // Refused rather than ignored: a caller that asked for a recording must not believe it has one.
          const field = wantsRecord ? 'record' : 'machine_detection';
          throw new ApiError(501, 'not_implemented', `${field}: not available on this server`, field);
        }
        const info = await act(
          '',
          () =>
            calls.originate({
              from: body.from_number,
              to: body.to_number,
              webhookUrl: body.webhook_url,
              trunk: body.trunk,
              route: body.route,
              timeoutS: body.timeout,
            }),
          { target: 'to_number', route: 'route', trunk: 'trunk', trunkGiven: body.trunk !== undefined && body.trunk !== 'default' },
        );
        if (wantsRecord || wantsAmd) {
          deps.afterOriginate?.(info.callId, { record: wantsRecord, machineDetection: wantsAmd, waitForBeep: body.machine_detection_wait_for_beep === true });
        }
        log.info({ callId: info.callId, to: body.to_number, route: info.route }, 'call initiated');
        res.setHeader('Location', `/api/calls/${encodeURIComponent(info.callId)}`);
        return {
          status: 201,
          body: {
            call_id: info.callId,
            state: info.state,
            direction: 'outbound',
            from_number: info.from,
            to_number: info.to,
            route: info.route,
            webhook_url: body.webhook_url,
            started_at: info.startedAt,
          },
        };
      },
    }),
    // Mounted before /api/calls/:call_id, which would otherwise take "active" for a Call-ID.
    defineRoute({
      method: 'get',
      path: '/api/calls/active',
      tag: 'Calls',
      summary: 'Calls in progress on this instance',
      description: 'Served from call control’s memory (no database access), oldest first.',
      access: 'calls:read',
      responses: { 200: { description: 'The live calls', schema: activeListSchema }, ...AUTH_RESPONSES, ...UNAVAILABLE_RESPONSE },
      handle() {
        const list = control().list();
        const items = new Array<z.infer<typeof activeCallSchema>>(list.length);
        for (let i = 0; i < list.length; i++) items[i] = activeCallJson(list[i]);
        return { status: 200, body: { items, count: items.length } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/calls',
      tag: 'Calls',
      summary: 'Call history (CDRs), newest first',
      description:
        'Filters: number (either party), direction, status (CDR statuses, comma-separated), since / until (ISO 8601, started_at). Pass next_cursor as cursor for the next page.',
      access: 'calls:read',
      query: historyQuery,
      responses: { 200: { description: 'A page of CDRs', schema: historySchema }, ...VALIDATION_RESPONSE, ...AUTH_RESPONSES, ...UNAVAILABLE_RESPONSE },
      async handle({ query }) {
        if (deps.cdrs === undefined) throw historyUnavailable();
        const since = query.since !== undefined ? new Date(query.since) : undefined;
        const until = query.until !== undefined ? new Date(query.until) : undefined;
        if (since !== undefined && until !== undefined && until.getTime() <= since.getTime()) throw ApiError.validation('until', 'until: must be after since');
        let page: CallPage;
        try {
          page = await deps.cdrs.list({
            number: query.number,
            direction: query.direction,
            status: query.status,
            from: since,
            to: until,
            cursor: query.cursor,
            limit: query.limit,
          });
        } catch (err) {
          if (err instanceof InvalidCursorError) throw ApiError.validation('cursor', 'cursor: not a cursor this endpoint issued');
          throw err;
        }
        return { status: 200, body: { items: page.items.map(cdrJson), next_cursor: page.nextCursor, limit: query.limit } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/calls/:call_id',
      tag: 'Calls',
      summary: 'One call: its CDR, live state and timeline',
      access: 'calls:read',
      params: callParam,
      responses: { 200: { description: 'The call', schema: detailSchema }, ...VALIDATION_RESPONSE, ...NOT_FOUND_RESPONSE, ...AUTH_RESPONSES },
      async handle({ params }) {
        const liveInfo = deps.calls?.get(params.call_id);
        const [cdr, events] = await Promise.all([
          deps.cdrs !== undefined ? deps.cdrs.getByCallId(params.call_id) : Promise.resolve(undefined),
          deps.callEvents !== undefined ? deps.callEvents.listByCall(params.call_id) : Promise.resolve([]),
        ]);
        // CDR writes trail the signalling (they never hold up a call), so a call a moment old may exist only live.
        if (cdr === undefined && liveInfo === undefined) throw ApiError.notFound(`no call ${params.call_id}`);
        return {
          status: 200,
          body: {
            call_id: params.call_id,
            cdr: cdr !== undefined ? cdrJson(cdr) : null,
            live: liveInfo !== undefined ? activeCallJson(liveInfo) : null,
            events: events.map(eventJson),
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/calls/:call_id/hangup',
      tag: 'Calls',
      summary: 'End a call',
      description: 'BYE once answered; CANCEL while an outbound call rings; a final response while an inbound call rings. The CDR records hangup_side api.',
      access: 'calls:write',
      params: callParam,
      responses: {
        200: { description: 'The call is being ended', schema: actionSchema },
        ...VALIDATION_RESPONSE,
        ...NOT_FOUND_RESPONSE,
        ...CONFLICT_RESPONSE,
        ...AUTH_RESPONSES,
        ...UNAVAILABLE_RESPONSE,
      },
      async handle({ params, log }) {
        const { calls } = await live(params.call_id);
        if (!calls.hangup(params.call_id, 'api-hangup')) throw await notLive(params.call_id);
        log.info({ callId: params.call_id }, 'call hung up by API');
        return { status: 200, body: { call_id: params.call_id, action: 'hangup', state: stateOf(calls, params.call_id) } };
      },
    }),
    holdRoute('hold', 'Put a call on hold', 'Re-INVITE with a sendonly offer (RFC 3264 §8.4); the party hears music on hold. Answers once the party accepted.', 'Held'),
    holdRoute('resume', 'Resume a held call', 'Re-INVITE with a sendrecv offer; music on hold stops.', 'Resumed'),
    defineRoute({
      method: 'post',
      path: '/api/calls/:call_id/transfer',
      tag: 'Calls',
      summary: 'Transfer a call',
      description:
        'blind: the party is asked to call the target by REFER (RFC 3515), or, when it does not take REFER, we call the target and bridge it. ' +
        'attended: the party is joined with the party of another active call (REFER with Replaces, RFC 3891, or a bridge). ' +
        `Answers with the outcome, or 202 when the transfer is still running after ${Math.round(transferWaitMs / 1000)} s (follow it in the call's events).`,
      access: 'calls:write',
      params: callParam,
      body: transferBody,
      responses: {
        200: { description: 'Transferred', schema: transferSchema },
        202: { description: 'Still in progress', schema: transferSchema },
        ...VALIDATION_RESPONSE,
        ...NOT_FOUND_RESPONSE,
        ...CONFLICT_RESPONSE,
        ...PEER_RESPONSE,
        ...AUTH_RESPONSES,
        ...UNAVAILABLE_RESPONSE,
      },
      async handle({ params, body, log }) {
        const { calls } = await live(params.call_id);
        const type = body.type ?? 'blind';
        if (type === 'attended' && body.target === params.call_id) throw ApiError.validation('target', 'target: a call cannot be transferred to itself');
        let pending: Promise<TransferResult>;
        try {
          pending = calls.transfer(params.call_id, { target: body.target, mode: type });
        } catch (err) {
          pending = Promise.reject(err);
        }
        let timer: TimerHandle | undefined;
        const waited = await Promise.race([
          pending.then((result) => ({ result })),
          new Promise<undefined>((resolve) => {
            timer = clock.setTimeout(() => resolve(undefined), transferWaitMs);
          }),
        ])
          .catch((err: unknown) => {
            if (err instanceof CallControlError) {
              if (err.code === 'CALL_NOT_FOUND' && type === 'attended' && calls.get(params.call_id) !== undefined) {
                throw new ApiError(400, 'bad_target', `target: ${err.message}`, 'target');
              }
              if (err.code === 'CALL_NOT_FOUND') throw new ApiError(404, 'not_found', err.message);
              throw callControlApiError(err, { target: 'target' });
            }
            throw err;
          })
          .finally(() => clock.clearTimeout(timer));
        if (waited === undefined) {
          // Still running: the outcome lands in the call's events (transfer-progress...) and webhooks.
          pending.then(
            (r) => log.info({ callId: params.call_id, ok: r.ok, method: r.method, status: r.status }, 'transfer finished'),
            (err: unknown) => log.warn({ callId: params.call_id, err }, 'transfer failed'),
          );
          return {
            status: 202,
            body: { call_id: params.call_id, action: 'transfer', state: stateOf(calls, params.call_id), type, outcome: 'in_progress', method: null, sip_status: null },
          };
        }
        const r = waited.result;
        log.info({ callId: params.call_id, target: body.target, type, ok: r.ok, method: r.method, status: r.status }, 'transfer by API');
        if (!r.ok) {
          const why = r.status !== undefined ? `the transfer failed with SIP status ${r.status}` : 'the transfer target did not answer';
          throw new ApiError(502, 'transfer_failed', `${why}; the call continues`, 'target');
        }
        return {
          status: 200,
          body: {
            call_id: params.call_id,
            action: 'transfer',
            state: stateOf(calls, params.call_id),
            type,
            outcome: 'completed',
            method: r.method,
            sip_status: r.status ?? null,
          },
        };
      },
    }),
  ];
}

import { timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import type { CallControl } from '../../call';
import { defineRoute, type RouteDefinition } from '../route-definition';

/**
 * A Twilio-shaped REST surface, so agents written for Twilio Media Streams (e.g. a Pipecat pipeline with the Twilio
 * serializer's automatic hang-up) work unchanged when their API base URL points at us: today the one call they make,
 * `POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json` with `Status=completed`.
 */
export interface TwilioRouteDeps {
  /** TWILIO_ACCOUNT_SID; undefined = the endpoint refuses every request (401). */
  accountSid: string | undefined;
  /** TWILIO_AUTH_TOKEN. */
  authToken: string | undefined;
  /** Call control; absent = 503. */
  calls?: CallControl;
  /** Our call id for a CallSid we handed out in a Media Streams `start` message. */
  resolveCallSid?: (callSid: string) => string | undefined;
}

/** Twilio's error body (https://www.twilio.com/docs/api/errors): numeric code, message, more_info, status. */
const twilioErrorSchema = z.object({ code: z.number().int(), message: z.string(), more_info: z.string(), status: z.number().int() });

const callResourceSchema = z.object({
  sid: z.string(),
  account_sid: z.string(),
  status: z.string(),
  from: z.string(),
  to: z.string(),
  direction: z.string(),
  api_version: z.string(),
  date_updated: z.string(),
  uri: z.string(),
});

const paramsSchema = z.object({
  AccountSid: z.string().max(64),
  CallSid: z.string().min(1).max(256),
});

/** Form bodies are tiny (a Status field); anything bigger is not a Twilio client. */
const formBody = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });

function twilioError(res: Response, status: number, code: number, message: string): undefined {
  res.status(status).json({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
  return undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // Compare in constant time; a length mismatch still costs one comparison of equal length.
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** RFC 7617 Basic credentials from the Authorization header; undefined when absent or malformed. */
function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function readForm(req: Request, res: Response): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    formBody(req, res, (err?: unknown) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {});
    });
  });
}

export function twilioRoutes(deps: TwilioRouteDeps): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post',
      path: '/2010-04-01/Accounts/:AccountSid/Calls/:CallSid.json',
      summary: 'Twilio-compatible call update (hang up)',
      description:
        'For agents written for Twilio: `Status=completed` (or `canceled`) as a form field hangs up the call whose CallSid was given in the Media Streams `start` message (or our own call id). HTTP basic auth with TWILIO_ACCOUNT_SID:TWILIO_AUTH_TOKEN.',
      tag: 'twilio',
      access: 'public',
      params: paramsSchema,
      responses: {
        200: { description: 'The call was hung up (Twilio Call resource)', schema: callResourceSchema },
        400: { description: 'Unsupported update', schema: twilioErrorSchema },
        401: { description: 'Missing or wrong credentials', schema: twilioErrorSchema },
        404: { description: 'No such call', schema: twilioErrorSchema },
        503: { description: 'Call control unavailable', schema: twilioErrorSchema },
      },
      handle: async ({ params, req, res }) => {
        const { accountSid, authToken } = deps;
        const creds = basicCredentials(req.get('authorization'));
        const authorized =
          accountSid !== undefined &&
          authToken !== undefined &&
          creds !== undefined &&
          sameSecret(creds.user, accountSid) &&
          sameSecret(creds.password, authToken) &&
          params.AccountSid === accountSid;
        if (!authorized) {
          res.setHeader('WWW-Authenticate', 'Basic realm="Twilio API"');
          return twilioError(res, 401, 20003, 'Authenticate');
        }
        const calls = deps.calls;
        if (!calls) return twilioError(res, 503, 20503, 'Service unavailable');
        let form: Record<string, unknown>;
        try {
          form = await readForm(req, res);
        } catch {
          return twilioError(res, 400, 20001, 'The request body could not be read as application/x-www-form-urlencoded');
        }
        const status = form['Status'];
        if (status !== 'completed' && status !== 'canceled') {
          // Twilio also takes Twiml/Url updates; we have no TwiML engine, so say so rather than pretend.
          return twilioError(res, 400, 21218, 'Only Status=completed or Status=canceled is supported');
        }
        const callId = deps.resolveCallSid?.(params.CallSid) ?? params.CallSid;
        const info = calls.get(callId);
        const uri = `/2010-04-01/Accounts/${accountSid}/Calls/${params.CallSid}.json`;
        if (!info || !calls.hangup(callId, 'api-hangup')) return twilioError(res, 404, 20404, `The requested resource ${uri} was not found`);
        res.status(200).json({
          sid: params.CallSid,
          account_sid: accountSid,
          status: info.answeredAt === null ? 'canceled' : 'completed',
          from: info.from,
          to: info.to,
          direction: info.direction === 'inbound' ? 'inbound' : 'outbound-api',
          api_version: '2010-04-01',
          date_updated: new Date().toUTCString(),
          uri,
        });
        return undefined;
      },
    }),
  ];
}

import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { ApiRateLimitConfig, CidrBlock } from '../config';
import { nullLogger, type HealthChecker, type HttpMetrics, type Logger } from '../observability';
import type { CallControl } from '../call';
import type { BlockedNumberRepository, CallEventRepository, CallRepository, NumberRepository, TrunkRepository } from '../store';
import type { Clock } from '../util';
import { ApiError, errorBody, sendError } from './api-error';
import type { JwtVerifier } from './jwt-verifier';
import { buildOpenApiDocument } from './openapi';
import { principalOf, requestContext, requestLog } from './request-context';
import type { RouteDefinition } from './route-definition';
import { callRoutes, type CallRouteDeps, numberRoutes, opsRoutes, smsRoutes, trunkRoutes, twilioRoutes, type ListenerInfo, type SmsApi, type TrunkLiveState, type TwilioRouteDeps } from './routes';
import { ivrRoutes, queueRoutes, recordingRoutes, type IvrMenuStore, type QueueApi, type RecordingControl, type RecordingIndex } from './routes';
import { authenticate, clientIp, cors, ipAllowList, rateLimit, requireScope } from './security-middleware';
import { TokenBucketLimiter } from './token-bucket-limiter';
import { validateInput } from './validation';

export interface ApiSecurityOptions {
  /** API_ALLOWED_CIDRS: sources allowed on /api routes; empty = any. */
  allowedCidrs: readonly CidrBlock[];
  /** Behind one load balancer: take the client address from the last X-Forwarded-For hop it adds. */
  trustProxy: boolean;
  corsOrigins: readonly string[];
  bodyLimitBytes: number;
  rateLimit: ApiRateLimitConfig;
}

export const DEFAULT_API_SECURITY: ApiSecurityOptions = {
  allowedCidrs: [],
  trustProxy: false,
  corsOrigins: [],
  bodyLimitBytes: 64 * 1024,
  rateLimit: { ipPerSecond: 20, ipBurst: 40, subjectPerSecond: 50, subjectBurst: 100 },
};

export interface ApiDependencies {
  logger?: Logger;
  /** Readiness checks (database, SIP listeners). */
  health: HealthChecker;
  /** Prometheus exposition and the HTTP request counter; /metrics is served when present. */
  metrics?: { contentType: string; render(): Promise<string>; http?: HttpMetrics };
  /** Bearer token that /metrics requires when set. */
  metricsToken?: string;
  version: string;
  /** Wall-clock ms at start. */
  startedAt: number;
  instanceId?: string;
  /** Token verification; undefined = no key configured, every /api request is refused with 401. */
  verifier?: JwtVerifier;
  security?: Partial<ApiSecurityOptions>;
  /** CDRs (`calls`) and call timelines (`callEvents`) serve the call history routes when present. */
  repositories: {
    numbers: NumberRepository;
    blockedNumbers: BlockedNumberRepository;
    trunks: TrunkRepository;
    calls?: CallRepository;
    callEvents?: CallEventRepository;
  };
  /** Call control behind /api/calls; absent = the live-call routes answer 503 calls_unavailable. */
  calls?: CallControl;
  /** Arms recording / answering-machine detection of an API-initiated call (see CallRouteDeps.afterOriginate). */
  afterOriginate?: CallRouteDeps['afterOriginate'];
  listeners?: () => ListenerInfo;
  activeCalls?: () => number;
  trunkState?: (id: string) => TrunkLiveState | undefined;
  onTrunksChanged?: (change: { kind: 'created' | 'updated' | 'deleted'; id: string }) => void;
  statusExtras?: () => Record<string, unknown>;
  /** The SMS service behind /api/sms; absent = those routes answer 503 sms_unavailable. */
  sms?: SmsApi;
  /** IVR menus behind /api/ivr/menus; absent = those routes answer 503 ivr_unavailable. */
  ivrMenus?: IvrMenuStore;
  /** Queues behind /api/queues; absent = those routes answer 503 queues_unavailable. */
  queues?: QueueApi;
  /** Recordings (/api/recordings, /api/calls/{id}/recording/*) and live recording control; absent = 503. */
  recordings?: { index: RecordingIndex; control?: RecordingControl };
  /** Routes of other components (call control), mounted and documented like ours. */
  extraRoutes?: readonly RouteDefinition[];
  /** The Twilio-shaped REST endpoint (hang-up by CallSid) for agents written for Twilio; absent = not mounted. */
  twilio?: Omit<TwilioRouteDeps, 'calls'>;
  /** Clock of the rate limiters. */
  clock?: Clock;
}

/** The application with its route table (tests check the OpenAPI document against it). */
export interface ApiApp {
  app: Express;
  routes: readonly RouteDefinition[];
  openApi: Record<string, unknown>;
}

export { sendError };

/** Paths logged at debug level: probes and scrapes arrive every few seconds. */
const QUIET_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', '/metrics']);

function isJsonContentType(req: Request): boolean {
  return req.is(['application/json', 'application/*+json']) !== false;
}

/** Errors of express.json (body-parser): they carry a `type` and a 4xx `status`. */
function bodyParserError(err: unknown): { type: string; status: number } | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { type?: unknown; status?: unknown; statusCode?: unknown };
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  return { type: typeof e.type === 'string' ? e.type : '', status };
}

/**
 * The HTTP surface: operations endpoints (`/health`, `/ready`, `/metrics`), the management API under `/api`
 * (numbers, trunks, SMS, status, OpenAPI) and the security around it. For each route the chain is:
 * allow-list (/api only) -> per-IP rate limit -> JWT -> per-subject rate limit -> scope -> JSON body parser
 * -> zod validation -> handler. Limits come before parsing, so a refused client costs no body read.
 */
export function createApi(deps: ApiDependencies): ApiApp {
  const logger = deps.logger ?? nullLogger;
  const sec: ApiSecurityOptions = { ...DEFAULT_API_SECURITY, ...deps.security };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // One hop: the load balancer's own X-Forwarded-For entry. Trusting the whole header would let any client
  // pick its address and walk past the allow-list and the per-IP limit.
  app.set('trust proxy', sec.trustProxy ? 1 : false);

  app.use(requestContext({ logger, metrics: deps.metrics?.http, quietPaths: QUIET_PATHS }));
  app.use(helmet());
  const corsHandler = cors(sec.corsOrigins);
  if (corsHandler) app.use(corsHandler);

  const allowList = ipAllowList(sec.allowedCidrs);
  const ipLimiter = new TokenBucketLimiter({ ratePerSecond: sec.rateLimit.ipPerSecond, burst: sec.rateLimit.ipBurst, clock: deps.clock });
  const subjectLimiter = new TokenBucketLimiter({ ratePerSecond: sec.rateLimit.subjectPerSecond, burst: sec.rateLimit.subjectBurst, clock: deps.clock });
  const ipLimit = rateLimit(ipLimiter, (req) => clientIp(req), 'client address');
  const subjectLimit = rateLimit(subjectLimiter, (_req, res) => principalOf(res)?.subject, 'token subject');
  const auth = authenticate(deps.verifier);
  const jsonBody = express.json({ limit: sec.bodyLimitBytes, strict: true, type: ['application/json', 'application/*+json'] });

  let openApi: Record<string, unknown> = {};
  const { repositories } = deps;
  const routes: RouteDefinition[] = [
    ...opsRoutes({
      health: deps.health,
      version: deps.version,
      instanceId: deps.instanceId ?? 'unknown',
      startedAt: deps.startedAt,
      listeners:
        deps.listeners ??
        (() => ({ sip: { address: '', publicAddress: '' }, api: { address: '', port: 0 } })),
      activeCalls: deps.activeCalls,
      trunks: repositories.trunks,
      trunkState: deps.trunkState,
      statusExtras: deps.statusExtras,
      metrics: deps.metrics,
      metricsToken: deps.metricsToken,
      openApi: () => openApi,
    }),
    ...numberRoutes({ numbers: repositories.numbers, blockedNumbers: repositories.blockedNumbers }),
    ...trunkRoutes({ trunks: repositories.trunks, trunkState: deps.trunkState, onTrunksChanged: deps.onTrunksChanged }),
    ...smsRoutes({ sms: deps.sms }),
    ...callRoutes({
      calls: deps.calls,
      cdrs: repositories.calls,
      callEvents: repositories.callEvents,
      instanceId: deps.instanceId,
      afterOriginate: deps.afterOriginate,
    }),
    ...(deps.twilio ? twilioRoutes({ ...deps.twilio, calls: deps.calls }) : []),
    ...ivrRoutes({ menus: deps.ivrMenus }),
    ...queueRoutes({ queues: deps.queues, clock: deps.clock ? () => (deps.clock as Clock).wallNow() : undefined }),
    ...recordingRoutes({ recordings: deps.recordings?.index, control: deps.recordings?.control, calls: repositories.calls, events: repositories.callEvents }),
    ...(deps.extraRoutes ?? []),
  ];
  openApi = buildOpenApiDocument(routes, {
    title: 'AI voice SIP server API',
    version: deps.version,
    description: 'Management API: calls, numbers, trunks, SMS, status. Errors are { "error": { "code", "message", "field"? } }.',
  });

  for (const route of routes) {
    const chain: RequestHandler[] = [];
    if (allowList && route.path.startsWith('/api')) chain.push(allowList);
    if (ipLimit && route.rateLimited !== false) chain.push(ipLimit);
    if (route.access !== 'public') {
      chain.push(auth);
      if (subjectLimit) chain.push(subjectLimit);
      if (route.access !== 'authenticated') chain.push(requireScope(route.access));
    }
    if (route.body !== undefined) chain.push(jsonBody);
    chain.push(routeHandler(route, logger));
    app[route.method](route.path, ...chain);
  }

  // Unknown paths: the same admission rules, then 404.
  if (allowList) app.use('/api', allowList);
  if (ipLimit) app.use(ipLimit);
  app.use((_req: Request, res: Response) => sendError(res, 404, 'not_found', 'no such endpoint'));
  app.use(errorHandler(logger));
  return { app, routes, openApi };
}

/** Backwards-compatible entry: the Express application only. */
export function createApiApp(deps: ApiDependencies): Express {
  return createApi(deps).app;
}

function routeHandler(route: RouteDefinition, logger: Logger): RequestHandler {
  return async (req: Request, res: Response) => {
    const params = route.params !== undefined ? validateInput(route.params, { ...req.params }, 'params') : undefined;
    const query = route.query !== undefined ? validateInput(route.query, { ...(req.query as Record<string, unknown>) }, 'query') : undefined;
    let body: unknown;
    if (route.body !== undefined) {
      if (req.body === undefined) {
        if (req.get('content-type') !== undefined && !isJsonContentType(req)) {
          throw new ApiError(415, 'unsupported_media_type', 'the body must be JSON (Content-Type: application/json)');
        }
        throw ApiError.validation('body', 'a JSON object body is required (Content-Type: application/json)');
      }
      body = validateInput(route.body, req.body, 'body');
    }
    const result = await route.handle({ body, params, query, principal: principalOf(res), log: requestLog(res, logger), req, res });
    if (result === undefined) return;
    if (result.body === undefined) res.status(result.status).end();
    else res.status(result.status).json(result.body);
  };
}

/**
 * The one place errors become responses. ApiError carries its status; body-parser errors become 413/400/415;
 * anything else is a 500 whose details (stack, SQL) go to the log under the request id, never to the client.
 */
function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const log = requestLog(res, logger);
    if (res.headersSent) {
      log.warn({ err }, 'error after the response started');
      res.destroy();
      return;
    }
    if (err instanceof ApiError) {
      if (err.headers) for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      res.status(err.status).json(errorBody(err.code, err.message, err.field));
      return;
    }
    const parser = bodyParserError(err);
    if (parser !== undefined) {
      switch (parser.type) {
        case 'entity.too.large':
          sendError(res, 413, 'payload_too_large', 'the request body is too large');
          return;
        case 'entity.parse.failed':
          sendError(res, 400, 'malformed_json', 'the request body is not valid JSON', 'body');
          return;
        case 'encoding.unsupported':
        case 'charset.unsupported':
          sendError(res, 415, 'unsupported_media_type', 'unsupported body encoding or charset');
          return;
        default:
          sendError(res, parser.status, 'bad_request', 'the request could not be read');
          return;
      }
    }
    log.error({ err, method: req.method, path: req.path }, 'unhandled API error');
    sendError(res, 500, 'internal', 'internal error');
  };
}

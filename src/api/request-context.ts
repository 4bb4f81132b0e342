import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { requestLogger, type HttpMetrics, type Logger } from '../observability';
import type { Principal } from './jwt-verifier';

/** Per-request state kept in `res.locals`. */
interface ApiLocals {
  reqId: string;
  log: Logger;
  principal?: Principal;
}

/** The route label for requests no route matched: one series, whatever the path (bounded cardinality). */
export const UNMATCHED_ROUTE = 'unmatched';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function locals(res: Response): Partial<ApiLocals> {
  return res.locals as Partial<ApiLocals>;
}

export function requestId(res: Response): string {
  return locals(res).reqId ?? '-';
}

export function requestLog(res: Response, fallback: Logger): Logger {
  return locals(res).log ?? fallback;
}

export function principalOf(res: Response): Principal | undefined {
  return locals(res).principal;
}

export function setPrincipal(res: Response, principal: Principal): void {
  locals(res).principal = principal;
}

/** The route template (`/api/trunks/:trunk_id`) of a matched request, never the raw path. */
export function routeTemplate(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  return route !== undefined && typeof route.path === 'string' ? req.baseUrl + route.path : UNMATCHED_ROUTE;
}

export interface RequestContextOptions {
  logger: Logger;
  metrics?: HttpMetrics;
  /** Paths logged at debug instead of info (probes and scrapes would drown the log). */
  quietPaths?: ReadonlySet<string>;
}

/**
 * First middleware: gives the request an id (a well-formed incoming X-Request-Id is kept, so a gateway's id
 * follows the request through our logs), a child logger carrying it, and on completion one log line and one
 * `http_requests_total` / duration observation labelled with the route template.
 */
export function requestContext(options: RequestContextOptions): RequestHandler {
  const quiet = options.quietPaths ?? new Set<string>();
  return (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    const incoming = req.get('x-request-id');
    const reqId = incoming !== undefined && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const log = requestLogger(options.logger, reqId, { component: 'api' });
    const l = locals(res);
    l.reqId = reqId;
    l.log = log;
    res.setHeader('X-Request-Id', reqId);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = routeTemplate(req);
      // A client that hung up before the answer is logged and counted as 499 (nginx's convention).
      const status = res.writableFinished ? res.statusCode : 499;
      options.metrics?.request(req.method, route, status, seconds);
      const fields = {
        method: req.method,
        route,
        path: req.path,
        status,
        ms: Math.round(seconds * 1e4) / 10,
        ip: req.ip,
        sub: l.principal?.subject,
      };
      if (status >= 500) log.error(fields, 'request failed');
      else if (quiet.has(req.path)) log.debug(fields, 'request');
      else log.info(fields, 'request');
    };
    res.once('finish', finish);
    res.once('close', finish);
    next();
  };
}

import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { HealthChecker } from '../observability';

export interface ApiDependencies {
  /** Readiness checks (database, SIP listeners). */
  health: HealthChecker;
  /** Prometheus exposition: content type and text. */
  metrics?: { contentType: string; render(): Promise<string> };
  /** Bearer token that /metrics requires when set. */
  metricsToken?: string;
  version: string;
  startedAt: number;
}

/** JSON error body used by every route: { error: { code, message, field? } }. */
export function sendError(res: Response, status: number, code: string, message: string, field?: string): void {
  res.status(status).json({ error: field === undefined ? { code, message } : { code, message, field } });
}

/**
 * The HTTP surface. Operations endpoints: `/health` (liveness: the process answers), `/ready` (the database and SIP
 * listeners are usable: 503 otherwise, so a load balancer stops sending traffic), `/metrics` (Prometheus text).
 */
export function createApiApp(deps: ApiDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', version: deps.version, uptime_s: Math.round((Date.now() - deps.startedAt) / 1000) });
  });

  app.get('/ready', async (_req, res) => {
    const report = await deps.health.run();
    res.status(report.status === 'down' ? 503 : 200).json(report);
  });

  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', async (req, res) => {
      if (deps.metricsToken !== undefined && req.get('authorization') !== `Bearer ${deps.metricsToken}`) {
        sendError(res, 401, 'unauthorized', 'metrics require the metrics bearer token');
        return;
      }
      res.set('Content-Type', metrics.contentType).send(await metrics.render());
    });
  }

  app.use((_req, res) => sendError(res, 404, 'not_found', 'no such endpoint'));
  // Last resort: never leak a stack trace or an internal message to a client.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500;
    if (status >= 400 && status < 500) sendError(res, status, 'bad_request', 'the request could not be read');
    else sendError(res, 500, 'internal', 'internal error');
  });
  return app;
}

import { timingSafeEqual, createHash } from 'node:crypto';
import { z } from 'zod';
import type { HealthChecker } from '../../observability';
import type { TrunkRepository } from '../../store';
import { ApiError } from '../api-error';
import { defineRoute, type RouteDefinition } from '../route-definition';
import { AUTH_RESPONSES, errorSchema } from './common-schemas';
import type { TrunkLiveState } from './trunk-routes';

/** Where this instance listens, for the status endpoint. */
export interface ListenerInfo {
  sip: { address: string; publicAddress: string; udp?: number; tcp?: number; tls?: number };
  api: { address: string; port: number };
}

export interface OpsRouteDeps {
  health: HealthChecker;
  version: string;
  instanceId: string;
  /** Wall-clock ms at start. */
  startedAt: number;
  listeners: () => ListenerInfo;
  /** Calls in progress on this instance, when call control is running. */
  activeCalls?: () => number;
  trunks: TrunkRepository;
  trunkState?: (id: string) => TrunkLiveState | undefined;
  /** Extra sections for the status document (SIP ingress counters, ...). Must not throw. */
  statusExtras?: () => Record<string, unknown>;
  metrics?: { contentType: string; render(): Promise<string> };
  /** Bearer token /metrics requires when set. */
  metricsToken?: string;
  /** The OpenAPI document (built once the route table is complete). */
  openApi: () => unknown;
}

/** Constant-time equality of a presented secret and the expected one (hashing equalises the lengths). */
function secretEquals(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

const healthSchema = z.object({ status: z.literal('ok'), version: z.string(), uptime_s: z.number().int() });
const readySchema = z.object({
  status: z.enum(['ok', 'degraded', 'down']),
  checks: z.record(z.string(), z.object({ status: z.string(), detail: z.string().optional(), critical: z.boolean() })),
});
const statusSchema = z.object({
  status: z.enum(['ok', 'degraded', 'down']),
  version: z.string(),
  instance_id: z.string(),
  started_at: z.string(),
  uptime_s: z.number().int(),
  listeners: z.object({
    sip: z.object({ address: z.string(), public_address: z.string(), udp: z.number().int().optional(), tcp: z.number().int().optional(), tls: z.number().int().optional() }),
    api: z.object({ address: z.string(), port: z.number().int() }),
  }),
  active_calls: z.number().int().nullable(),
  checks: readySchema.shape.checks,
  trunks: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      enabled: z.boolean(),
      status: z.string(),
      status_changed_at: z.string().nullable(),
      register: z.boolean(),
      registered: z.boolean().optional(),
    }),
  ),
});

export function opsRoutes(deps: OpsRouteDeps): RouteDefinition[] {
  const uptimeS = (): number => Math.max(0, Math.round((Date.now() - deps.startedAt) / 1000));
  const routes: RouteDefinition[] = [
    defineRoute({
      method: 'get',
      path: '/health',
      tag: 'Operations',
      summary: 'Liveness: the process answers',
      access: 'public',
      rateLimited: false,
      responses: { 200: { description: 'Alive', schema: healthSchema } },
      handle: () => ({ status: 200, body: { status: 'ok', version: deps.version, uptime_s: uptimeS() } }),
    }),
    defineRoute({
      method: 'get',
      path: '/ready',
      tag: 'Operations',
      summary: 'Readiness: database and SIP listeners usable (503 otherwise)',
      access: 'public',
      rateLimited: false,
      responses: { 200: { description: 'Ready or degraded', schema: readySchema }, 503: { description: 'Not ready', schema: readySchema } },
      async handle() {
        const report = await deps.health.run();
        return { status: report.status === 'down' ? 503 : 200, body: report };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/config/status',
      tag: 'Operations',
      summary: 'Instance status: listeners, version, uptime, active calls, trunks',
      access: 'config:read',
      responses: { 200: { description: 'Status', schema: statusSchema }, ...AUTH_RESPONSES },
      async handle() {
        const [report, trunks] = await Promise.all([deps.health.run(), deps.trunks.list()]);
        const l = deps.listeners();
        let activeCalls: number | null;
        try {
          activeCalls = deps.activeCalls?.() ?? null;
        } catch {
          // The status page must answer even while call control is shutting down.
          activeCalls = null;
        }
        return {
          status: 200,
          body: {
            status: report.status,
            version: deps.version,
            instance_id: deps.instanceId,
            started_at: new Date(deps.startedAt).toISOString(),
            uptime_s: uptimeS(),
            listeners: { sip: { address: l.sip.address, public_address: l.sip.publicAddress, udp: l.sip.udp, tcp: l.sip.tcp, tls: l.sip.tls }, api: l.api },
            active_calls: activeCalls,
            checks: report.checks,
            trunks: trunks.map((t) => {
              const live = deps.trunkState?.(t.id);
              return {
                id: t.id,
                name: t.name,
                enabled: t.enabled,
                status: live?.status ?? t.status,
                status_changed_at: t.statusChangedAt?.toISOString() ?? null,
                register: t.register,
                ...(live?.registered !== undefined ? { registered: live.registered } : {}),
              };
            }),
            ...(deps.statusExtras?.() ?? {}),
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/openapi.json',
      tag: 'Operations',
      summary: 'This OpenAPI 3.1 document',
      access: 'authenticated',
      responses: { 200: { description: 'OpenAPI document' }, ...AUTH_RESPONSES },
      handle: () => ({ status: 200, body: deps.openApi() }),
    }),
  ];
  const metrics = deps.metrics;
  if (metrics !== undefined) {
    routes.push(
      defineRoute({
        method: 'get',
        path: '/metrics',
        tag: 'Operations',
        summary: 'Prometheus metrics (text exposition format); bearer METRICS_TOKEN when configured',
        access: 'public',
        responses: {
          200: { description: 'Metrics', contentType: 'text/plain; version=0.0.4' },
          401: { description: 'METRICS_TOKEN required', schema: errorSchema },
        },
        async handle({ req, res }) {
          if (deps.metricsToken !== undefined) {
            const header = req.get('authorization') ?? '';
            const token = header.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : '';
            if (!secretEquals(token, deps.metricsToken)) {
              throw new ApiError(401, 'unauthorized', 'metrics require the metrics bearer token', undefined, { 'WWW-Authenticate': 'Bearer' });
            }
          }
          const text = await metrics.render();
          res.status(200).set('Content-Type', metrics.contentType).send(text);
          return undefined;
        },
      }),
    );
  }
  return routes;
}

import { z } from 'zod';
import { createApi, defineRoute, type ApiDependencies } from '../../../src/api';
import { HealthChecker } from '../../../src/observability';

/** Repositories are not touched: these tests only look at the route table. */
function deps(extra: Partial<ApiDependencies> = {}): ApiDependencies {
  const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used')) });
  return {
    health: new HealthChecker(),
    metrics: { contentType: 'text/plain', render: async () => '' },
    version: '9.9.9',
    startedAt: 0,
    repositories: unused as ApiDependencies['repositories'],
    ...extra,
  };
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

function mounted(app: unknown): string[] {
  const stack = (app as { router: { stack: Layer[] } }).router.stack;
  return stack.flatMap((l) => (l.route ? Object.keys(l.route.methods).filter((m) => m !== '_all').map((m) => `${m} ${l.route!.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`) : []));
}

function documented(doc: Record<string, unknown>): string[] {
  const paths = doc['paths'] as Record<string, Record<string, unknown>>;
  return Object.entries(paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
}

describe('OpenAPI document', () => {
  it('documents exactly the routes Express mounted', () => {
    const { app, openApi } = createApi(deps());
    const routes = mounted(app);
    expect(routes.length).toBeGreaterThanOrEqual(18);
    expect(documented(openApi).sort()).toEqual(routes.sort());
  });

  it('documents routes plugged in by other components too', () => {
    const extra = defineRoute({
      method: 'get',
      path: '/api/calls/active',
      tag: 'Calls',
      summary: 'Active calls',
      access: 'calls:read',
      query: z.strictObject({ limit: z.string().optional() }),
      responses: { 200: { description: 'ok', schema: z.object({ items: z.array(z.string()) }) } },
      handle: () => ({ status: 200, body: { items: [] } }),
    });
    const { app, openApi } = createApi(deps({ extraRoutes: [extra] }));
    expect(mounted(app)).toContain('get /api/calls/active');
    const op = (openApi['paths'] as Record<string, Record<string, Record<string, unknown>>>)['/api/calls/active']['get'];
    expect(op['x-required-scope']).toBe('calls:read');
    expect(op['parameters']).toEqual([{ name: 'limit', in: 'query', required: false, schema: { type: 'string' } }]);
  });

  it('is OpenAPI 3.1 with bearer security, request bodies and path parameters', () => {
    const { openApi } = createApi(deps());
    expect(openApi['openapi']).toBe('3.1.0');
    const paths = openApi['paths'] as Record<string, Record<string, Record<string, unknown>>>;
    const create = paths['/api/trunks']['post'];
    expect(create['security']).toEqual([{ bearerAuth: ['trunks:write'] }]);
    const body = (create['requestBody'] as { content: Record<string, { schema: { required: string[]; properties: Record<string, unknown> } }> }).content['application/json'].schema;
    expect(body.required.sort()).toEqual(['name', 'proxy_address']);
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['password', 'allowed_cidrs', 'codecs', 'expiry', 'max_channels', 'prefixes']));
    // Passwords are write-only: the response schema has no password property.
    const response = (create['responses'] as Record<string, { content: Record<string, { schema: { properties: Record<string, unknown> } }> }>)['201'];
    expect(Object.keys(response.content['application/json'].schema.properties)).not.toContain('password');
    expect(paths['/api/numbers/block/{number}']['delete']['parameters']).toEqual([expect.objectContaining({ name: 'number', in: 'path', required: true })]);
  });

  it('leaves /metrics out when metrics are disabled', () => {
    const { openApi } = createApi(deps({ metrics: undefined }));
    expect(documented(openApi)).not.toContain('get /metrics');
  });
});

import { z } from 'zod';
import { openApiPath, type RouteDefinition } from './route-definition';

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

type JsonSchema = Record<string, unknown>;

/** JSON Schema 2020-12 (the dialect of OpenAPI 3.1) of a zod schema, as the client sends it (`io: input`). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete out['$schema'];
  return out;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (schema === undefined || !(schema instanceof z.ZodObject)) return [];
  const shape = schema.shape as Record<string, z.ZodType>;
  return Object.entries(shape).map(([name, field]) => ({
    name,
    in: where,
    required: where === 'path' ? true : !field.safeParse(undefined).success,
    schema: jsonSchema(field, 'input'),
  }));
}

function operationId(route: RouteDefinition): string {
  const words = route.path
    .split('/')
    .filter((s) => s !== '' && s !== 'api')
    .map((s) => (s.startsWith(':') ? `by_${s.slice(1)}` : s).replace(/[^A-Za-z0-9]+/g, '_'));
  return [route.method, ...words].join('_');
}

/**
 * The OpenAPI 3.1 document of a route table. Built from the same declarations the router mounts (paths,
 * zod schemas, scopes), so every served route is documented and the documented schemas are the enforced ones.
 */
export function buildOpenApiDocument(routes: readonly RouteDefinition[], info: OpenApiInfo): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    const responses: Record<string, unknown> = {};
    for (const [status, doc] of Object.entries(route.responses)) {
      const content =
        doc.schema !== undefined
          ? { 'application/json': { schema: jsonSchema(doc.schema, 'output') } }
          : doc.contentType !== undefined
            ? { [doc.contentType]: { schema: { type: 'string' } } }
            : undefined;
      responses[status] = content !== undefined ? { description: doc.description, content } : { description: doc.description };
    }
    const op: Record<string, unknown> = {
      operationId: operationId(route),
      summary: route.summary,
      tags: [route.tag],
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      responses,
    };
    if (route.description !== undefined) op['description'] = route.description;
    if (route.body !== undefined) op['requestBody'] = { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } };
    if (route.access === 'public') {
      op['security'] = route.path === '/metrics' ? [{}, { metricsToken: [] }] : [];
    } else {
      op['security'] = [{ bearerAuth: route.access === 'authenticated' ? [] : [route.access] }];
      if (route.access !== 'authenticated') op['x-required-scope'] = route.access;
    }
    (paths[path] ??= {})[route.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, ...(info.description !== undefined ? { description: info.description } : {}) },
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'HS256 (JWT_SECRET_KEY) or RS256/ES256 (JWT_PUBLIC_KEY_FILE); exp and sub required; scopes in the space-separated scope claim. admin grants every scope; a write scope grants reading its area.',
        },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when configured' },
      },
    },
    security: [{ bearerAuth: [] }],
    paths,
  };
}

import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Logger } from '../observability';
import type { Principal } from './jwt-verifier';
import type { ApiScope } from './scopes';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

/**
 * Who may call a route: anyone (`public`: probes, metrics with their own token), any valid token
 * (`authenticated`), or a token holding a scope.
 */
export type RouteAccess = 'public' | 'authenticated' | ApiScope;

/** A documented response of a route, for the OpenAPI document. */
export interface ResponseDoc {
  description: string;
  /** JSON body schema; omitted for empty or non-JSON bodies. */
  schema?: z.ZodType;
  /** Media type when not JSON (Prometheus text). */
  contentType?: string;
}

export interface RouteContext<B, P, Q> {
  body: B;
  params: P;
  query: Q;
  /** The caller; undefined only on public routes. */
  principal: Principal | undefined;
  log: Logger;
  req: Request;
  res: Response;
}

/** What a handler returns: a status and a JSON body (none for 204). `undefined` = the handler answered itself. */
export interface RouteResult {
  status: number;
  body?: unknown;
}

interface RouteMeta {
  method: HttpMethod;
  /** Express path template (`/api/trunks/:trunk_id`). */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  access: RouteAccess;
  /** Counted by the per-IP rate limit. Default true; probes are exempt. */
  rateLimited?: boolean;
  responses: Readonly<Record<number, ResponseDoc>>;
}

/** One route, type-erased for the registry: inputs are validated by the schemas before `handle` sees them. */
export interface RouteDefinition extends RouteMeta {
  body?: z.ZodType;
  params?: z.ZodType;
  query?: z.ZodType;
  handle(ctx: RouteContext<unknown, unknown, unknown>): Promise<RouteResult | undefined> | RouteResult | undefined;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/**
 * Declare a route: metadata (for mounting and for OpenAPI), zod schemas of body, path parameters and query,
 * and a handler typed by those schemas. One declaration drives validation, the docs and the router, so
 * they cannot disagree.
 */
export function defineRoute<B extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(
  spec: RouteMeta & {
    body?: B;
    params?: P;
    query?: Q;
    handle(ctx: RouteContext<Out<B>, Out<P>, Out<Q>>): Promise<RouteResult | undefined> | RouteResult | undefined;
  },
): RouteDefinition {
  // The casts only forget the static types; the router validates with the very same schemas first.
  return spec as unknown as RouteDefinition;
}

/** `/api/trunks/:trunk_id` as OpenAPI writes it: `/api/trunks/{trunk_id}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

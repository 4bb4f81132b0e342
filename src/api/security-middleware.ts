import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { blockListHas, cidrBlockList, type CidrBlock } from '../config';
import { ApiError } from './api-error';
import type { JwtVerifier } from './jwt-verifier';
import { principalOf, setPrincipal } from './request-context';
import { scopeAllows, type ApiScope } from './scopes';
import type { TokenBucketLimiter } from './token-bucket-limiter';

/** The client address as Express resolved it (honours `trust proxy`); '' when the socket is already gone. */
export function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? '';
}

/** API_ALLOWED_CIDRS: 403 JSON for other sources. Returns undefined when no list is configured. */
export function ipAllowList(cidrs: readonly CidrBlock[]): RequestHandler | undefined {
  if (cidrs.length === 0) return undefined;
  const list = cidrBlockList(cidrs);
  return (req: Request, _res: Response, next: NextFunction) => {
    if (blockListHas(list, clientIp(req))) next();
    else next(new ApiError(403, 'forbidden_source', 'this client address may not use the API'));
  };
}

/** 429 with Retry-After (RFC 6585 §4) when `keyOf`'s bucket is empty. */
export function rateLimit(limiter: TokenBucketLimiter, keyOf: (req: Request, res: Response) => string | undefined, what: string): RequestHandler | undefined {
  if (!limiter.enabled) return undefined;
  return (req: Request, res: Response, next: NextFunction) => {
    const key = keyOf(req, res);
    if (key === undefined) {
      next();
      return;
    }
    const result = limiter.take(key);
    if (result.allowed) {
      next();
      return;
    }
    next(new ApiError(429, 'rate_limited', `too many requests for this ${what}; retry after ${result.retryAfterS} s`, undefined, { 'Retry-After': String(result.retryAfterS) }));
  };
}

/**
 * Bearer-token authentication (RFC 6750). Failures are 401 with a `WWW-Authenticate` challenge (§3);
 * without a configured key every request fails, so a misconfigured server is closed rather than open.
 */
export function authenticate(verifier: JwtVerifier | undefined): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (verifier === undefined) {
      next(new ApiError(401, 'auth_not_configured', 'API authentication is not configured on this server (JWT_SECRET_KEY or JWT_PUBLIC_KEY_FILE)', undefined, { 'WWW-Authenticate': 'Bearer' }));
      return;
    }
    const result = verifier.verifyAuthorization(req.get('authorization'));
    if (result.ok) {
      setPrincipal(res, result.principal);
      next();
      return;
    }
    const challenge = result.code === 'missing_token' ? 'Bearer' : `Bearer error="invalid_token", error_description="${result.message.replace(/"/g, "'")}"`;
    next(new ApiError(401, result.code, result.message, undefined, { 'WWW-Authenticate': challenge }));
  };
}

/** 403 for an authenticated caller whose token lacks `scope` (RFC 6750 §3.1 insufficient_scope). */
export function requireScope(scope: ApiScope): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    const principal = principalOf(res);
    if (principal !== undefined && scopeAllows(principal.scopes, scope)) {
      next();
      return;
    }
    next(new ApiError(403, 'insufficient_scope', `this operation needs the ${scope} scope`, undefined, { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${scope}"` }));
  };
}

/** CORS (Fetch standard) for an allow-list of origins; nothing at all when the list is empty. */
export function cors(origins: readonly string[]): RequestHandler | undefined {
  if (origins.length === 0) return undefined;
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.get('origin');
    if (origin === undefined || (!any && !allowed.has(origin))) {
      next();
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
    if (!any) res.append('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', 'Retry-After, X-Request-Id');
    if (req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined) {
      // Preflight: answered here, before authentication (browsers never send credentials on it).
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Request-Id');
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

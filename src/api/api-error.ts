import type { Response } from 'express';
import { CodedError } from '../util';

/**
 * An error answered to the client as `{ error: { code, message, field? } }` with `status`. Route handlers
 * throw it; the error middleware turns it into the response. `code` is stable (clients branch on it),
 * `message` is for humans, `field` names the offending input (`proxy_port`, `forwarding_rules.0.target`).
 */
export class ApiError extends CodedError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly field?: string,
    /** Extra response headers (Retry-After, WWW-Authenticate). */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(code, message);
  }

  static validation(field: string, message: string): ApiError {
    return new ApiError(400, 'validation_failed', message, field);
  }

  static notFound(message: string): ApiError {
    return new ApiError(404, 'not_found', message);
  }

  static conflict(field: string, message: string): ApiError {
    return new ApiError(409, 'conflict', message, field);
  }
}

/** The JSON error body every API response uses. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

export function errorBody(code: string, message: string, field?: string): ErrorBody {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

/** Answer with the JSON error body. */
export function sendError(res: Response, status: number, code: string, message: string, field?: string): void {
  res.status(status).json(errorBody(code, message, field));
}

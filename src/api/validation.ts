import type { z } from 'zod';
import { ApiError } from './api-error';

/** Where an input came from; a path or query field is named plainly, a body field by its JSON path. */
export type InputLocation = 'body' | 'params' | 'query';

interface Issue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly keys?: readonly string[];
}

/** The name of the field an issue is about: `proxy_port`, `forwarding_rules.0.target`. */
export function fieldOfIssue(issue: Issue, location: InputLocation): string {
  const path = issue.path.map((p) => String(p));
  // zod reports unknown keys on the parent object; the useful name is the key itself.
  if (issue.code === 'unrecognized_keys' && issue.keys !== undefined && issue.keys.length > 0) path.push(issue.keys[0]);
  if (path.length === 0) return location;
  return path.join('.');
}

/**
 * Validate `value` against `schema`; on failure throw `ApiError` 400 `validation_failed` naming the first
 * offending field, so a client can point at it without parsing the message.
 */
export function validateInput<S extends z.ZodType>(schema: S, value: unknown, location: InputLocation): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as Issue;
  const field = fieldOfIssue(issue, location);
  const message = issue.code === 'unrecognized_keys' ? `unknown field ${field}` : `${field}: ${issue.message}`;
  throw ApiError.validation(field, message);
}

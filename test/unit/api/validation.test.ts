import { z } from 'zod';
import { ApiError, validateInput } from '../../../src/api';

function fail(schema: z.ZodType, value: unknown, location: 'body' | 'params' | 'query' = 'body'): ApiError {
  try {
    validateInput(schema, value, location);
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a validation failure');
}

describe('validateInput', () => {
  const schema = z.strictObject({ a: z.string(), nested: z.object({ list: z.array(z.number()) }).optional() });

  it('returns the parsed value', () => {
    expect(validateInput(schema, { a: 'x' }, 'body')).toEqual({ a: 'x' });
  });

  it('names a missing or wrong field', () => {
    const err = fail(schema, {});
    expect(err).toMatchObject({ status: 400, code: 'validation_failed', field: 'a' });
    expect(err.message).toMatch(/^a: /);
  });

  it('names nested fields by their JSON path', () => {
    expect(fail(schema, { a: 'x', nested: { list: [1, 'two'] } }).field).toBe('nested.list.1');
  });

  it('names an unknown key itself', () => {
    const err = fail(schema, { a: 'x', extra: 1 });
    expect(err.field).toBe('extra');
    expect(err.message).toBe('unknown field extra');
  });

  it('names the location when the whole value is wrong', () => {
    expect(fail(schema, 'text').field).toBe('body');
    expect(fail(schema, null, 'query').field).toBe('query');
  });
});

import { callControlApiError } from '../../../../src/api/routes';
import { CallControlError, type CallControlErrorCode } from '../../../../src/call';

// Every call-control failure code has one HTTP answer; the field is named where the client's input is at fault.
describe('callControlApiError', () => {
  const fields = { target: 'to_number', route: 'route', trunk: 'trunk' };

  it.each<[CallControlErrorCode, boolean, number, string, string | undefined, string | undefined]>([
    ['CALL_NOT_FOUND', false, 404, 'not_found', undefined, undefined],
    ['CALL_STATE', false, 409, 'call_state', undefined, undefined],
    ['BAD_TARGET', false, 400, 'bad_target', 'to_number', undefined],
    ['BAD_ROUTE', false, 400, 'bad_route', 'route', undefined],
    ['NO_TRUNK', true, 400, 'no_trunk', 'trunk', undefined],
    ['NO_TRUNK', false, 503, 'no_trunk', undefined, '30'],
    ['ROUTE_UNAVAILABLE', false, 503, 'route_unavailable', 'route', '30'],
    ['CAPACITY', false, 503, 'capacity', undefined, '1'],
    ['SHUTTING_DOWN', false, 503, 'shutting_down', undefined, '1'],
  ])('%s (trunk named: %s) -> %i %s', (code, trunkGiven, status, apiCode, field, retryAfter) => {
    const err = callControlApiError(new CallControlError(code, 'why'), { ...fields, trunkGiven });
    expect(err.status).toBe(status);
    expect(err.code).toBe(apiCode);
    expect(err.field).toBe(field);
    expect(err.message).toBe('why');
    expect(err.headers?.['Retry-After']).toBe(retryAfter);
  });
});

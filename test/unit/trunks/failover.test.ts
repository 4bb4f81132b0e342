import { isTrunkMiss, shouldFailover, type TrunkAttemptResult } from '../../../src/trunks';

describe('shouldFailover', () => {
  const cases: [string, TrunkAttemptResult, boolean][] = [
    ['timeout (no answer at all)', 'timeout', true],
    ['408 Request Timeout', 408, true],
    ['500 Server Internal Error', 500, true],
    ['502 Bad Gateway', 502, true],
    ['503 Service Unavailable', 503, true],
    ['504 Server Time-out', 504, true],
    ['486 Busy Here', 486, false],
    ['404 Not Found', 404, false],
    ['403 Forbidden', 403, false],
    ['487 Request Terminated', 487, false],
    ['480 Temporarily Unavailable', 480, false],
    ['603 Decline', 603, false],
    ['600 Busy Everywhere', 600, false],
    ['200 OK', 200, false],
  ];
  it.each(cases)('%s -> %s', (_name, result, expected) => {
    expect(shouldFailover(result)).toBe(expected);
    expect(isTrunkMiss(result)).toBe(expected);
  });
});

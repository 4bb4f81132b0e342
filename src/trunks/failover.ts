/** A final answer to an outbound attempt through a trunk, or no answer at all. */
export type TrunkAttemptResult = number | 'timeout';

/**
 * Whether a failed outbound INVITE should be retried through the next trunk of the route list.
 *
 * Yes for what says "this trunk could not take the call": 408 Request Timeout and no answer at all (RFC 3261
 * §8.1.3.1 treats a transaction timeout as 408), and every 5xx (server failure, 503 Service Unavailable from an
 * overloaded or unreachable gateway: RFC 3261 §21.5.4). No for 4xx and 6xx: the destination itself answered
 * (486 Busy Here, 404 Not Found, 403 Forbidden, 487 after our CANCEL) and another trunk would reach the same
 * callee with the same result. 2xx/3xx/1xx are not failures.
 */
export function shouldFailover(result: TrunkAttemptResult): boolean {
  if (result === 'timeout') return true;
  if (!Number.isInteger(result)) return false;
  return result === 408 || (result >= 500 && result <= 599);
}

/**
 * Whether a result counts against the trunk's health: the same set as failover (no answer, 408, 5xx). A 4xx or 6xx
 * proves the trunk is alive even though the call failed.
 */
export function isTrunkMiss(result: TrunkAttemptResult): boolean {
  return shouldFailover(result);
}

/**
 * RFC 3261 §14.1: after a 491 the UAC retries its re-INVITE after a random delay in units of 10 ms. The owner of
 * the Call-ID (the UA that generated it, i.e. the UAC of the dialog-creating INVITE) waits 2.1 s to 4 s; the
 * other side waits 0 to 2 s, so the two retries do not collide again.
 */
export function glareRetryDelayMs(isCallIdOwner: boolean, random: () => number = Math.random): number {
  // (4000 - 2100) / 10 + 1 = 191 possible values; 2000 / 10 + 1 = 201.
  return isCallIdOwner ? 2100 + 10 * pick(191, random) : 10 * pick(201, random);
}

/**
 * RFC 3261 §14.2: a re-INVITE received while an earlier one is still unanswered gets a 500 with a Retry-After
 * chosen at random between 0 and 10 seconds. Also used for out-of-order requests (§12.2.2).
 */
export function retryAfterSeconds(random: () => number = Math.random): number {
  return pick(11, random);
}

/** Integer in [0, n), robust against a random source returning exactly 1. */
function pick(n: number, random: () => number): number {
  const r = Math.floor(random() * n);
  return r >= n ? n - 1 : r < 0 ? 0 : r;
}

import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let pos = POOL_SIZE;

/**
 * `n` bytes (at most 64) from the system CSPRNG, drawn through a shared 4 KiB pool: one `getrandom` system call per
 * pool refill instead of one per call. Each byte is handed out once. For values that must be unpredictable: SIP
 * branches, tags and Call-IDs (RFC 3261 §8.1.1.4, §8.1.1.7, §19.3), RTP SSRC and initial sequence/timestamp (RFC 3550
 * §5.1, §8), SDP session ids, RTCP CNAMEs, WebSocket masking keys (RFC 6455 §5.3). The view is valid until the pool is
 * refilled: copy what is kept.
 */
export function pooledRandomBytes(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new RangeError('pooledRandomBytes: n must be an integer in 0..64');
  if (pos + n > POOL_SIZE) {
    randomFillSync(pool);
    pos = 0;
  }
  const out = pool.subarray(pos, pos + n);
  pos += n;
  return out;
}

/** A uniformly random unsigned 32-bit integer from the pooled CSPRNG. */
export function pooledRandomUint32(): number {
  return pooledRandomBytes(4).readUInt32BE(0);
}

/** A uniformly random unsigned 16-bit integer from the pooled CSPRNG. */
export function pooledRandomUint16(): number {
  return pooledRandomBytes(2).readUInt16BE(0);
}

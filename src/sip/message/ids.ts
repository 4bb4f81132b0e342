/**
 * Identifiers: Via branch (RFC 3261 §8.1.1.7), tags (§19.3) and Call-IDs (§8.1.1.4).
 *
 * Each is random bytes from the pooled CSPRNG draw (util/random-pool) plus a process counter, so ids are unique
 * within the process by construction and unguessable across processes (a guessable tag or Call-ID lets a third
 * party inject in-dialog requests).
 */
import { pooledRandomBytes } from '../../util';

/** RFC 3261 §8.1.1.7: branches of RFC 3261 clients begin with this cookie. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

let counter = 0;
// 64 symbols: every character is token-safe (RFC 3261 §25.1) and word-safe for Call-IDs.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.';

function randomChars(n: number): string {
  const bytes = pooledRandomBytes(n);
  let out = '';
  for (let i = 0; i < n; i++) out += ALPHABET[bytes[i] & 63];
  return out;
}

function nextCounter(): string {
  counter = (counter + 1) % 0x100000000;
  return counter.toString(36);
}

/** New Via branch: 'z9hG4bK' + 72 random bits + counter. */
export function generateBranch(): string {
  return BRANCH_MAGIC_COOKIE + randomChars(12) + nextCounter();
}

/** New From/To tag: 60 random bits + counter (RFC 3261 §19.3 asks for at least 32 random bits). */
export function generateTag(): string {
  return randomChars(10) + nextCounter();
}

/** New Call-ID: 120 random bits + counter, optionally '@host' (RFC 3261 §8.1.1.4). */
export function generateCallId(host?: string): string {
  const id = randomChars(20) + nextCounter();
  return host ? `${id}@${host}` : id;
}

/**
 * ASCII writers for audio messages assembled in place in a reused buffer (one per call), so a 20 ms frame costs no
 * string building and no UTF-8 re-encoding. Every writer returns the index after the last byte written; the caller
 * sizes the buffer (numbers here take at most {@link MAX_NUMBER_BYTES} bytes).
 */

/** Longest output of {@link writeUint} / {@link writeEpochSeconds} (a double printed by JavaScript, with margin). */
export const MAX_NUMBER_BYTES = 32;

/** Copy `src` (a short constant) into `dst` at `at`: a plain loop beats Buffer#copy's native call at this size. */
export function putBytes(dst: Buffer, at: number, src: Uint8Array): number {
  const n = src.length;
  for (let i = 0; i < n; i++) dst[at + i] = src[i];
  return at + n;
}

/** `n` as JavaScript prints it (String(n)): decimal digits for non-negative safe integers, else via String. */
export function writeUint(dst: Buffer, at: number, n: number): number {
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) return at + dst.write(String(n), at, 'latin1');
  let digits = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
  let p = at + digits;
  let v = n;
  do {
    const q = Math.floor(v / 10);
    dst[--p] = 0x30 + (v - q * 10);
    v = q;
  } while (v > 0);
  return at + digits;
}

/**
 * Seconds since the epoch with millisecond precision: the same text as `(Math.round(wallMs) / 1000).toFixed(3)`
 * (`1634567890.123`).
 */
export function writeEpochSeconds(dst: Buffer, at: number, wallMs: number): number {
  const ms = Math.round(wallMs);
  if (!(ms >= 0 && ms <= Number.MAX_SAFE_INTEGER)) return at + dst.write((ms / 1000).toFixed(3), at, 'latin1');
  const s = Math.floor(ms / 1000);
  const frac = ms - s * 1000;
  let p = writeUint(dst, at, s);
  dst[p++] = 0x2e; // .
  dst[p++] = 0x30 + Math.floor(frac / 100);
  dst[p++] = 0x30 + (Math.floor(frac / 10) % 10);
  dst[p++] = 0x30 + (frac % 10);
  return p;
}

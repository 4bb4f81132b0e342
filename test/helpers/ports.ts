/**
 * RTP port ranges for the servers a test starts (in this process or as a child process).
 *
 * Kernel-chosen ports (bind to port 0, and freePort() in ./sipp, which SIPp's SIP and media ports come from) are drawn
 * from net.ipv4.ip_local_port_range, 32768-60999 by default on Linux. RTP ranges therefore live below it, in
 * 10000-31999, so a server's pool never binds a port that freePort() just handed to SIPp or to a child process.
 *
 * Each jest worker (JEST_WORKER_ID 1, 2, ...) owns its own band of that space, so the concurrent workers of one jest
 * run never share RTP ports; inside the band, successive servers take successive slots and wrap around (a test file
 * rarely holds more than a few servers at once). Runs of jest started by different people at the same time may still
 * meet; the port pool skips a pair that is in use, so that costs capacity, not correctness.
 */

const LOW = 10_000;
const HIGH = 32_000;
/** Width of one worker's band: 8 workers fit below HIGH. */
const BAND = 2_750;

let next = 0;

/** This jest worker's band as [first, end): one band per worker id, in order, wrapping after 8 workers. */
export function rtpBand(): { first: number; end: number } {
  const id = Number(process.env['JEST_WORKER_ID'] ?? '1');
  const slot = (Number.isInteger(id) && id > 0 ? id - 1 : 0) % Math.floor((HIGH - LOW) / BAND);
  const first = LOW + slot * BAND;
  return { first, end: first + BAND };
}

/**
 * The next RTP range of `size` ports (even, at most 1000) in this worker's band, as RTP_PORT_MIN / RTP_PORT_MAX values
 * (min even, max = min + size - 2, so the last pair is complete).
 */
export function nextRtpRange(size = 400): { min: number; max: number } {
  if (!Number.isInteger(size) || size < 4 || size > 1000 || size % 2 !== 0) throw new TypeError(`RTP range size must be an even number in 4..1000, got ${size}`);
  const { first, end } = rtpBand();
  if (next + size > end - first) next = 0;
  const min = first + next;
  next += size;
  return { min, max: min + size - 2 };
}

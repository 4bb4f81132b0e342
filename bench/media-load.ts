/**
 * Load generator for bench/media.ts, run as a child process so it does not share the server's event loop or core.
 * Sends one 20 ms PCMU packet per session every 20 ms on loopback (drift-free schedule) and measures the echo:
 * each payload starts with a packet counter coded in mu-law bytes that survive decode -> encode unchanged, so the
 * round trip time and loss are measured per packet without touching the server.
 *
 * Lock-step mode (bench/media.ts --cpu): on each `round` message it sends one packet to every session at once and
 * answers `sent`, so the server's CPU time per packet can be measured over a fixed packet count, free of the
 * scheduling noise of a shared machine.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

interface SetupMessage {
  type: 'setup';
  /** Server RTP ports, one per session. */
  targets: number[];
  /** Sessions per sending socket. */
  perSocket: number;
}

interface StartMessage {
  type: 'start';
  warmupMs: number;
  measureMs: number;
}

interface RoundMessage {
  type: 'round';
}

type Message = SetupMessage | StartMessage | RoundMessage;

/** Result sent back to the parent. */
export interface LoadReport {
  type: 'report';
  sessions: number;
  /** Packets sent during the measurement window. */
  sent: number;
  /** Their echoes received (first copy). */
  echoed: number;
  /** Echoes of a counter already seen (concealment repeats the last packet). */
  duplicates: number;
  /** Echoes later than LATE_MS. */
  late: number;
  rttP50: number;
  rttP99: number;
  rttMax: number;
  /** Largest lateness of the generator's own 20 ms timer (a busy generator skews the figures). */
  maxSendLagMs: number;
}

const FRAME = 160;
const RING = 1024;
const BASE = 120; // counter digits: mu-law codes 0..119 (code 127 does not survive decode -> encode)
const LATE_MS = 150;
const HIST_BIN_MS = 0.1;
const HIST_BINS = 20000;

let targets: number[] = [];
let sockets: Socket[] = [];
const portToSession = new Map<number, number>();
let sentAt: Float64Array;
let lastCounter: Int32Array;
let counter = 0;
const hist = new Uint32Array(HIST_BINS + 1);
let windowStart = Infinity;
let windowEnd = Infinity;
const stats = { sent: 0, echoed: 0, duplicates: 0, late: 0, rttMax: 0 };

// Speech-band audio (two tones) so the server's decoder and DTMF detector do real work.
const audio = new Uint8Array(FRAME * 50);
{
  const mu = (s: number): number => {
    // G.711 mu-law encode (ITU-T G.711), enough for a test signal.
    const sign = s < 0 ? 0x80 : 0;
    let m = Math.min(Math.abs(s), 32635) + 132;
    let exp = 7;
    for (let mask = 0x4000; (m & mask) === 0 && exp > 0; mask >>= 1) exp--;
    const mant = (m >> (exp + 3)) & 0x0f;
    m = ~(sign | (exp << 4) | mant) & 0xff;
    return m;
  };
  for (let i = 0; i < audio.length; i++) audio[i] = mu(Math.round(4000 * Math.sin((2 * Math.PI * 310 * i) / 8000) + 3000 * Math.sin((2 * Math.PI * 1170 * i) / 8000)));
}

function onEcho(msg: Buffer, rinfo: RemoteInfo): void {
  const now = performance.now();
  if (msg.length < 12 + 4 || (msg[1] & 0x7f) !== 0) return;
  const s = portToSession.get(rinfo.port);
  if (s === undefined) return;
  // Silence, or concealment (attenuated copies of a packet) whose bytes no longer carry a valid counter.
  if (msg[12] >= BASE || msg[13] >= BASE || msg[14] >= BASE || msg[15] !== check(msg[12], msg[13], msg[14])) return;
  const c = msg[12] * BASE * BASE + msg[13] * BASE + msg[14];
  if (c <= lastCounter[s]) {
    stats.duplicates++;
    return;
  }
  lastCounter[s] = c;
  const at = sentAt[s * RING + (c % RING)];
  if (!(at >= windowStart && at < windowEnd)) return;
  const rtt = now - at;
  stats.echoed++;
  if (rtt > LATE_MS) stats.late++;
  if (rtt > stats.rttMax) stats.rttMax = rtt;
  hist[Math.min(HIST_BINS, Math.floor(rtt / HIST_BIN_MS))]++;
}

/** A check digit over the counter digits, so altered payloads are not mistaken for counters. */
function check(a: number, b: number, c: number): number {
  return (a * 31 + b * 17 + c * 7 + 11) % BASE;
}

function percentile(p: number): number {
  const total = hist.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let i = 0; i <= HIST_BINS; i++) {
    acc += hist[i];
    if (acc >= total * p) return i * HIST_BIN_MS;
  }
  return HIST_BINS * HIST_BIN_MS;
}

async function setup(msg: SetupMessage): Promise<number[]> {
  targets = msg.targets;
  const n = targets.length;
  seq = new Uint16Array(n);
  ts = new Uint32Array(n);
  sentAt = new Float64Array(n * RING);
  lastCounter = new Int32Array(n).fill(-1);
  targets.forEach((p, i) => portToSession.set(p, i));
  const count = Math.ceil(n / msg.perSocket);
  sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve) => {
          const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
          s.on('message', onEcho);
          s.bind(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  // Session i is fed from socket floor(i / perSocket).
  return targets.map((_, i) => sockets[Math.floor(i / msg.perSocket)].address().port);
}

let seq = new Uint16Array(0);
let ts = new Uint32Array(0);

/** Send packet number `c` of every session. */
function sendAll(c: number, now: number): void {
  const n = targets.length;
  const perSocket = Math.ceil(n / sockets.length);
  const off = (c % 50) * FRAME;
  for (let i = 0; i < n; i++) {
    const pkt = Buffer.allocUnsafe(12 + FRAME);
    pkt[0] = 0x80;
    pkt[1] = c === 0 ? 0x80 : 0;
    pkt.writeUInt16BE(seq[i], 2);
    pkt.writeUInt32BE(ts[i], 4);
    pkt.writeUInt32BE(0x5000 + i, 8);
    pkt.set(audio.subarray(off, off + FRAME), 12);
    pkt[12] = Math.floor(c / (BASE * BASE)) % BASE;
    pkt[13] = Math.floor(c / BASE) % BASE;
    pkt[14] = c % BASE;
    pkt[15] = check(pkt[12], pkt[13], pkt[14]);
    seq[i] = (seq[i] + 1) & 0xffff;
    ts[i] = (ts[i] + FRAME) >>> 0;
    sentAt[i * RING + (c % RING)] = performance.now();
    if (now >= windowStart) stats.sent++;
    sockets[Math.floor(i / perSocket)].send(pkt, targets[i], '127.0.0.1');
  }
}

function start(msg: StartMessage): void {
  const t0 = performance.now();
  windowStart = t0 + msg.warmupMs;
  windowEnd = windowStart + msg.measureMs;
  let tick = 0;
  let maxLag = 0;
  const step = (): void => {
    const now = performance.now();
    if (now >= windowEnd) {
      setTimeout(() => finish(maxLag), 500);
      return;
    }
    maxLag = Math.max(maxLag, now - (t0 + tick * 20));
    sendAll(counter++, now);
    tick++;
    setTimeout(step, Math.max(0, t0 + tick * 20 - performance.now()));
  };
  step();
}

function finish(maxSendLagMs: number): void {
  const report: LoadReport = {
    type: 'report',
    sessions: targets.length,
    sent: stats.sent,
    echoed: stats.echoed,
    duplicates: stats.duplicates,
    late: stats.late,
    rttP50: percentile(0.5),
    rttP99: percentile(0.99),
    rttMax: stats.rttMax,
    maxSendLagMs,
  };
  process.send?.(report);
  for (const s of sockets) s.close();
  process.disconnect?.();
}

process.on('message', (msg: Message) => {
  if (msg.type === 'setup') void setup(msg).then((ports) => process.send?.({ type: 'ready', ports }));
  else if (msg.type === 'start') start(msg);
  else if (msg.type === 'round') {
    sendAll(counter++, 0);
    process.send?.({ type: 'sent' });
  }
});

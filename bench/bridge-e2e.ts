/**
 * End-to-end AI bridge load: `npm run bench:bridge-e2e -- [100 500 1000 ...]` (default 100 500 1000).
 *
 * Three processes, so the server's figures are its own: this one runs the real server (SIP, RTP, call control, the
 * ai route, PGlite), a child runs the mock AI platform echoing every audio_data back (scripts/mock-ai.ts, lean mode:
 * no message kept, echo without a JSON round trip), and a second child is the caller side: N SIP calls
 * (INVITE/ACK/BYE over UDP), each sending one 20 ms PCMU packet every 20 ms on a drift-free schedule. The caller
 * side is kept cheap so that it is not what saturates the machine: its RTP comes from bench/rtp-load.c (compiled with
 * `cc`; batched sendmmsg/recvmmsg), one UDP socket for every call's RTP (the server latches to it, RFC 4961 symmetric
 * RTP, and tells calls apart by its own port), one schedule for all calls (ten phase groups 2 ms apart, so packets are
 * spread over the period as real callers' are), packets built once and patched. Without a C compiler the same runs in
 * Node (several times the CPU).
 *
 * Each payload carries a packet counter in mu-law codes that survive decode -> PCM16 -> base64 JSON -> echo -> PCM16
 * -> encode unchanged. The caller side measures loss and the round trip per packet; the server side, through
 * wrappers on the call's objects (a few hundred ns per frame), times the two hops the server owns:
 *   RTP->WS  an RTP packet's arrival at the call's socket -> its audio_data message handed to the WebSocket
 *            (the bridge takes the caller's audio as it arrives, MediaSession 'arrivalframe': no jitter buffer or tick);
 *   AI->RTP  an AI audio_data message's arrival at the bridge -> the RTP packet carrying it sent.
 * The caller offers telephone-event, as trunks do: the in-band DTMF detector (a media cost, see bench:media) is off.
 *
 * Printed per N: server CPU (% of one core, and CPU time per call per 20 ms), event-loop delay p99/max, RSS,
 * caller/AI CPU, packets sent / lost / late (RTT > 150 ms), RTT p50/p99, RTP->WS and AI->RTP p50/p99, frames the
 * server dropped (uplink backlog, playout after stalls), the load generator's worst lateness and the load average.
 * Figures are printed, never asserted: the machine is shared.
 *
 * Environment: BENCH_DATABASE_URL runs the server on that PostgreSQL instead of the embedded PGlite (whose WASM
 * heap alone is ~800 MB of RSS); BENCH_PROFILE_DIR writes a V8 CPU profile of the server over each measurement
 * window (the same profiler as `node --cpu-prof`, limited to the window) as <dir>/bridge-<N>.cpuprofile;
 * BENCH_RTP_PORT_MIN / BENCH_RTP_PORT_MAX set the server's RTP port range (default 50000-54998); BENCH_DEBUG prints
 * the playout queue depths at the window's start and end and the deepest call's counters.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AiAudioCommand, AiDecodeResult } from '../src/bridge';
import { loadConfig } from '../src/config';
import { PCMU } from '../src/dsp';
import type { MediaSession } from '../src/media';
import { nullLogger } from '../src/observability';
import { startServer } from '../src/server';

const FRAME = 160;
const BASE = 100; // counter digits: mu-law codes 0..99 survive decode -> encode
const RING = 256; // counters remembered per call (5 s of packets)
const LATE_MS = 150;
const MEASURE_MS = 8000;
const WARMUP_MS = 3000;
const GROUPS = 10; // phase groups of the caller side's one timer (2 ms apart)

function check(a: number, b: number, c: number): number {
  return (a * 31 + b * 17 + c * 7 + 11) % BASE;
}

/** The counter in four mu-law codes (three digits and a check), or -1. */
function counterOf(c0: number, c1: number, c2: number, c3: number): number {
  if (c0 >= BASE || c1 >= BASE || c2 >= BASE || c3 !== check(c0, c1, c2)) return -1;
  return c0 * BASE * BASE + c1 * BASE + c2;
}

function percentileOf(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

// ==== caller side (child process) ===============================================================================

interface LoadSetup {
  type: 'setup';
  sipPort: number;
  calls: number;
  /** The compiled bench/rtp-load.c, or undefined to send RTP from Node. */
  rtpLoad: string | undefined;
}
interface MediaReport {
  sent: number;
  echoed: number;
  late: number;
  rttP50: number;
  rttP99: number;
  cpuMs: number;
  wallMs: number;
  maxSendLagMs: number;
}
interface LoadReport extends MediaReport {
  type: 'report';
  established: number;
  /** Which generator sent the RTP. */
  generator: 'c' | 'node';
}
type WindowMessage = { type: 'window'; start: number; end: number };

/** The RTP half of the caller side: one socket for every call, one schedule. */
interface RtpLoad {
  readonly port: number;
  /** Send every call's packets to `remote[i]` for warm-up + window; reports the window's figures. */
  run(remote: Int32Array, onWindow: (startMs: number, endMs: number) => void): Promise<MediaReport>;
}

/** bench/rtp-load.c: batched sends and receives (sendmmsg/recvmmsg), a few microseconds per packet. */
async function startCRtp(binary: string, n: number): Promise<RtpLoad> {
  const child = spawn(binary, [String(n), String(WARMUP_MS), String(MEASURE_MS), String(GROUPS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let buffered = '';
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      lines.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
    wake?.();
  });
  const nextLine = async (prefix: string): Promise<string> => {
    for (;;) {
      const i = lines.findIndex((l) => l.startsWith(prefix));
      if (i >= 0) return lines.splice(i, 1)[0].slice(prefix.length);
      if (child.exitCode !== null) throw new Error(`rtp-load exited (${child.exitCode}) before "${prefix}"`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
  };
  const port = Number(await nextLine('port '));
  return {
    port,
    async run(remote, onWindow) {
      let table = '';
      for (let i = 0; i < n; i++) if (remote[i] > 0) table += `call ${i} ${remote[i]}\n`;
      child.stdin.write(`${table}go\n`);
      const [start, end] = (await nextLine('window ')).split(' ').map(Number);
      onWindow(start, end);
      return JSON.parse(await nextLine('report ')) as MediaReport;
    },
  };
}

/** The same in Node (when no C compiler is around): one dgram per packet, so it costs several times more. */
async function startNodeRtp(n: number): Promise<RtpLoad> {
  const rtp = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  await new Promise<void>((r) => rtp.bind(0, '127.0.0.1', () => r()));
  const port = rtp.address().port;
  return {
    port,
    async run(remote, onWindow) {
      const callOfPort = new Int32Array(65536).fill(-1);
      for (let i = 0; i < n; i++) if (remote[i] > 0) callOfPort[remote[i]] = i;
      const sentAt = new Float64Array(n * RING);
      const last = new Int32Array(n).fill(-1);
      const rtts = new Float64Array(n * 50 * Math.ceil((MEASURE_MS + 2000) / 1000));
      let rttCount = 0;
      const stats = { sent: 0, echoed: 0, late: 0, maxLag: 0 };
      const t0 = performance.now() + 5;
      const windowStart = t0 + WARMUP_MS;
      const windowEnd = windowStart + MEASURE_MS;
      rtp.on('message', (msg: Buffer, r: RemoteInfo) => {
        const now = performance.now();
        const i = callOfPort[r.port];
        if (i < 0 || msg.length < 16 || (msg[1] & 0x7f) !== 0) return;
        const c = counterOf(msg[12], msg[13], msg[14], msg[15]);
        if (c <= last[i]) return;
        last[i] = c;
        const at = sentAt[i * RING + (c % RING)];
        if (!(at >= windowStart && at < windowEnd)) return;
        const rtt = now - at;
        stats.echoed++;
        if (rtt > LATE_MS) stats.late++;
        if (rttCount < rtts.length) rtts[rttCount++] = rtt;
      });
      // Packets built once (PCMU silence, the counter in the first four bytes), two per call so that one can be
      // patched while the other may still be queued in the socket.
      const pkts: Buffer[] = [];
      for (let i = 0; i < 2 * n; i++) {
        const p = Buffer.alloc(12 + FRAME, 0xff);
        p[0] = 0x80;
        p[1] = 0;
        p.writeUInt32BE((0x10000 + (i >> 1)) >>> 0, 8);
        pkts.push(p);
      }
      const seqs = new Uint16Array(n);
      const cpu0 = process.cpuUsage();
      onWindow(Date.now() + 5 + WARMUP_MS, Date.now() + 5 + WARMUP_MS + MEASURE_MS);
      let slot = 0; // index of the next phase group to send: tick = slot / GROUPS
      await new Promise<void>((resolveMedia) => {
        const step = (): void => {
          let now = performance.now();
          // Every group that is due (more than one after a late timer), each at its own time.
          while (t0 + (slot * 20) / GROUPS <= now) {
            const tick = Math.floor(slot / GROUPS);
            const g = slot % GROUPS;
            const lag = now - (t0 + (slot * 20) / GROUPS);
            if (lag > stats.maxLag && now > windowStart) stats.maxLag = lag;
            const d0 = Math.floor(tick / (BASE * BASE)) % BASE;
            const d1 = Math.floor(tick / BASE) % BASE;
            const d2 = tick % BASE;
            const chk = check(d0, d1, d2);
            const ts = (tick * FRAME) >>> 0;
            for (let i = g; i < n; i += GROUPS) {
              if (remote[i] === 0) continue;
              const p = pkts[2 * i + (tick & 1)];
              p.writeUInt16BE(seqs[i]++, 2);
              p.writeUInt32BE(ts, 4);
              p[12] = d0;
              p[13] = d1;
              p[14] = d2;
              p[15] = chk;
              sentAt[i * RING + (tick % RING)] = now;
              rtp.send(p, remote[i], '127.0.0.1');
              if (now >= windowStart && now < windowEnd) stats.sent++;
            }
            slot++;
            now = performance.now();
          }
          if (now > windowEnd + 500) {
            resolveMedia();
            return;
          }
          setTimeout(step, Math.max(0, t0 + (slot * 20) / GROUPS - performance.now()));
        };
        setTimeout(step, 5);
      });
      const cpu = process.cpuUsage(cpu0);
      rtp.close();
      const sorted = rtts.slice(0, rttCount).sort();
      return {
        sent: stats.sent,
        echoed: stats.echoed,
        late: stats.late,
        rttP50: percentileOf(sorted, 0.5),
        rttP99: percentileOf(sorted, 0.99),
        cpuMs: (cpu.user + cpu.system) / 1000,
        wallMs: performance.now() - t0,
        maxSendLagMs: stats.maxLag,
      };
    },
  };
}

async function runLoad(setup: LoadSetup, send: (m: LoadReport | WindowMessage) => void): Promise<void> {
  const n = setup.calls;
  const sip = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  await new Promise<void>((r) => sip.bind(0, '127.0.0.1', () => r()));
  const sipPort = sip.address().port;
  // One socket for every call's RTP: the server sends each call's audio to the address it latched (RFC 4961).
  const rtp = setup.rtpLoad !== undefined ? await startCRtp(setup.rtpLoad, n) : await startNodeRtp(n);
  const remote = new Int32Array(n);
  const toTags: string[] = new Array<string>(n).fill('');
  const index = new Map<string, number>();
  let established = 0;
  let byes = 0;

  const callId = (i: number): string => `bench-${process.pid}-${i}@127.0.0.1`;
  const headers = (method: string, i: number, seq: number, to: string): string =>
    [
      `Via: SIP/2.0/UDP 127.0.0.1:${sipPort};branch=z9hG4bK${method}${i}x${seq}x${process.pid}`,
      'Max-Forwards: 70',
      `From: <sip:bench${i}@127.0.0.1:${sipPort}>;tag=b${i}`,
      `To: ${to}`,
      `Call-ID: ${callId(i)}`,
      `CSeq: ${seq} ${method}`,
      `Contact: <sip:bench${i}@127.0.0.1:${sipPort}>`,
    ].join('\r\n');
  const uri = `sip:+15550009000@127.0.0.1:${setup.sipPort}`;
  const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${rtp.port} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=ptime:20', ''].join('\r\n');
  const invite = (i: number): void => {
    sip.send(`INVITE ${uri} SIP/2.0\r\n${headers('INVITE', i, 1, `<${uri}>`)}\r\nContent-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`, setup.sipPort, '127.0.0.1');
  };
  for (let i = 0; i < n; i++) index.set(callId(i), i);
  sip.on('message', (m: Buffer) => {
    const s = m.toString('latin1');
    const id = /^Call-ID:\s*(\S+)/im.exec(s)?.[1] ?? '';
    const i = index.get(id);
    if (i === undefined) return;
    if (!s.startsWith('SIP/2.0')) {
      // A request from the server (BYE, OPTIONS...): 200 it.
      const copy = ['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((h) => new RegExp(`^${h}:.*$`, 'im').exec(s)?.[0] ?? '').join('\r\n');
      sip.send(`SIP/2.0 200 OK\r\n${copy}\r\nContent-Length: 0\r\n\r\n`, setup.sipPort, '127.0.0.1');
      return;
    }
    const code = Number(s.slice(8, 11));
    const cseq = /^CSeq:\s*\d+\s+(\w+)/im.exec(s)?.[1];
    if (cseq === 'INVITE' && code === 200 && toTags[i] === '') {
      toTags[i] = /^To:\s*(.*)$/im.exec(s)?.[1].trim() ?? '';
      const body = s.slice(s.indexOf('\r\n\r\n') + 4);
      remote[i] = Number(/^m=audio (\d+)/m.exec(body)?.[1] ?? 0);
      sip.send(`ACK ${uri} SIP/2.0\r\n${headers('ACK', i, 1, toTags[i])}\r\nContent-Length: 0\r\n\r\n`, setup.sipPort, '127.0.0.1');
      established++;
    } else if (cseq === 'BYE' && code >= 200) byes++;
  });
  // Calls at 250/s (a realistic burst for one instance), INVITE retransmitted if unanswered.
  for (let i = 0; i < n; i++) {
    invite(i);
    if (i % 25 === 24) await new Promise((r) => setTimeout(r, 100));
  }
  const setupDeadline = Date.now() + 15_000;
  while (established < n && Date.now() < setupDeadline) {
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < n; i++) if (toTags[i] === '') invite(i);
  }
  // Let every AI connection open first: caller audio that waits for a socket reaches the echoing AI in one burst.
  await new Promise((r) => setTimeout(r, 1000));
  const media = await rtp.run(remote, (start, end) => send({ type: 'window', start, end }));
  for (let i = 0; i < n; i++) if (toTags[i] !== '') sip.send(`BYE ${uri} SIP/2.0\r\n${headers('BYE', i, 2, toTags[i])}\r\nContent-Length: 0\r\n\r\n`, setup.sipPort, '127.0.0.1');
  const byeDeadline = Date.now() + 5000;
  while (byes < established && Date.now() < byeDeadline) await new Promise((r) => setTimeout(r, 50));
  send({ type: 'report', established, generator: setup.rtpLoad !== undefined ? 'c' : 'node', ...media });
  sip.close();
}

// ==== server side (main process) ================================================================================

class Samples {
  private buf = new Float64Array(1 << 21);
  private n = 0;
  on = false;
  add(ms: number): void {
    if (this.on && this.n < this.buf.length) this.buf[this.n++] = ms;
  }
  reset(): void {
    this.n = 0;
  }
  get count(): number {
    return this.n;
  }
  pct(p: number): number {
    return percentileOf(this.buf.slice(0, this.n).sort(), p);
  }
}

async function startMockAi(): Promise<{ child: ChildProcess; url: string }> {
  const args = ['--require', join(__dirname, 'register.js'), join(__dirname, '../scripts/mock-ai.ts'), '--port', '0', '--host', '127.0.0.1', '--lean'];
  const child = spawn(process.execPath, [...args, '--hangup-digit', 'X', '--clear-digit', 'X', '--transfer-digit', 'X'], { stdio: ['ignore', 'pipe', 'inherit'] });
  // Never leave the mock behind, whatever way this process ends.
  process.once('exit', () => child.kill('SIGTERM'));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /on (ws:\/\/[^/\s]+)\//.exec(out);
      if (m) {
        child.stdout?.off('data', onData);
        child.stdout?.resume(); // keep draining its log
        resolve(`${m[1]}/ws/voice`);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`mock AI exited (${code})`)));
  });
  return { child, url };
}

/** Build bench/rtp-load.c (the cheap RTP generator); undefined when no C compiler is installed. */
function compileRtpLoad(dir: string): string | undefined {
  const out = join(dir, 'rtp-load');
  const r = spawnSync(process.env.CC ?? 'cc', ['-O2', '-o', out, join(__dirname, 'rtp-load.c')], { stdio: 'inherit' });
  if (r.status === 0) return out;
  console.log('no C compiler (cc): the caller side sends RTP from Node, which costs several times more CPU');
  return undefined;
}

function childCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // /proc/<pid>/stat fields 14 and 15: utime and stime in clock ticks (100 Hz on Linux).
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** Mu-law code of a PCM16 sample (the codes the counter uses survive the round trip). */
const code = (v: number): number => PCMU.encodeSample(v);

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((v) => v > 0);
  const runs = sizes.length > 0 ? sizes : [100, 500, 1000];
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-bridge-e2e-'));
  const rtpLoad = compileRtpLoad(dataDir);
  const mock = await startMockAi();
  const config = loadConfig({
    NODE_ENV: 'test',
    SIP_BIND_ADDRESS: '127.0.0.1',
    SIP_PUBLIC_ADDRESS: '127.0.0.1',
    SIP_PORT: '0',
    SIP_TLS_PORT: '0',
    SIP_TRANSPORTS: 'udp',
    API_PORT: '0',
    API_BIND_ADDRESS: '127.0.0.1',
    DATA_DIR: dataDir,
    RTP_PORT_MIN: process.env.BENCH_RTP_PORT_MIN ?? '50000',
    RTP_PORT_MAX: process.env.BENCH_RTP_PORT_MAX ?? '54998',
    DEFAULT_ROUTE: 'ai',
    // Callers here are no trunk: accept calls from any source.
    OPEN_INBOUND: 'true',
    AI_PLATFORM_URL: mock.url,
    AI_MAX_SESSIONS: '0',
    SIP_FLOOD_MAX_REQUESTS: '0',
    LOG_LEVEL: 'silent',
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
  });
  const server = await startServer(config, { logger: nullLogger });
  const profileDir = process.env.BENCH_PROFILE_DIR;
  const inspector = profileDir ? new Session() : undefined;
  inspector?.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => inspector?.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  if (inspector) await post('Profiler.enable');
  const up = new Samples();
  const down = new Samples();
  const elDelay = monitorEventLoopDelay({ resolution: 10 });
  const sessions = new Map<string, MediaSession>();
  // Per call and counter: when the caller's packet reached the server, when the AI's echo of it did.
  const upAt = new Map<MediaSession, Float64Array>();
  const downAt = new Map<MediaSession, Float64Array>();
  const instrumented = new Set<string>();
  const instrument = (): void => {
    for (const info of server.calls.list()) {
      if (instrumented.has(info.callId)) continue;
      const media = server.calls.call(info.callId)?.a.media;
      const bridge = server.ai.session(info.callId);
      if (!media || !bridge) continue;
      instrumented.add(info.callId);
      sessions.set(info.callId, media);
      const upRing = new Float64Array(RING);
      const downRing = new Float64Array(RING);
      upAt.set(media, upRing);
      downAt.set(media, downRing);
      // Time the datagram ahead of every other listener: the bridge may take the caller's audio in the same
      // callback (MediaSession 'arrivalframe'), before a listener added here would run. The generator's packets have
      // a plain 12-byte header. (A private field: this is instrumentation.)
      const rtpSocket = (media.endpoint as unknown as { rtpSocket: Socket }).rtpSocket;
      rtpSocket.prependListener('message', (msg: Buffer) => {
        const c = msg.length >= 16 ? counterOf(msg[12], msg[13], msg[14], msg[15]) : -1;
        if (c >= 0) upRing[c % RING] = performance.now();
      });
      const codec = bridge.codec;
      const encodeAudio = codec.encodeAudio.bind(codec);
      codec.encodeAudio = (frame: Int16Array, seq: number, wall: number) => {
        const out = encodeAudio(frame, seq, wall);
        const c = counterOf(code(frame[0]), code(frame[1]), code(frame[2]), code(frame[3]));
        if (c >= 0 && upRing[c % RING] > 0) up.add(performance.now() - upRing[c % RING]);
        return out;
      };
      const decodeTextFrame = codec.decodeTextFrame.bind(codec);
      codec.decodeTextFrame = (bytes: Buffer): AiDecodeResult => {
        const arrived = performance.now();
        const r = decodeTextFrame(bytes);
        if (r.ok && r.command.kind === 'audio') {
          const b = (r.command as AiAudioCommand).bytes;
          if (b.length >= 8) {
            const s = (k: number): number => ((b[2 * k] | (b[2 * k + 1] << 8)) << 16) >> 16;
            const c = counterOf(code(s(0)), code(s(1)), code(s(2)), code(s(3)));
            if (c >= 0) downRing[c % RING] = arrived;
          }
        }
        return r;
      };
      const endpoint = media.endpoint;
      const sendFrame = endpoint.sendFrame.bind(endpoint);
      endpoint.sendFrame = ((payload: Uint8Array, samples: number, opts) => {
        const c = counterOf(payload[0], payload[1], payload[2], payload[3]);
        if (c >= 0 && downRing[c % RING] > 0) down.add(performance.now() - downRing[c % RING]);
        return sendFrame(payload, samples, opts);
      }) as typeof endpoint.sendFrame;
    }
  };
  const baseRss = process.memoryUsage().rss;
  console.log(`bridge e2e: server pid ${process.pid}, mock AI ${mock.url}; ${MEASURE_MS / 1000} s measured per run after ${WARMUP_MS / 1000} s warm-up`);
  console.log(`caller RTP generator: ${rtpLoad !== undefined ? 'C (bench/rtp-load.c, sendmmsg/recvmmsg)' : 'Node'}`);
  console.log(
    'calls | est. | srv CPU% | us/call/20ms (sys) | loop p99/max ms | RSS MB (idle) | caller CPU% | AI CPU% | sent | lost | late | RTT p50/p99 ms | RTP->WS p50/p99 ms | AI->RTP p50/p99 ms | srv drops up/play | gen lag ms | load avg',
  );
  for (const n of runs) {
    const load = fork(__filename, ['--load'], { execArgv: ['--require', join(__dirname, 'register.js')], stdio: 'inherit' });
    up.reset();
    down.reset();
    up.on = false;
    down.on = false;
    let cpu0: NodeJS.CpuUsage | undefined;
    let wall0 = 0;
    let aiCpu0 = 0;
    let cpu: NodeJS.CpuUsage = { user: 0, system: 0 };
    let wall = 1;
    let aiCpu = 0;
    let rss = 0;
    let loadAvg = 0;
    let windowTimers: NodeJS.Timeout[] = [];
    const drops0 = { up: 0, play: 0 };
    const totals = (): { up: number; play: number } => {
      let upDrops = 0;
      let play = 0;
      const depth = new Map<number, number>();
      for (const id of instrumented) {
        const s = server.ai.session(id);
        if (s) upDrops += s.stats.framesDropped;
        const m = sessions.get(id);
        if (m && !m.isClosed) {
          const st = m.stats();
          play += (st.queueStallDropped + st.queueStandingDropped) / FRAME;
          const d = Math.floor(st.queuedSamples / FRAME);
          depth.set(d, (depth.get(d) ?? 0) + 1);
        }
      }
      if (process.env.BENCH_DEBUG) {
        console.log('queue depth (frames: calls)', JSON.stringify([...depth].sort((a, b) => a[0] - b[0])));
        // The call with the deepest queue: where its frames came from.
        let worst: string | undefined;
        let deepest = -1;
        for (const id of instrumented) {
          const m = sessions.get(id);
          if (m && !m.isClosed && m.queuedSamples > deepest) {
            deepest = m.queuedSamples;
            worst = id;
          }
        }
        const m = worst !== undefined ? sessions.get(worst) : undefined;
        const b = worst !== undefined ? server.ai.session(worst) : undefined;
        if (m && b) {
          const st = m.stats();
          console.log(
            'deepest call:',
            JSON.stringify({ queued: st.queuedSamples / FRAME, rx: st.framesReceived, concealed: st.framesConcealed, sent: st.framesSent, silence: st.silenceSent, stallDrop: st.queueStallDropped / FRAME, standingDrop: st.queueStandingDropped / FRAME, jbLost: st.jitterLost, jbLate: st.jitterLate, latencyDropped: st.latencyDropped, upSent: b.stats.framesSent, aiMsgs: b.stats.aiMessages }),
          );
        }
      }
      return { up: upDrops, play };
    };
    const rssTimer = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 250);
    // Wrap each call's objects as it comes up; stop looking once all are (listing calls costs the server too).
    const instrumentTimer = setInterval(() => {
      instrument();
      if (instrumented.size >= n) clearInterval(instrumentTimer);
    }, 50);
    const report = await new Promise<LoadReport>((resolve, reject) => {
      load.on('message', (m: LoadReport | WindowMessage) => {
        if (m.type === 'window') {
          // The caller side's measurement window, in wall-clock time: CPU and latencies over the same span.
          windowTimers = [
            setTimeout(() => {
              cpu0 = process.cpuUsage();
              wall0 = performance.now();
              aiCpu0 = childCpuMs(mock.child.pid);
              Object.assign(drops0, totals());
              elDelay.reset();
              elDelay.enable();
              up.on = true;
              down.on = true;
              if (inspector) void post('Profiler.start');
            }, Math.max(0, m.start - Date.now())),
            setTimeout(() => {
              if (cpu0) cpu = process.cpuUsage(cpu0);
              wall = performance.now() - wall0;
              aiCpu = childCpuMs(mock.child.pid) - aiCpu0;
              elDelay.disable();
              up.on = false;
              down.on = false;
              loadAvg = loadavg()[0];
              const t = totals();
              drops0.up = t.up - drops0.up;
              drops0.play = t.play - drops0.play;
              if (inspector && profileDir) {
                void post('Profiler.stop').then((r) => writeFileSync(join(profileDir, `bridge-${n}.cpuprofile`), JSON.stringify((r as { profile: object }).profile)));
              }
            }, Math.max(0, m.end - Date.now())),
          ];
        } else if (m.type === 'report') resolve(m);
      });
      load.once('exit', (code) => (code !== 0 ? reject(new Error(`load generator exited ${code}`)) : undefined));
      load.send({ type: 'setup', sipPort: server.sipPorts.udp ?? 0, calls: n, rtpLoad } satisfies LoadSetup);
    });
    for (const t of windowTimers) clearTimeout(t);
    clearInterval(instrumentTimer);
    clearInterval(rssTimer);
    const lost = report.sent - report.echoed;
    const cpuUs = cpu.user + cpu.system;
    console.log(
      [
        String(n).padStart(5),
        String(report.established).padStart(4),
        ((100 * cpuUs) / 1000 / wall).toFixed(0).padStart(8),
        `${(cpuUs / ((wall / 20) * Math.max(1, report.established))).toFixed(1)} (${(cpu.system / ((wall / 20) * Math.max(1, report.established))).toFixed(1)})`.padStart(18),
        `${(elDelay.percentile(99) / 1e6).toFixed(1)}/${(elDelay.max / 1e6).toFixed(0)}`.padStart(15),
        `${(rss / 1e6).toFixed(0)} (${(baseRss / 1e6).toFixed(0)})`.padStart(13),
        ((100 * report.cpuMs) / report.wallMs).toFixed(0).padStart(11),
        ((100 * aiCpu) / wall).toFixed(0).padStart(7),
        String(report.sent).padStart(6),
        String(lost).padStart(5),
        String(report.late).padStart(4),
        `${report.rttP50.toFixed(1)}/${report.rttP99.toFixed(1)}`.padStart(14),
        `${up.pct(0.5).toFixed(2)}/${up.pct(0.99).toFixed(2)}`.padStart(18),
        `${down.pct(0.5).toFixed(2)}/${down.pct(0.99).toFixed(2)}`.padStart(18),
        `${drops0.up}/${drops0.play}`.padStart(17),
        report.maxSendLagMs.toFixed(0).padStart(10),
        loadAvg.toFixed(1).padStart(8),
      ].join(' | '),
    );
    await new Promise((r) => load.once('exit', r));
    // Let the BYEs and CDR writes of this run settle before the next one.
    for (let i = 0; i < 100 && server.calls.size > 0; i++) await new Promise((r) => setTimeout(r, 100));
    instrumented.clear();
    sessions.clear();
  }
  await server.stop();
  mock.child.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}

if (process.argv.includes('--load')) {
  process.once('message', (m: LoadSetup) => {
    runLoad(m, (r) => process.send?.(r)).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

/**
 * End-to-end AI bridge load: `node --require ./bench/register.js bench/bridge-e2e.ts [100 500 1000]`.
 *
 * Three processes, so the server's figures are its own: this one runs the real server (SIP, RTP, call control, the
 * ai route, PGlite), a child runs the mock AI platform echoing every audio_data back (scripts/mock-ai.ts), and a
 * second child is the caller side: N SIP calls (INVITE/ACK/BYE over UDP) each sending one 20 ms PCMU packet every
 * 20 ms on a drift-free schedule. Each payload carries a packet counter in mu-law codes that survive
 * decode -> PCM16 -> base64 JSON -> echo -> PCM16 -> encode unchanged, so the caller side measures loss and the
 * round trip per packet (RTP out -> server -> AI -> server -> RTP back, including the jitter buffer and the 20 ms
 * playout clock).
 *
 * In the server the bridge's own hooks time the two hops it controls:
 *   uplink   a caller frame handed to the bridge (after the jitter buffer) -> its WebSocket frame written;
 *   downlink an AI audio message arriving -> its audio queued for the next 20 ms RTP tick.
 * Printed per N: server CPU (% of one core) and RSS, caller/AI CPU, packets sent / echoed / lost / late (> 150 ms),
 * RTT p50/p99, uplink and downlink p50/p99. Figures are printed, never asserted: the machine is shared.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config';
import { nullLogger } from '../src/observability';
import { startServer } from '../src/server';

const FRAME = 160;
const BASE = 120; // counter digits: mu-law codes 0..119 survive decode -> encode
const RING = 1024;
const LATE_MS = 150;
const MEASURE_MS = 8000;
const WARMUP_MS = 1500;

// ==== caller side (child process) ===============================================================================

interface LoadSetup {
  type: 'setup';
  sipPort: number;
  calls: number;
}
interface LoadReport {
  type: 'report';
  established: number;
  sent: number;
  echoed: number;
  late: number;
  rttP50: number;
  rttP99: number;
  cpuMs: number;
  maxSendLagMs: number;
}

function check(a: number, b: number, c: number): number {
  return (a * 31 + b * 17 + c * 7 + 11) % BASE;
}

function percentileOf(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function runLoad(setup: LoadSetup, send: (m: LoadReport | { type: 'ready' }) => void): Promise<void> {
  const n = setup.calls;
  const bindUdp = (): Promise<Socket> =>
    new Promise((resolve) => {
      const s = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
      s.bind(0, '127.0.0.1', () => resolve(s));
    });
  const sip = createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
  await new Promise<void>((r) => sip.bind(0, '127.0.0.1', () => r()));
  const sipPort = sip.address().port;
  const rtp: Socket[] = [];
  for (let i = 0; i < n; i++) rtp.push(await bindUdp());
  const remote = new Int32Array(n);
  const toTags: string[] = new Array<string>(n).fill('');
  const pending = new Map<string, number>();
  const sentAt = new Float64Array(n * RING);
  const last = new Int32Array(n).fill(-1);
  const rtts: number[] = [];
  let windowStart = Infinity;
  let windowEnd = Infinity;
  const stats = { sent: 0, echoed: 0, late: 0, maxLag: 0 };
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
  const invite = (i: number): void => {
    const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${rtp[i].address().port} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', 'a=ptime:20', ''].join('\r\n');
    sip.send(`INVITE ${uri} SIP/2.0\r\n${headers('INVITE', i, 1, `<${uri}>`)}\r\nContent-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`, setup.sipPort, '127.0.0.1');
  };
  pending.clear();
  for (let i = 0; i < n; i++) pending.set(callId(i), i);
  sip.on('message', (m: Buffer) => {
    const s = m.toString('latin1');
    const id = /^Call-ID:\s*(\S+)/im.exec(s)?.[1] ?? '';
    const i = pending.get(id);
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
  for (let i = 0; i < n; i++) {
    const idx = i;
    rtp[i].on('message', (msg: Buffer, _r: RemoteInfo) => {
      const now = performance.now();
      if (msg.length < 16 || (msg[1] & 0x7f) !== 0) return;
      if (msg[12] >= BASE || msg[13] >= BASE || msg[14] >= BASE || msg[15] !== check(msg[12], msg[13], msg[14])) return;
      const c = msg[12] * BASE * BASE + msg[13] * BASE + msg[14];
      if (c <= last[idx]) return;
      last[idx] = c;
      const at = sentAt[idx * RING + (c % RING)];
      if (!(at >= windowStart && at < windowEnd)) return;
      const rtt = now - at;
      stats.echoed++;
      if (rtt > LATE_MS) stats.late++;
      rtts.push(rtt);
    });
  }
  // Calls at 250/s (a realistic burst for one instance), INVITE retransmitted once if unanswered.
  for (let i = 0; i < n; i++) {
    invite(i);
    if (i % 25 === 24) await new Promise((r) => setTimeout(r, 100));
  }
  const setupDeadline = Date.now() + 10_000;
  while (established < n && Date.now() < setupDeadline) {
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < n; i++) if (toTags[i] === '') invite(i);
  }
  // Let every AI connection open first: caller audio that waits for a socket reaches the echoing AI in one burst,
  // and the burst would stay in the playout queue as standing delay (an artefact of echoing, not of a real agent).
  await new Promise((r) => setTimeout(r, 1000));
  // Media: one packet per call per 20 ms, all calls spread over the 20 ms period.
  const header = Buffer.alloc(12);
  const pkts = Array.from({ length: n }, () => Buffer.alloc(12 + FRAME, 0xff));
  const seqs = new Uint16Array(n);
  const ssrc = Array.from({ length: n }, (_v, i) => 0x10000 + i);
  let counter = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  windowStart = t0 + WARMUP_MS;
  windowEnd = windowStart + MEASURE_MS;
  let tick = 0;
  await new Promise<void>((resolveMedia) => {
    const step = (): void => {
      const now = performance.now();
      const lag = now - (t0 + tick * 20);
      if (lag > stats.maxLag && now > windowStart) stats.maxLag = lag;
      const c = counter++;
      const d0 = Math.floor(c / (BASE * BASE)) % BASE;
      const d1 = Math.floor(c / BASE) % BASE;
      const d2 = c % BASE;
      for (let i = 0; i < n; i++) {
        if (remote[i] === 0) continue;
        const p = pkts[i];
        header[0] = 0x80;
        header[1] = 0;
        header.writeUInt16BE(seqs[i]++, 2);
        header.writeUInt32BE((c * FRAME) >>> 0, 4);
        header.writeUInt32BE(ssrc[i], 8);
        header.copy(p, 0);
        p[12] = d0;
        p[13] = d1;
        p[14] = d2;
        p[15] = check(d0, d1, d2);
        const at = performance.now();
        sentAt[i * RING + (c % RING)] = at;
        rtp[i].send(p, remote[i], '127.0.0.1');
        if (at >= windowStart && at < windowEnd) stats.sent++;
      }
      tick++;
      if (now > windowEnd + 500) {
        resolveMedia();
        return;
      }
      setTimeout(step, Math.max(0, t0 + tick * 20 - performance.now()));
    };
    step();
  });
  const cpu = process.cpuUsage(cpu0);
  for (let i = 0; i < n; i++) if (toTags[i] !== '') sip.send(`BYE ${uri} SIP/2.0\r\n${headers('BYE', i, 2, toTags[i])}\r\nContent-Length: 0\r\n\r\n`, setup.sipPort, '127.0.0.1');
  const byeDeadline = Date.now() + 3000;
  while (byes < established && Date.now() < byeDeadline) await new Promise((r) => setTimeout(r, 50));
  rtts.sort((a, b) => a - b);
  send({
    type: 'report',
    established,
    sent: stats.sent,
    echoed: stats.echoed,
    late: stats.late,
    rttP50: percentileOf(rtts, 0.5),
    rttP99: percentileOf(rtts, 0.99),
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxSendLagMs: stats.maxLag,
  });
  sip.close();
  for (const s of rtp) s.close();
}

// ==== server side (main process) ================================================================================

class Samples {
  private buf = new Float64Array(1 << 20);
  private n = 0;
  add(ms: number): void {
    if (this.n < this.buf.length) this.buf[this.n++] = ms;
  }
  reset(): void {
    this.n = 0;
  }
  pct(p: number): number {
    const s = this.buf.slice(0, this.n).sort();
    return percentileOf(s, p);
  }
}

async function startMockAi(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--require', join(__dirname, 'register.js'), join(__dirname, '../scripts/mock-ai.ts'), '--port', '0', '--host', '127.0.0.1', '--hangup-digit', 'X', '--clear-digit', 'X', '--transfer-digit', 'X'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((v) => v > 0);
  const runs = sizes.length > 0 ? sizes : [100, 500, 1000];
  const mock = await startMockAi();
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-bridge-e2e-'));
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
    RTP_PORT_MIN: '30000',
    RTP_PORT_MAX: '36000',
    DEFAULT_ROUTE: 'ai',
    // Callers here are no trunk: accept calls from any source.
    OPEN_INBOUND: 'true',
    AI_PLATFORM_URL: mock.url,
    AI_MAX_SESSIONS: '0',
    SIP_FLOOD_MAX_REQUESTS: '0',
    LOG_LEVEL: 'silent',
  });
  const server = await startServer(config, { logger: nullLogger });
  const up = new Samples();
  const down = new Samples();
  let uplinkDropped = 0;
  // The bridge's optional latency hooks, added to the metrics object its sessions hold.
  Object.assign(server.metrics.bridge, {
    uplinkLatency: (s: number) => up.add(s * 1000),
    downlinkLatency: (s: number) => down.add(s * 1000),
    uplinkFramesDropped: (count: number) => (uplinkDropped += count),
  });
  // AI audio queued -> its RTP packet sent, per call: the AI's echo is the only audio these calls play, so each
  // enqueued 20 ms (FIFO) leaves in the packet that drains it from the queue.
  const playout = new Samples();
  const patched = new WeakSet<object>();
  const instrument = (): void => {
    for (const info of server.calls.list()) {
      const media = server.calls.call(info.callId)?.a.media;
      if (!media || patched.has(media)) continue;
      patched.add(media);
      const queuedAt: number[] = [];
      let enqueued = 0;
      let drained = 0;
      const enqueue = media.enqueuePcm.bind(media);
      media.enqueuePcm = (pcm: Int16Array): boolean => {
        const ok = enqueue(pcm);
        if (ok) {
          enqueued += pcm.length;
          for (let k = 0; k < pcm.length; k += FRAME) queuedAt.push(performance.now());
        }
        return ok;
      };
      const endpoint = media.endpoint;
      const sendFrame = endpoint.sendFrame.bind(endpoint);
      endpoint.sendFrame = ((...args: Parameters<typeof endpoint.sendFrame>) => {
        const sent = sendFrame(...args);
        const frames = Math.floor((enqueued - media.queuedSamples) / FRAME) - drained;
        for (let k = 0; k < frames && queuedAt.length > 0; k++) playout.add(performance.now() - (queuedAt.shift() as number));
        if (frames > 0) drained += frames;
        return sent;
      }) as typeof endpoint.sendFrame;
    }
  };
  const baseRss = process.memoryUsage().rss;
  console.log(`bridge e2e: server pid ${process.pid}, mock AI ${mock.url}; ${MEASURE_MS / 1000} s measured per run after ${WARMUP_MS / 1000} s warm-up`);
  console.log('calls | est. | srv CPU% | RSS MB (idle) | caller CPU% | AI CPU% | sent | lost | late | RTT p50/p99 ms | uplink p50/p99 ms | AI->RTP p50/p99 ms (queued p50/p99) | up drops | gen lag ms');
  for (const n of runs) {
    const load = fork(__filename, ['--load'], { execArgv: ['--require', join(__dirname, 'register.js')], stdio: 'inherit' });
    const aiCpu0 = childCpuMs(mock.child.pid);
    up.reset();
    down.reset();
    uplinkDropped = 0;
    let cpu0: NodeJS.CpuUsage | undefined;
    let wall0 = 0;
    let rss = 0;
    const rssTimer = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 500);
    // Server CPU over the measurement window only: started once calls are up (server.calls.size reaches n).
    const cpuWatch = setInterval(() => {
      instrument();
      if (cpu0 === undefined && server.calls.size >= n) {
        cpu0 = process.cpuUsage();
        wall0 = performance.now();
        up.reset();
        down.reset();
        playout.reset();
      }
    }, 50);
    const report = await new Promise<LoadReport>((resolve, reject) => {
      load.on('message', (m: LoadReport) => {
        if (m.type === 'report') {
          resolve(m);
        }
      });
      load.once('exit', (code) => (code !== 0 ? reject(new Error(`load generator exited ${code}`)) : undefined));
      load.send({ type: 'setup', sipPort: server.sipPorts.udp ?? 0, calls: n } satisfies LoadSetup);
    });
    clearInterval(cpuWatch);
    clearInterval(rssTimer);
    const cpu = cpu0 ? process.cpuUsage(cpu0) : { user: 0, system: 0 };
    const wall = wall0 > 0 ? performance.now() - wall0 : 1;
    const aiCpu = childCpuMs(mock.child.pid) - aiCpu0;
    const lost = report.sent - report.echoed;
    const measured = MEASURE_MS + WARMUP_MS + 500;
    console.log(
      [
        String(n).padStart(5),
        String(report.established).padStart(4),
        ((100 * (cpu.user + cpu.system)) / 1000 / wall).toFixed(0).padStart(8),
        `${(rss / 1e6).toFixed(0)} (${(baseRss / 1e6).toFixed(0)})`.padStart(13),
        ((100 * report.cpuMs) / measured).toFixed(0).padStart(11),
        ((100 * aiCpu) / measured).toFixed(0).padStart(7),
        String(report.sent).padStart(6),
        String(lost).padStart(5),
        String(report.late).padStart(4),
        `${report.rttP50.toFixed(1)}/${report.rttP99.toFixed(1)}`.padStart(14),
        `${up.pct(0.5).toFixed(3)}/${up.pct(0.99).toFixed(3)}`.padStart(17),
        `${playout.pct(0.5).toFixed(1)}/${playout.pct(0.99).toFixed(1)} (${down.pct(0.5).toFixed(3)}/${down.pct(0.99).toFixed(3)})`.padStart(35),
        String(uplinkDropped).padStart(8),
        report.maxSendLagMs.toFixed(0).padStart(10),
      ].join(' | '),
    );
    await new Promise((r) => load.once('exit', r));
    // Let the BYEs and CDR writes of this run settle before the next one.
    for (let i = 0; i < 100 && server.calls.size > 0; i++) await new Promise((r) => setTimeout(r, 100));
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

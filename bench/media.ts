/**
 * Media engine under load: `node --require ./bench/register.js bench/media.ts [N...]`.
 *
 * For each N (default 100, 500, 1000, 2000) this process opens N media sessions (real RTP endpoints on loopback, one
 * shared 20 ms media clock, jitter buffer, RFC 4733 + in-band DTMF detection, echo through a self-bridge: decode ->
 * detect -> re-encode -> send) and a child process (bench/media-load.ts) sends each one a 20 ms PCMU packet every
 * 20 ms and times the echoes. Per N it reports:
 *   - CPU of this (server) process as % of one core, over the measurement window;
 *   - packets lost (no echo) and late (echo after 150 ms), of those sent in the window;
 *   - p50 / p99 / max round trip (generator -> server -> generator; includes the jitter buffer's 2-frame depth);
 *   - event-loop delay p99 of the server (how late the media tick runs), ticks skipped;
 *   - server CPU time per received packet (all of its work: receive, jitter buffer, decode, DTMF detection, encode,
 *     send, RTCP, timers, GC, divided by the packets it received; it falls as N grows, because each wake-up of the
 *     event loop then finds more datagrams), and its user-space part;
 *   - per-frame processing time of one session, sampled on ~100 sessions: its receive phase of tick n (jitter buffer,
 *     decode, DTMF detection, hand-over to the bridge) plus its send phase of tick n + 1 (encode, RTP send), i.e. the
 *     work between the packet leaving the jitter buffer and its echo leaving the socket, without the scheduled wait
 *     for the next tick;
 *   - duration of the whole media tick (all N sessions): the most a session can be delayed behind the others;
 *   - memory per stream: RSS delta / N and heap delta / N.
 * And once: the Goertzel DTMF detector's cost per 20 ms frame (speech, tone, silence); `--no-goertzel` skips it (for
 * CPU profiles of the server side: `node --cpu-prof ... bench/media.ts --no-goertzel 1000`).
 *
 * `--cpu` measures instead, per N, the server's CPU time per packet in lock-step: the media clock is virtual, and each
 * round the generator sends one packet to every session at once, the server receives them all, then the clock moves
 * 20 ms (one tick: every session decodes, detects, re-encodes and sends its echo). The figure is CPU time of the
 * server process over a fixed packet count (process.cpuUsage), with the batching of work fixed by the lock step (the
 * server sleeps while the generator sends, then reads the datagrams in a batch, as a busy server does), so other load
 * on a shared machine moves it far less (about +-10 %) than the real-time run's loss and latency. `--rounds=R` sets
 * the measured rounds (default 500), e.g. to take instruction counts under valgrind from two round counts.
 * `--ports=P` moves the sessions' RTP ports to P.. (default 20000), so that two runs can go side by side.
 * Every run is bounded (2 s warm-up + 8 s measured per N, or 100 + R rounds with --cpu); loopback only. Figures are
 * printed, not asserted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { GoertzelDtmfDetector, dbm0ToPeak } from '../src/dsp';
import { MediaEngine, type MediaSession, type MediaTickTarget } from '../src/media';
import { RtpPortPool } from '../src/rtp';
import type { Clock, TimerHandle } from '../src/util';
import type { LoadReport } from './media-load';

const WARMUP_MS = 2000;
const MEASURE_MS = 8000;
const PER_SOCKET = 50;
const args = process.argv.slice(2);
const sizes = args.filter((a) => !a.startsWith('--')).map(Number).filter((n) => n > 0);
// The brief of this bench is the worst case: the in-band detector on every call (--inband=auto: only without telephone-event).
const INBAND = args.includes('--inband=auto') ? 'auto' : 'always';
const RUNS = sizes.length > 0 ? sizes : [100, 500, 1000, 2000];
const GOERTZEL = !args.includes('--no-goertzel');
const CPU_MODE = args.includes('--cpu');
const CPU_WARMUP_ROUNDS = 100;
const roundsArg = args.find((a) => a.startsWith('--rounds='));
const CPU_ROUNDS = roundsArg ? Math.max(1, Number(roundsArg.slice('--rounds='.length)) || 500) : 500;
const portsArg = args.find((a) => a.startsWith('--ports='));
/** First RTP port of the sessions' pool (`--ports=P`, default 20000): runs side by side need disjoint ranges. */
const PORT_BASE = portsArg ? Number(portsArg.slice('--ports='.length)) || 20000 : 20000;
/** Sessions whose per-frame processing time is sampled. */
const SAMPLED = 100;

const gc = (globalThis as { gc?: () => void }).gc;

function goertzelCost(): { speech: number; tone: number; silence: number } {
  const frames = 20000;
  const make = (fn: (i: number) => number): Int16Array => {
    const out = new Int16Array(160 * 50);
    for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(fn(i))));
    return out;
  };
  let seed = 7;
  const noise = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 16) / 65536 - 0.5;
  };
  const speech = make((i) => {
    const t = i / 8000;
    const f0 = 120 + 15 * Math.sin(2 * Math.PI * 3 * t);
    let v = 0;
    for (let h = 1; h <= 12; h++) v += Math.sin(2 * Math.PI * f0 * h * t) / h;
    return dbm0ToPeak(-20) * 0.5 * v + noise() * 300;
  });
  const tone = make((i) => dbm0ToPeak(-10) * (Math.sin((2 * Math.PI * 770 * i) / 8000) + Math.sin((2 * Math.PI * 1336 * i) / 8000)));
  const silence = make(() => noise() * 20);
  const time = (pcm: Int16Array): number => {
    const det = new GoertzelDtmfDetector({ onDigit: () => undefined });
    for (let i = 0; i < 2000; i++) det.process(pcm.subarray((i % 50) * 160, (i % 50) * 160 + 160));
    const c0 = process.cpuUsage();
    for (let i = 0; i < frames; i++) det.process(pcm.subarray((i % 50) * 160, (i % 50) * 160 + 160));
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / frames;
  };
  return { speech: time(speech), tone: time(tone), silence: time(silence) };
}

function waitFor<T extends { type: string }>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: T): void => {
      if (m.type !== type) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
  });
}

/** Histogram of durations in `binUs` bins (allocation-free recording on the hot path). */
class Histogram {
  private readonly bins: Uint32Array;
  count = 0;
  constructor(
    private readonly binUs: number,
    size: number,
  ) {
    this.bins = new Uint32Array(size + 1);
  }
  recordMs(ms: number): void {
    this.bins[Math.min(this.bins.length - 1, Math.floor((ms * 1000) / this.binUs))]++;
    this.count++;
  }
  /** Upper edge of the bin holding the p-quantile, in microseconds. */
  percentileUs(p: number): number {
    let acc = 0;
    for (let i = 0; i < this.bins.length; i++) {
      acc += this.bins[i];
      if (acc >= this.count * p) return (i + 1) * this.binUs;
    }
    return this.bins.length * this.binUs;
  }
}

/**
 * Times the receive phase of tick n plus the send phase of tick n + 1 of one session (the frame received in tick n
 * is echoed in tick n + 1). Wraps the session's tick methods; the ticker calls them through the instance.
 */
function sampleSession(s: MediaSession, hist: Histogram, active: () => boolean): void {
  const rx = s.onReceiveTick.bind(s);
  const tx = s.onSendTick.bind(s);
  let rxMs = -1;
  s.onSendTick = (...tick: Parameters<MediaSession['onSendTick']>): void => {
    const t0 = performance.now();
    tx(...tick);
    const t1 = performance.now();
    if (rxMs >= 0 && active()) hist.recordMs(rxMs + (t1 - t0));
  };
  s.onReceiveTick = (...tick: Parameters<MediaSession['onReceiveTick']>): void => {
    const t0 = performance.now();
    rx(...tick);
    rxMs = performance.now() - t0;
  };
}

interface LockstepTimer extends TimerHandle {
  at: number;
  fn: () => void;
  cancelled: boolean;
}

/** A virtual clock for the lock-step run: time moves only in advance(); timers in a binary heap (thousands pending). */
class LockstepClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly heap: LockstepTimer[] = [];

  now(): number {
    return this.t;
  }
  wallNow(): number {
    return 1_700_000_000_000 + this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: LockstepTimer = { id: ++this.seq, at: this.t + Math.max(0, ms), fn, cancelled: false };
    const h = this.heap;
    h.push(timer);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
    return timer;
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) (handle as LockstepTimer).cancelled = true;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    const h = this.heap;
    while (h.length > 0 && h[0].at <= end) {
      const top = h[0];
      const last = h.pop() as LockstepTimer;
      if (h.length > 0) {
        h[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < h.length && this.before(h[l], h[m])) m = l;
          if (r < h.length && this.before(h[r], h[m])) m = r;
          if (m === i) break;
          [h[i], h[m]] = [h[m], h[i]];
          i = m;
        }
      }
      if (top.cancelled) continue;
      this.t = top.at;
      top.fn();
    }
    this.t = end;
  }
  private before(a: LockstepTimer, b: LockstepTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.id < b.id);
  }
}

/** Server CPU time per packet in lock-step (see the header): N sessions echoing, one round = one packet each. */
async function cpuPerPacket(n: number, pool: RtpPortPool): Promise<{ user: number; system: number; concealed: number; echoed: number }> {
  gc?.();
  const clock = new LockstepClock();
  const engine = new MediaEngine({ pool, clock, mediaTimeoutMs: 0, session: { inbandDtmf: INBAND } });
  const sessions: MediaSession[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => engine.open()));
    sessions.push(...batch);
  }
  const child = fork(join(__dirname, 'media-load.ts'), [], { execArgv: ['--require', join(__dirname, 'register.js')] });
  try {
    const ready = waitFor<{ type: 'ready'; ports: number[] }>(child, 'ready');
    child.send({ type: 'setup', targets: sessions.map((s) => s.rtpPort), perSocket: PER_SOCKET });
    const { ports } = await ready;
    let received = 0;
    const count = (): void => {
      received++;
    };
    sessions.forEach((s, i) => {
      s.setRemote({ remoteAddress: '127.0.0.1', remotePort: ports[i], payloadType: 0, codecs: [{ payloadType: 0, codec: 'PCMU' }], telephoneEventPt: 101, direction: 'sendrecv' });
      s.connect(s); // echo
      s.endpoint.on('rtp', count);
    });
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const napMs = Math.max(2, n * 0.012);
    const round = async (r: number): Promise<void> => {
      const sent = waitFor(child, 'sent');
      child.send({ type: 'round' });
      // Sleep (no CPU) while the generator sends, so the datagrams wait in the socket buffers and are read in a batch,
      // as a busy server reads them; without it every datagram would wake the event loop on its own.
      Atomics.wait(nap, 0, 0, napMs);
      await sent;
      for (let spins = 0; received < (r + 1) * n; spins++) {
        if (spins > 100_000) throw new Error(`round ${r}: only ${received - r * n} of ${n} packets arrived`);
        await new Promise((res) => setImmediate(res));
      }
      clock.advance(20);
    };
    let r = 0;
    for (; r < CPU_WARMUP_ROUNDS; r++) await round(r);
    const sent0 = sessions.reduce((a, s) => a + s.stats().framesSent, 0);
    const cpu0 = process.cpuUsage();
    for (; r < CPU_WARMUP_ROUNDS + CPU_ROUNDS; r++) await round(r);
    const cpu = process.cpuUsage(cpu0);
    const echoed = sessions.reduce((a, s) => a + s.stats().framesSent, 0) - sent0;
    const concealed = sessions.reduce((a, s) => a + s.stats().framesConcealed, 0);
    return { user: cpu.user / (CPU_ROUNDS * n), system: cpu.system / (CPU_ROUNDS * n), concealed, echoed };
  } finally {
    if (child.connected) child.kill();
    await engine.close();
  }
}

interface Row {
  n: number;
  cpu: number;
  lost: number;
  late: number;
  sent: number;
  p50: number;
  p99: number;
  max: number;
  loopP99: number;
  skipped: number;
  concealed: number;
  depth: number;
  rssPerStream: number;
  heapPerStream: number;
  genLag: number;
  cpuPerPacketUs: number;
  userPerPacketUs: number;
  procP50: number;
  procP99: number;
  tickP50: number;
  tickP99: number;
}

async function runOnce(n: number, pool: RtpPortPool): Promise<Row> {
  gc?.();
  const rss0 = process.memoryUsage().rss;
  const heap0 = process.memoryUsage().heapUsed;
  const engine = new MediaEngine({ pool, mediaTimeoutMs: 0, session: { inbandDtmf: INBAND } });
  let measuring = false;
  const active = (): boolean => measuring;
  // Two markers around the sessions in the ticker's order time the whole tick (targets run in registration order).
  const tickHist = new Histogram(100, 100_000);
  let tickStart = 0;
  const first: MediaTickTarget = {
    onSendTick: () => {
      tickStart = performance.now();
    },
    onReceiveTick: () => undefined,
  };
  const last: MediaTickTarget = {
    onSendTick: () => undefined,
    onReceiveTick: () => {
      if (measuring) tickHist.recordMs(performance.now() - tickStart);
    },
  };
  engine.ticker.add(first);
  const sessions: MediaSession[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => engine.open()));
    sessions.push(...batch);
  }
  engine.ticker.add(last);
  const procHist = new Histogram(1, 100_000);
  const every = Math.max(1, Math.floor(n / SAMPLED));
  for (let i = 0; i < n; i += every) sampleSession(sessions[i], procHist, active);
  const packetsReceived = (): number => sessions.reduce((acc, s) => acc + s.endpoint.stats().packetsReceived, 0);
  const child = fork(join(__dirname, 'media-load.ts'), [], { execArgv: ['--require', join(__dirname, 'register.js')] });
  try {
    const ready = waitFor<{ type: 'ready'; ports: number[] }>(child, 'ready');
    child.send({ type: 'setup', targets: sessions.map((s) => s.rtpPort), perSocket: PER_SOCKET });
    const { ports } = await ready;
    sessions.forEach((s, i) => {
      s.setRemote({ remoteAddress: '127.0.0.1', remotePort: ports[i], payloadType: 0, codecs: [{ payloadType: 0, codec: 'PCMU' }], telephoneEventPt: 101, direction: 'sendrecv' });
      s.connect(s); // echo
    });
    const report = waitFor<LoadReport>(child, 'report');
    child.send({ type: 'start', warmupMs: WARMUP_MS, measureMs: MEASURE_MS });
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const skipped0 = engine.ticker.skippedTicks;
    const rx0 = packetsReceived();
    measuring = true;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, MEASURE_MS));
    const cpu = process.cpuUsage(cpu0);
    const elapsed = performance.now() - t0;
    measuring = false;
    const rxPackets = packetsReceived() - rx0;
    loop.disable();
    const mem = process.memoryUsage();
    const r = await report;
    let concealed = 0;
    let depth = 0;
    for (const s of sessions) {
      const st = s.stats();
      concealed += st.framesConcealed;
      depth += st.jitterDepth;
    }
    return {
      n,
      cpu: ((cpu.user + cpu.system) / 1000 / elapsed) * 100,
      lost: Math.max(0, r.sent - r.echoed),
      late: r.late,
      sent: r.sent,
      p50: r.rttP50,
      p99: r.rttP99,
      max: r.rttMax,
      loopP99: loop.percentile(99) / 1e6,
      skipped: engine.ticker.skippedTicks - skipped0,
      concealed,
      depth: depth / n,
      rssPerStream: (mem.rss - rss0) / n / 1024,
      heapPerStream: (mem.heapUsed - heap0) / n / 1024,
      genLag: r.maxSendLagMs,
      cpuPerPacketUs: rxPackets > 0 ? (cpu.user + cpu.system) / rxPackets : 0,
      userPerPacketUs: rxPackets > 0 ? cpu.user / rxPackets : 0,
      procP50: procHist.percentileUs(0.5),
      procP99: procHist.percentileUs(0.99),
      tickP50: tickHist.percentileUs(0.5) / 1000,
      tickP99: tickHist.percentileUs(0.99) / 1000,
    };
  } finally {
    if (child.connected) child.kill();
    engine.ticker.remove(first);
    engine.ticker.remove(last);
    await engine.close();
  }
}

async function main(): Promise<void> {
  console.log(`in-band DTMF detection: ${INBAND}`);
  if (GOERTZEL) {
    const g = goertzelCost();
    console.log(`Goertzel DTMF detector, CPU time per 20 ms frame: speech ${g.speech.toFixed(2)} us, DTMF tone ${g.tone.toFixed(2)} us, near-silence ${g.silence.toFixed(2)} us`);
  }
  const max = Math.max(...RUNS);
  const pool = new RtpPortPool({ min: PORT_BASE, max: PORT_BASE + max * 2 + 200, host: '127.0.0.1' });
  if (CPU_MODE) {
    console.log(`lock-step: ${CPU_WARMUP_ROUNDS} warm-up + ${CPU_ROUNDS} measured rounds of one packet per session`);
    console.log('| N | server CPU us / packet (receive -> echo sent): user + system = total | echoes sent | concealed frames |');
    console.log('|---|---|---|---|');
    for (const n of RUNS) {
      const c = await cpuPerPacket(n, pool);
      console.log(`| ${n} | ${c.user.toFixed(2)} + ${c.system.toFixed(2)} = ${(c.user + c.system).toFixed(2)} | ${c.echoed} | ${c.concealed} |`);
      await new Promise((res) => setTimeout(res, 500));
    }
    return;
  }
  const rows: Row[] = [];
  for (const n of RUNS) {
    const row = await runOnce(n, pool);
    rows.push(row);
    console.log(`N=${n} done`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const head =
    '| N | server CPU (% of 1 core) | server CPU us / packet (user part) | sent | lost | late (>150 ms) | frame processing p50 / p99 us | tick p50 / p99 ms | RTT p50 ms | RTT p99 ms | RTT max ms | loop delay p99 ms | ticks skipped | concealed frames | mean JB depth (frames) | RSS / stream KB | heap / stream KB | generator lag max ms |';
  console.log();
  console.log(head);
  console.log(`|${head.split('|').slice(1, -1).map(() => '---').join('|')}|`);
  for (const r of rows) {
    console.log(
      `| ${r.n} | ${r.cpu.toFixed(0)} | ${r.cpuPerPacketUs.toFixed(1)} (${r.userPerPacketUs.toFixed(1)}) | ${r.sent} | ${r.lost} | ${r.late} | ${r.procP50} / ${r.procP99} | ${r.tickP50.toFixed(1)} / ${r.tickP99.toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.loopP99.toFixed(1)} | ${r.skipped} | ${r.concealed} | ${r.depth.toFixed(1)} | ${r.rssPerStream.toFixed(1)} | ${r.heapPerStream.toFixed(1)} | ${r.genLag.toFixed(1)} |`,
    );
  }
  console.log(`\n${gc ? '' : '(run with --expose-gc for steadier memory figures) '}RTT = generator send -> server (jitter buffer depth 2 frames, one media tick) -> generator receive.`);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

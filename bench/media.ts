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
 *   - memory per stream: RSS delta / N and heap delta / N.
 * And once: the Goertzel DTMF detector's cost per 20 ms frame (speech, tone, silence).
 * Every run is bounded (2 s warm-up + 8 s measured per N); loopback only. Figures are printed, not asserted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { GoertzelDtmfDetector, dbm0ToPeak } from '../src/dsp';
import { MediaEngine, type MediaSession } from '../src/media';
import { RtpPortPool } from '../src/rtp';
import type { LoadReport } from './media-load';

const WARMUP_MS = 2000;
const MEASURE_MS = 8000;
const PER_SOCKET = 50;
const args = process.argv.slice(2);
const sizes = args.map(Number).filter((n) => n > 0);
// The brief of this bench is the worst case: the in-band detector on every call (--inband=auto: only without telephone-event).
const INBAND = args.includes('--inband=auto') ? 'auto' : 'always';
const RUNS = sizes.length > 0 ? sizes : [100, 500, 1000, 2000];

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
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < frames; i++) det.process(pcm.subarray((i % 50) * 160, (i % 50) * 160 + 160));
    return Number(process.hrtime.bigint() - t0) / 1000 / frames;
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
}

async function runOnce(n: number, pool: RtpPortPool): Promise<Row> {
  gc?.();
  const rss0 = process.memoryUsage().rss;
  const heap0 = process.memoryUsage().heapUsed;
  const engine = new MediaEngine({ pool, mediaTimeoutMs: 0, session: { inbandDtmf: INBAND } });
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
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, MEASURE_MS));
    const cpu = process.cpuUsage(cpu0);
    const elapsed = performance.now() - t0;
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
    };
  } finally {
    if (child.connected) child.kill();
    await engine.close();
  }
}

async function main(): Promise<void> {
  const g = goertzelCost();
  console.log(`in-band DTMF detection: ${INBAND}`);
  console.log(`Goertzel DTMF detector per 20 ms frame: speech ${g.speech.toFixed(2)} us, DTMF tone ${g.tone.toFixed(2)} us, near-silence ${g.silence.toFixed(2)} us`);
  const max = Math.max(...RUNS);
  const pool = new RtpPortPool({ min: 20000, max: 20000 + max * 2 + 200, host: '127.0.0.1' });
  const rows: Row[] = [];
  for (const n of RUNS) {
    const row = await runOnce(n, pool);
    rows.push(row);
    console.log(`N=${n} done`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const head = '| N | server CPU (% of 1 core) | sent | lost | late (>150 ms) | RTT p50 ms | RTT p99 ms | RTT max ms | loop delay p99 ms | ticks skipped | concealed frames | mean JB depth (frames) | RSS / stream KB | heap / stream KB | generator lag max ms |';
  console.log();
  console.log(head);
  console.log(`|${head.split('|').slice(1, -1).map(() => '---').join('|')}|`);
  for (const r of rows) {
    console.log(
      `| ${r.n} | ${r.cpu.toFixed(0)} | ${r.sent} | ${r.lost} | ${r.late} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.loopP99.toFixed(1)} | ${r.skipped} | ${r.concealed} | ${r.depth.toFixed(1)} | ${r.rssPerStream.toFixed(1)} | ${r.heapPerStream.toFixed(1)} | ${r.genLag.toFixed(1)} |`,
    );
  }
  console.log(`\n${gc ? '' : '(run with --expose-gc for steadier memory figures) '}RTT = generator send -> server (jitter buffer depth 2 frames, one media tick) -> generator receive.`);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

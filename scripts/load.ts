// Load test for any SIP server (ours or a deployment): SIPp places calls with RTP (speech, 20 ms PCMA packets
// from each call's own media port, SIPp's rtp_stream, for the whole call) and the tool prints calls ok/failed, INVITE->200 setup p50/p99 and, when the
// server's /metrics is reachable, the RTP loss it measured. The seed's `load_test.py --calls=100 --duration=300`.
//
//   npm run load -- --target 127.0.0.1:5060 --calls 100 --rate 10 --duration 30 [--route echo|ai] [--number 1000]
//                   [--metrics http://127.0.0.1:8000/metrics] [--metrics-token T] [--transport u1|un|t1] [--json]
//
// --route picks the dialled user part (`echo` or `ai`) unless --number is given: point those numbers (numbers table)
// or DEFAULT_ROUTE at the route you want to load. Needs `sipp` 3.6+ (apt-get install sip-tester; rtp_stream).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadWavAs8kMono, PCMA } from '../src/dsp';

interface Options {
  target: string;
  calls: number;
  rate: number;
  durationS: number;
  number: string;
  metrics: string | undefined;
  metricsToken: string | undefined;
  transport: string;
  json: boolean;
  localIp: string;
  /** Keep SIPp's scenario, statistics and error log (its -trace_err file) instead of deleting them. */
  keep: boolean;
}

/** 15 s of speech, 8 kHz mono: streamed in a loop for the whole call. */
const SPEECH = resolve(__dirname, '../test/fixtures/audio/speech-8k-mono.wav');

function usage(msg?: string): never {
  if (msg) process.stderr.write(`${msg}\n`);
  process.stderr.write('usage: npm run load -- --target host:port --calls N --rate R --duration S [--route echo|ai] [--number N] [--metrics URL] [--json] [--keep]\n');
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, dflt: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) usage(`--${name} must be a number in ${min}..${max}`);
    return n;
  };
  const target = get('target') ?? usage('--target is required');
  if (!/^[A-Za-z0-9.[\]:-]+:[0-9]{1,5}$/.test(target)) usage('--target must be host:port');
  const route = get('route') ?? 'echo';
  if (route !== 'echo' && route !== 'ai') usage('--route must be echo or ai');
  return {
    target,
    calls: num('calls', 100, 1, 1_000_000),
    rate: num('rate', 10, 0.1, 100_000),
    durationS: num('duration', 30, 1, 86_400),
    number: get('number') ?? route,
    metrics: get('metrics'),
    metricsToken: get('metrics-token'),
    transport: get('transport') ?? 'u1',
    json: argv.includes('--json'),
    localIp: get('local-ip') ?? '127.0.0.1',
    keep: argv.includes('--keep'),
  };
}

/**
 * The caller's audio for SIPp's `rtp_stream`: the speech fixture as raw A-law (no header; SIPp streams it in 160-byte,
 * 20 ms packets from the call's own media port, looping). SIPp's older `play_pcap_audio` opens one raw socket per
 * playing call, and the kernel then copies every datagram on the host to every raw socket (a cost that grows with the
 * square of the concurrent calls and lands on the server's sends too), so it is not used.
 */
function writeAlaw(dst: string): void {
  writeFileSync(dst, PCMA.encode(loadWavAs8kMono(readFileSync(SPEECH))));
}

/** The scenario: INVITE (PCMA + telephone-event), ACK, RTP for the call's duration, BYE. */
function scenarioXml(durationMs: number, dir: string): string {
  const audio = join(dir, 'speech.al');
  writeAlaw(audio);
  // rtp_stream="file,loops,payload type": -1 loops until paused; the stream stops before the BYE.
  const plays = [
    `  <nop><action><exec rtp_stream="${audio},-1,8"/></action></nop>`,
    `  <pause milliseconds="${durationMs}"/>`,
    '  <nop><action><exec rtp_stream="pause"/></action></nop>',
  ];
  const dialog = (method: string, seq: number): string => `      ${method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: load <sip:load@[local_ip]:[local_port]>;tag=[pid]L[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: ${seq} ${method}
      Max-Forwards: 70
      Content-Length: 0
`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="load: call with RTP">
  <send retrans="500" start_rtd="setup">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: load <sip:load@[local_ip]:[local_port]>;tag=[pid]L[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:load@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=load 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [auto_media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=ptime:20

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="setup"/>
  <send>
    <![CDATA[
${dialog('ACK', 1)}
    ]]>
  </send>
${plays.join('\n')}
  <send retrans="500">
    <![CDATA[
${dialog('BYE', 2)}
    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
`;
}

interface RtpCounters {
  received: number;
  lost: number;
}

async function readRtp(opts: Options): Promise<RtpCounters | undefined> {
  if (!opts.metrics) return undefined;
  try {
    const res = await fetch(opts.metrics, { headers: opts.metricsToken ? { Authorization: `Bearer ${opts.metricsToken}` } : {} });
    if (!res.ok) return undefined;
    const text = await res.text();
    const value = (re: RegExp): number => {
      let sum = 0;
      for (const line of text.split('\n')) if (re.test(line)) sum += Number(line.trim().split(/\s+/).pop());
      return sum;
    };
    return { received: value(/^\w*rtp_packets_total\{direction="in"\}/), lost: value(/^\w*rtp_packets_lost_total(\{.*\})? /) };
  } catch {
    return undefined;
  }
}

function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'sip-load-'));
  const scenario = join(dir, 'load.xml');
  writeFileSync(scenario, scenarioXml(opts.durationS * 1000, dir));
  const limit = Math.ceil(opts.rate * opts.durationS * 1.5) + 100;
  const args = [
    '-sf', scenario, opts.target, '-s', opts.number, '-i', opts.localIp, '-t', opts.transport,
    '-m', String(opts.calls), '-r', String(opts.rate), '-l', String(limit),
    '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1',
    '-trace_rtt', '-rtt_freq', '1', '-trace_err', '-error_file', join(dir, 'errors.log'),
    '-timeout', `${Math.ceil(opts.calls / opts.rate + opts.durationS + 60)}s`, '-timeout_error',
    '-nostdin', '-buff_size', '8388608', '-max_socket', '65000',
  ];
  const before = await readRtp(opts);
  const started = Date.now();
  const code = await new Promise<number | null>((res) => {
    const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', () => undefined);
    child.on('error', (err) => {
      process.stderr.write(`cannot run sipp: ${err.message}\n`);
      res(null);
    });
    child.on('close', (c) => res(c));
  });
  const elapsedS = (Date.now() - started) / 1000;
  const after = await readRtp(opts);

  const stat = existsSync(join(dir, 'stat.csv')) ? readFileSync(join(dir, 'stat.csv'), 'utf8').trim().split('\n') : [];
  const head = (stat[0] ?? '').split(';');
  const last = (stat[stat.length - 1] ?? '').split(';');
  const col = (name: string): number => Number(last[head.indexOf(name)] ?? 0) || 0;
  const ok = col('SuccessfulCall(C)');
  const failed = col('FailedCall(C)');
  const rttFile = readdirSync(dir).find((f) => f.includes('_rtt'));
  const setup: number[] = [];
  if (rttFile) {
    for (const line of readFileSync(join(dir, rttFile), 'utf8').split('\n').slice(1)) {
      // Date_ms;response_time_ms;rtd_no
      const f = line.split(';');
      const ms = Number(f[1]);
      if (f.length >= 3 && f[1] !== '' && Number.isFinite(ms)) setup.push(ms);
    }
  }
  setup.sort((a, b) => a - b);
  // Which of SIPp's failure counters moved (FailedCallRejected, FailedMaxUDPRetrans, FailedUnexpectedMessage...):
  // tells a server that refused or lost calls from a SIPp that fell behind.
  const failures: Record<string, number> = {};
  head.forEach((name, i) => {
    const n = Number(last[i]);
    if (name.startsWith('Failed') && name.endsWith('(C)') && name !== 'FailedCall(C)' && n > 0) failures[name.slice(0, -3)] = n;
  });
  if (opts.keep) process.stderr.write(`SIPp files kept in ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });

  const rtp = before && after ? { received: after.received - before.received, lost: after.lost - before.lost } : undefined;
  const lossPct = rtp && rtp.received + rtp.lost > 0 ? (100 * rtp.lost) / (rtp.received + rtp.lost) : undefined;
  const summary = {
    target: opts.target,
    callsOffered: opts.calls,
    rate: opts.rate,
    durationS: opts.durationS,
    ok,
    failed,
    failures,
    setupP50Ms: percentile(setup, 50) ?? null,
    setupP99Ms: percentile(setup, 99) ?? null,
    rtpPacketsReceived: rtp?.received ?? null,
    rtpPacketsLost: rtp?.lost ?? null,
    rtpLossPct: lossPct === undefined ? null : Math.round(lossPct * 1000) / 1000,
    elapsedS: Math.round(elapsedS * 10) / 10,
    sippExit: code,
  };
  if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    const fmt = (v: number | null, unit: string): string => (v === null ? 'n/a' : `${v}${unit}`);
    process.stdout.write(
      [
        `calls ok/failed:   ${ok} / ${failed} (of ${opts.calls}, ${opts.rate}/s, ${opts.durationS} s each)${
          failed > 0 ? ` — ${Object.entries(failures).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''
        }`,
        `setup INVITE->200: p50 ${fmt(summary.setupP50Ms, ' ms')}, p99 ${fmt(summary.setupP99Ms, ' ms')}`,
        `RTP loss:          ${rtp ? `${summary.rtpLossPct}% (${rtp.lost} of ${rtp.received + rtp.lost} packets, server side)` : 'n/a (pass --metrics URL)'}`,
        `elapsed:           ${summary.elapsedS} s`,
        '',
      ].join('\n'),
    );
  }
  process.exit(failed > 0 || ok < opts.calls ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`load test failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

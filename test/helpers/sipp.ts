import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** Path of a scenario shipped in sipp/ (or a built-in scenario name such as 'uac'). */
export function scenarioPath(name: string): string {
  return resolve(__dirname, '../../sipp', name.endsWith('.xml') ? name : `${name}.xml`);
}

export interface SippOptions {
  /** Built-in scenario name ('uac', 'uas') or a path to an XML scenario. */
  scenario: string;
  /** host:port of the system under test (omit for a UAS that only listens). */
  target?: string;
  /** SIPp transport mode: u1 (UDP, one socket), un (UDP, one socket per call), t1 (TCP, one connection), tn. */
  transport?: 'u1' | 'un' | 't1' | 'tn';
  /** Total calls (-m); every run is bounded. */
  calls: number;
  /** Calls per second (-r). */
  rate?: number;
  /** Local SIP port; default: a free port. */
  localPort?: number;
  /** Local media port (-mp); default: a free even port. */
  mediaPort?: number;
  /** Simulated packet loss in percent (-lost). */
  lost?: number;
  /** Called number (-s). */
  service?: string;
  /** Hard wall-clock bound for the whole run. */
  timeoutS: number;
  /** Extra raw arguments. */
  extra?: string[];
  /** Keyword values for [keyword] substitution via -key. */
  keys?: Record<string, string>;
}

export interface SippResult {
  exitCode: number | null;
  successful: number;
  failed: number;
  retransmissions: number;
  /** Unexpected messages seen by SIPp (from its error trace). */
  stdout: string;
  stderr: string;
  errors: string;
  localPort: number;
}

/** A port that was free on both UDP and TCP a moment ago (SIP listens on both with one number). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((res, rej) => {
      const s = createSocket('udp4');
      s.once('error', rej);
      s.bind(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => res(p));
      });
    });
    if (port >= 65000) continue;
    const tcpFree = await new Promise<boolean>((res) => {
      const srv = createServer();
      srv.once('error', () => res(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
    });
    if (tcpFree) return port;
  }
}

function parseStatCsv(path: string): { successful: number; failed: number; retransmissions: number } {
  const out = { successful: 0, failed: 0, retransmissions: 0 };
  if (!existsSync(path)) return out;
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  if (lines.length < 2) return out;
  const head = lines[0].split(';');
  const last = lines[lines.length - 1].split(';');
  const col = (name: string): number => {
    const i = head.indexOf(name);
    return i >= 0 ? Number(last[i]) || 0 : 0;
  };
  out.successful = col('SuccessfulCall(C)');
  out.failed = col('FailedCall(C)');
  out.retransmissions = col('Retransmissions(C)');
  return out;
}

/**
 * SIPp's own CPU watchdog ("Overload warning: the minor watchdog timer ... has been tripped") reports that SIPp itself
 * was starved on a busy machine; it says nothing about the system under test, so it is not an error here.
 */
function withoutWatchdogWarnings(log: string): string {
  const kept = log
    .split(/(?=\d{4}-\d{2}-\d{2}\t)/)
    .filter((entry) => !/watchdog timer/.test(entry))
    .join('');
  return kept.replace(/^The following events occurred:\s*$/, '').trim();
}

/** Runs SIPp to completion (bounded by -m and a timeout) and reads its final statistics. */
export async function runSipp(
  opts: SippOptions,
  onSpawn?: (child: ChildProcess) => void,
): Promise<SippResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const localPort = opts.localPort ?? (await freePort());
  const mediaPort = opts.mediaPort ?? ((await freePort()) & ~1);
  const args: string[] = [];
  const builtin = !opts.scenario.includes('/') && !opts.scenario.endsWith('.xml');
  if (builtin) args.push('-sn', opts.scenario);
  else args.push('-sf', opts.scenario);
  if (opts.target) args.push(opts.target);
  args.push('-i', '127.0.0.1', '-p', String(localPort), '-mp', String(mediaPort));
  args.push('-t', opts.transport ?? 'u1');
  args.push('-m', String(opts.calls));
  if (opts.rate !== undefined) args.push('-r', String(opts.rate));
  if (opts.lost !== undefined) args.push('-lost', String(opts.lost));
  if (opts.service) args.push('-s', opts.service);
  for (const [k, v] of Object.entries(opts.keys ?? {})) args.push('-key', k, v);
  args.push('-timeout', `${opts.timeoutS}s`, '-timeout_error');
  args.push('-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1');
  args.push('-trace_err', '-error_file', join(dir, 'errors.log'));
  args.push('-nostdin', '-buff_size', '4194304');
  args.push(...(opts.extra ?? []));

  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.length > 200_000) stdout = stdout.slice(-100_000);
  });
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), (opts.timeoutS + 10) * 1000);
  const exitCode = await new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  clearTimeout(killer);
  const stats = parseStatCsv(join(dir, 'stat.csv'));
  const errFile = readdirSync(dir).find((f) => f.startsWith('errors'));
  const errors = errFile ? withoutWatchdogWarnings(readFileSync(join(dir, errFile), 'utf8')) : '';
  rmSync(dir, { recursive: true, force: true });
  return { exitCode, ...stats, stdout, stderr, errors, localPort };
}

/**
 * Whether a socket is bound to `port` on this host, from /proc/net/{udp,tcp} (Linux). Reads rather than probes: a
 * probing bind could itself take the port from the process that is about to bind it. False where /proc is missing.
 */
function listening(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  for (const file of ['/proc/net/udp', '/proc/net/tcp', '/proc/net/udp6', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    // Each row: "  sl  local_address rem_address ...": the local address is the second field.
    for (const row of text.split('\n').slice(1)) {
      const local = row.trim().split(/\s+/)[1];
      if (local && `${local} `.endsWith(hex)) return true;
    }
  }
  return false;
}

/** Starts SIPp in the background (e.g. a UAS standing in for a trunk); `stop()` it in teardown. */
export async function startSipp(opts: SippOptions): Promise<{ port: number; done: Promise<SippResult>; stop: () => Promise<SippResult> }> {
  const port = opts.localPort ?? (await freePort());
  let child: ChildProcess | undefined;
  let exited = false;
  const done = runSipp({ ...opts, localPort: port }, (c) => (child = c));
  void done.then(() => (exited = true));
  // Wait until SIPp has bound its SIP port before the test sends to it (a loaded machine can take seconds to start
  // it), or has exited (it could not bind: the result says why).
  if (existsSync('/proc/net/udp')) {
    for (let i = 0; i < 400 && !exited && !listening(port); i++) await new Promise((r) => setTimeout(r, 50));
  } else {
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    port,
    done,
    stop: async () => {
      child?.kill('SIGTERM');
      return done;
    },
  };
}

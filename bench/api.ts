/**
 * REST API throughput: `npm run bench:api` (`node --require ./bench/register.js bench/api.ts`).
 *
 * Starts the real server in-process (embedded PGlite under a temporary directory, or PostgreSQL in a
 * throwaway schema, dropped afterwards, when TEST_DATABASE_URL / DATABASE_URL is set), mints an admin token, and drives autocannon for BENCH_SECONDS
 * (default 10) per scenario with BENCH_CONNECTIONS (default 20) connections:
 *   1. GET  /api/calls/active     (the read path of the issue: JWT, scope, call control's memory, no database),
 *                                 with BENCH_ACTIVE_CALLS (default 20) live calls placed through POST /api/calls/initiate
 *                                 to a SIPp UAS (sipp/uas-answer.xml) standing in for the outbound trunk; without
 *                                 `sipp` on the PATH the list is empty and the table says so
 *   2. GET  /api/numbers/blocked  (read path with one page + count query)
 *   3. POST /api/numbers/block    (write path: JSON body, zod validation, one upsert)
 * The server is one Node.js thread. The GET scenarios' load generator is the autocannon CLI in a separate
 * process, so the server's CPU time per request (process.cpuUsage over the run / requests) is the server's
 * alone: `req/s per core` = 1 s / that, the throughput of one dedicated core, which a shared, noisy machine
 * cannot show in the raw req/s. The POST scenario builds a body per request with a function, so autocannon
 * runs in-process there and its CPU column includes the load generator.
 * Rate limits are switched off here (they would measure 429s); everything else is the production chain.
 * Figures are printed, not asserted: the machine is shared.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/observability';
import { startServer } from '../src/server';
import { PgDatabase, type Database } from '../src/store';

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 20);
const SECRET = 'bench-secret-bench-secret-bench-secret-0001';
const ACTIVE_CALLS = Number(process.env['BENCH_ACTIVE_CALLS'] ?? 20);
/** `inline` runs every load generator in this process (no child process). */
const EXTERNAL = (process.env['BENCH_LOADGEN'] ?? 'process') !== 'inline';

interface Row {
  scenario: string;
  reqPerS: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  /** Server process CPU (user + system) per request, µs. */
  cpuUsPerReq: number;
  /** Requests one dedicated core would serve: 1e6 / cpuUsPerReq. */
  perCoreReqPerS: number;
  /** The load generator ran in this process (its CPU is in the figures). */
  inProcess: boolean;
}

/** What a scenario run reports, from the API or the CLI's JSON (`-j`). */
interface LoadResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** autocannon's CLI in a child process: GET `url` with `headers`. */
function externalLoad(url: string, headers: Record<string, string>): Promise<LoadResult> {
  const args = [require.resolve('autocannon/autocannon.js'), '-j', '-c', String(CONNECTIONS), '-d', String(SECONDS)];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push(url);
  return new Promise<LoadResult>((ok, fail) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', fail);
    child.once('close', (code) => {
      try {
        if (code !== 0) throw new Error(`autocannon exited with ${String(code)}`);
        ok(JSON.parse(out) as LoadResult);
      } catch (err) {
        fail(err);
      }
    });
  });
}

/**
 * CPU the server spends per second with no API traffic (media of the live calls, timers), µs/s: subtracted from
 * the scenarios so their per-request figure is the API's own cost.
 */
let backgroundCpuUsPerS = 0;

async function measureBackground(ms: number): Promise<number> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const cpu = process.cpuUsage(cpu0);
  return ((cpu.user + cpu.system) * 1000) / (performance.now() - t0);
}

async function scenario(name: string, opts: autocannon.Options & { url: string }, external: boolean): Promise<Row> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const result: LoadResult =
    external && opts.method === undefined ? await externalLoad(opts.url, (opts.headers ?? {}) as Record<string, string>) : await autocannon({ connections: CONNECTIONS, duration: SECONDS, ...opts });
  const cpu = process.cpuUsage(cpu0);
  const background = (backgroundCpuUsPerS * (performance.now() - t0)) / 1000;
  const cpuUs = Math.max(0, cpu.user + cpu.system - background) / Math.max(1, result.requests.total);
  // A scenario that measured errors would report a meaningless rate: say so loudly.
  if (result.non2xx > 0) process.stderr.write(`warning: ${name}: ${result.non2xx} non-2xx responses\n`);
  return {
    scenario: name,
    reqPerS: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpuUsPerReq: Math.round(cpuUs),
    perCoreReqPerS: cpuUs > 0 ? Math.round(1e6 / cpuUs) : 0,
    inProcess: !(external && opts.method === undefined),
  };
}

/** A UDP port that was free a moment ago (bind 0 and release). */
function freeUdpPort(): Promise<number> {
  return new Promise<number>((ok, fail) => {
    const sock = createSocket('udp4');
    sock.once('error', fail);
    sock.bind(0, '127.0.0.1', () => {
      const port = sock.address().port;
      sock.close(() => ok(port));
    });
  });
}

/** SIPp answering `calls` calls on `port` (sipp/uas-answer.xml); undefined when sipp is not installed. */
async function startUas(port: number, calls: number): Promise<ChildProcess | undefined> {
  const mediaPort = (await freeUdpPort()) & ~1;
  const dir = mkdtempSync(join(tmpdir(), 'bench-api-sipp-'));
  const scenarioFile = resolve(__dirname, '../sipp/uas-answer.xml');
  const child = spawn('sipp', ['-sf', scenarioFile, '-i', '127.0.0.1', '-p', String(port), '-mp', String(mediaPort), '-m', String(calls), '-nostdin'], {
    cwd: dir,
    stdio: 'ignore',
  });
  const started = await new Promise<boolean>((ok) => {
    child.once('error', () => ok(false));
    child.once('spawn', () => ok(true));
  });
  child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  if (!started) {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  // Let SIPp bind its socket before the first INVITE.
  await new Promise((r) => setTimeout(r, 500));
  return child;
}

async function main(): Promise<void> {
  const trunkPort = await freeUdpPort();
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-api-'));
  const dbUrl = process.env['DATABASE_URL'] ?? process.env['TEST_DATABASE_URL'];
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
    RTP_PORT_MIN: '40000',
    RTP_PORT_MAX: '40100',
    JWT_SECRET_KEY: SECRET,
    TRUNK_SECRET_KEY: SECRET,
    API_RATE_LIMIT_IP_RPS: '0',
    API_RATE_LIMIT_SUBJECT_RPS: '0',
    OUTBOUND_PROXY: `127.0.0.1:${trunkPort}`,
  });
  // On PostgreSQL, a schema of our own: the bench never touches tables someone else uses.
  const schema = `bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  let db: Database | undefined;
  if (dbUrl !== undefined) {
    await admin(dbUrl, `CREATE SCHEMA ${schema}`);
    db = new PgDatabase({ connectionString: dbUrl, schema, max: 10, applicationName: 'bench-api' });
  }
  // Request lines are logged at info in production; warn here keeps the bench output readable while
  // still paying for building the child logger on every request.
  const logger = createLogger({ level: 'warn', instanceId: 'bench' });
  const server = await startServer(config, db !== undefined ? { logger, db } : { logger });
  let uas: ChildProcess | undefined;
  const placed: string[] = [];
  // The calls' status webhooks land here (a dead URL would add retries and warnings to the measurement).
  const sink = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/status`;
  try {
    const base = `http://127.0.0.1:${server.apiPort}`;
    const token = jwt.sign({ sub: 'bench', scope: 'admin' }, SECRET, { algorithm: 'HS256', expiresIn: '1h' });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    // A realistic list: 100 blocked numbers, so a page is full.
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${base}/api/numbers/block`, { method: 'POST', headers, body: JSON.stringify({ number: `+1415555${String(i).padStart(4, '0')}`, reason: 'bench' }) });
      if (res.status !== 201) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);
    }
    // Live calls for the active-calls list: placed through the API, answered by SIPp, held up until the end.
    if (ACTIVE_CALLS > 0) uas = await startUas(trunkPort, ACTIVE_CALLS);
    if (uas !== undefined) {
      for (let i = 0; i < ACTIVE_CALLS; i++) {
        const res = await fetch(`${base}/api/calls/initiate`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ from_number: '+14155550100', to_number: `+1650555${String(i).padStart(4, '0')}`, webhook_url: sinkUrl, route: 'answer' }),
        });
        if (res.status !== 201) throw new Error(`initiate failed: ${res.status} ${await res.text()}`);
        placed.push(((await res.json()) as { call_id: string }).call_id);
      }
      for (let attempt = 0; attempt < 100 && server.calls.list().filter((c) => c.state === 'answered').length < placed.length; attempt++) {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const live = server.calls.list().filter((c) => c.state === 'answered').length;
    backgroundCpuUsPerS = await measureBackground(2000);
    process.stdout.write(
      `database: ${server.db.kind}, ${CONNECTIONS} connections, ${SECONDS} s per scenario, GET load generator: ${EXTERNAL ? 'separate process' : 'in-process'}\n` +
        `active calls: ${live} answered${uas === undefined && ACTIVE_CALLS > 0 ? ' (sipp not found: empty list)' : ''}; ` +
        `background CPU without API traffic ${(backgroundCpuUsPerS / 10_000).toFixed(1)}% of a core (subtracted below)\n`,
    );
    const rows: Row[] = [];
    rows.push(await scenario(`GET /api/calls/active (${live} calls)`, { url: `${base}/api/calls/active`, headers }, EXTERNAL));
    rows.push(await scenario('GET /api/numbers/blocked', { url: `${base}/api/numbers/blocked?limit=20`, headers }, EXTERNAL));
    let n = 0;
    rows.push(
      await scenario('POST /api/numbers/block', {
        url: `${base}/api/numbers/block`,
        method: 'POST',
        headers,
        // Spread the upserts over 1000 numbers so rows are both inserted and updated.
        setupClient: (client) => {
          client.setBody(JSON.stringify({ number: `+1650555${String(n++ % 1000).padStart(4, '0')}`, reason: 'bench' }));
        },
      }, false),
    );
    process.stdout.write(
      '\n| scenario | req/s | p50 ms | p99 ms | non-2xx | errors | server CPU µs/req | req/s per core |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n',
    );
    for (const r of rows) {
      const mark = r.inProcess ? ' *' : '';
      process.stdout.write(`| ${r.scenario} | ${r.reqPerS} | ${r.p50Ms} | ${r.p99Ms} | ${r.non2xx} | ${r.errors} | ${r.cpuUsPerReq}${mark} | ${r.perCoreReqPerS}${mark} |\n`);
    }
    if (rows.some((r) => r.inProcess)) process.stdout.write('* load generator in this process: its CPU is included\n');
  } finally {
    for (const id of placed) server.calls.hangup(id);
    await server.stop();
    await new Promise<void>((r) => {
      sink.close(() => r());
      sink.closeAllConnections();
    });
    if (uas !== undefined && uas.exitCode === null) {
      const exited = new Promise((r) => uas?.once('exit', r));
      uas.kill('SIGTERM');
      await exited;
    }
    if (db !== undefined && dbUrl !== undefined) {
      await db.close();
      await admin(dbUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
    logger.flush();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});

/**
 * REST API throughput: `npm run bench:api` (`node --require ./bench/register.js bench/api.ts`).
 *
 * Starts the real server in-process (embedded PGlite under a temporary directory, or PostgreSQL in a
 * throwaway schema, dropped afterwards, when TEST_DATABASE_URL / DATABASE_URL is set), mints an admin token, and drives autocannon for BENCH_SECONDS
 * (default 10) per scenario with BENCH_CONNECTIONS (default 20) connections:
 *   1. GET  /api/numbers/blocked  (read path: JWT, scope, limiter bookkeeping, one page + count query)
 *   2. POST /api/numbers/block    (write path: JSON body, zod validation, one upsert)
 * GET /api/calls/active (named by the issue) is not served yet: call control is another component, so the
 * numbers read path stands in for the read benchmark until it exists.
 * Rate limits are switched off here (they would measure 429s); everything else is the production chain.
 * Figures are printed, not asserted: the machine is shared.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

interface Row {
  scenario: string;
  reqPerS: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

async function scenario(name: string, opts: autocannon.Options): Promise<Row> {
  const result = await autocannon({ connections: CONNECTIONS, duration: SECONDS, ...opts });
  return {
    scenario: name,
    reqPerS: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function main(): Promise<void> {
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
  try {
    const base = `http://127.0.0.1:${server.apiPort}`;
    const token = jwt.sign({ sub: 'bench', scope: 'admin' }, SECRET, { algorithm: 'HS256', expiresIn: '1h' });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    // A realistic list: 100 blocked numbers, so a page is full.
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${base}/api/numbers/block`, { method: 'POST', headers, body: JSON.stringify({ number: `+1415555${String(i).padStart(4, '0')}`, reason: 'bench' }) });
      if (res.status !== 201) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);
    }
    process.stdout.write(`database: ${server.db.kind}, ${CONNECTIONS} connections, ${SECONDS} s per scenario\n`);
    const rows: Row[] = [];
    rows.push(await scenario('GET /api/numbers/blocked', { url: `${base}/api/numbers/blocked?limit=20`, headers }));
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
      }),
    );
    process.stdout.write('\n| scenario | req/s | p50 ms | p99 ms | non-2xx | errors |\n| --- | ---: | ---: | ---: | ---: | ---: |\n');
    for (const r of rows) process.stdout.write(`| ${r.scenario} | ${r.reqPerS} | ${r.p50Ms} | ${r.p99Ms} | ${r.non2xx} | ${r.errors} |\n`);
  } finally {
    await server.stop();
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

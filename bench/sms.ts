/**
 * SMS throughput: `node --require ./bench/register.js bench/sms.ts [messages]`.
 *
 *   1. accepted/s: SmsService.accept (validate, count segments, INSERT ... RETURNING committed) into the real
 *      PostgreSQL, 64 requests in flight as the REST API would have them. Target >= 2,000/s.
 *   2. delivered/s: the worker sends the queue as SIP MESSAGE over UDP through the real stack (transport,
 *      transaction layer, UA core) to a UAS on loopback that answers 200, and records each outcome. Target >= 1,000/s.
 *
 * Uses TEST_DATABASE_URL (or DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test) in a throwaway
 * schema. Figures are printed, not asserted: the machine is shared.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createResponse, parseMessage, type SipRequest } from '../src/sip/message';
import { SipTransportLayer } from '../src/sip/transport';
import { SipUserAgent } from '../src/sip/ua';
import { SipSmsSender, SmsService, gatewayRoute } from '../src/sms';
import { PgDatabase, createRepositories, migrate } from '../src/store';
import { systemClock } from '../src/util';

const URL = process.env['TEST_DATABASE_URL'] ?? process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/test';
const N = Number(process.argv[2] ?? 5000);
const IN_FLIGHT = 64;

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A UAS on loopback answering every MESSAGE with 200 (stands in for the SMS gateway). */
async function startUas(): Promise<{ port: number; received: () => number; close: () => Promise<void> }> {
  const sock = createSocket('udp4');
  let received = 0;
  sock.on('message', (raw, rinfo) => {
    const parsed = parseMessage(raw, { datagram: true });
    if (!parsed.ok || !parsed.msg.isRequest) return;
    received++;
    sock.send(createResponse(parsed.msg as SipRequest, 200, undefined, { toTag: 'gw' }).serialize(), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  // A gateway sized for bursts, like SIPp with -buff_size: the worker sends a whole batch at once.
  sock.setRecvBufferSize(4 * 1024 * 1024);
  return { port: sock.address().port, received: () => received, close: () => new Promise((r) => sock.close(() => r())) };
}

async function main(): Promise<void> {
  const schema = `bench_sms_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE SCHEMA ${schema}`);
  const db = new PgDatabase({ connectionString: URL, schema, max: 16, applicationName: 'bench-sms' });
  const uas = await startUas();
  const holder: { ua?: SipUserAgent } = {};
  const transport = new SipTransportLayer({ host: '127.0.0.1', udp: { port: 0 }, tcp: false, onMessage: (d, s) => holder.ua?.receive(d, s) });
  try {
    await migrate(db);
    await transport.start();
    const ua = new SipUserAgent({ clock: systemClock, send: (t, d) => transport.send(t, d), publicHost: '127.0.0.1', ports: { UDP: transport.ports.udp! } });
    holder.ua = ua;
    const sms = new SmsService({
      repositories: createRepositories(db),
      sender: new SipSmsSender({ requester: ua, route: gatewayRoute(`sip:127.0.0.1:${uas.port}`, 'bench.invalid') }),
      instanceId: 'bench',
      worker: { batchSize: 200, concurrency: 100, pollIntervalMs: 20 },
    });

    // Warm up the pool and the JIT.
    for (let i = 0; i < 200; i++) await sms.accept({ from: '+15550000000', to: '+15559999999', body: 'warm-up' });
    await sms.processQueueOnce();

    // 1. accepted/s
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < N) {
          const i = next++;
          await sms.accept({ from: '+15550000001', to: `+1555${String(i).padStart(7, '0')}`, body: i % 4 === 0 ? `Your code is ${i} 🔐` : `Your code is ${i}` });
        }
      }),
    );
    const acceptS = (performance.now() - t0) / 1000;

    // 2. delivered/s
    const before = uas.received();
    const t1 = performance.now();
    sms.startWorker();
    for (;;) {
      const r = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM sms_messages WHERE status IN ('queued', 'sending')");
      if (Number(r.rows[0].n) === 0) break;
      await new Promise((r2) => setTimeout(r2, 10));
    }
    const deliverS = (performance.now() - t1) / 1000;
    await sms.close();
    const sent = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM sms_messages WHERE status = 'sent'");

    console.log(`SMS accept  : ${N} messages in ${acceptS.toFixed(2)} s = ${Math.round(N / acceptS)} accepted/s (${IN_FLIGHT} in flight, PostgreSQL)`);
    console.log(`SMS deliver : ${N} messages in ${deliverS.toFixed(2)} s = ${Math.round(N / deliverS)} delivered/s (MESSAGE over UDP, 200 OK, outcome written)`);
    console.log(`              UAS saw ${uas.received() - before} MESSAGEs; ${sent.rows[0].n} rows sent (incl. ${200} warm-up)`);
    await ua.close();
  } finally {
    await transport.close();
    await uas.close();
    await db.close();
    await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

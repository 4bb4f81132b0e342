import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EntryPointHarness } from '../../helpers/entry-point';
import { scenarioPath, startSipp } from '../../helpers/sipp';
import { until } from '../../helpers/wait';
import { mint, TEST_JWT_SECRET } from '../api/api-client';

// Issue 7: "kill the server between accept and send -> the message is sent after restart, exactly once", with the
// real entry point (src/main.ts) on the real PostgreSQL. The SMS trunk's address first holds a socket that never
// answers, so the accepted message is claimed and its MESSAGE goes out unanswered; the process is then killed with
// SIGKILL (no shutdown code runs) while the row is `sending`. A SIPp UAS takes the trunk's address, the same
// instance starts again, and the UAS must receive exactly one MESSAGE with the exact body bytes; the row ends `sent`.

/** UTF-8 beyond ASCII and the GSM alphabet (UCS-2, one segment): every byte must arrive unchanged. */
const TEXT = 'Grüße aus dem Neustart – naïve café ✓ 😀';
let harness: EntryPointHarness;
let silent: Socket | undefined;
type Sipp = Awaited<ReturnType<typeof startSipp>>;
let uas: Sipp | undefined;

beforeAll(async () => {
  harness = await EntryPointHarness.create('sms_restart');
});

afterAll(async () => {
  silent?.close();
  await uas?.stop();
  await harness?.close();
});

// Each start binds new SIP and API ports (see EntryPointHarness.start). The trunk's address is what must stay the
// same (it is stored with the trunk); the trunk answers whatever Via the restarted process sends from.
function start(): ReturnType<EntryPointHarness['start']> {
  return harness.start({
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    // The SIPp UAS takes MESSAGEs only: no OPTIONS pings toward the trunk.
    TRUNK_OPTIONS_INTERVAL_S: '0',
  });
}

async function api(apiPort: number, method: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${mint()}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function smsRow(id: string): Promise<Record<string, unknown> | undefined> {
  const res = await harness.admin.query(`SELECT * FROM ${harness.schema}.sms_messages WHERE id = $1`, [id]);
  return res.rows[0] as Record<string, unknown> | undefined;
}

interface TracedRequest {
  method: string;
  branch: string;
  body: Buffer;
}

/** Requests SIPp logged as received (-trace_msg), with their raw body bytes (Content-Length of them). */
function receivedRequests(file: string): TracedRequest[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file).toString('latin1');
  const out: TracedRequest[] = [];
  for (const entry of text.split(/-{20,} [^\n]*\n/)) {
    const m = /^UDP message received \[\d+\] bytes :\r?\n\r?\n/.exec(entry);
    if (!m) continue;
    const msg = entry.slice(m[0].length);
    const method = /^([A-Z]+) sip:/.exec(msg)?.[1];
    if (!method) continue;
    const sep = msg.indexOf('\r\n\r\n');
    const head = msg.slice(0, sep);
    const length = Number(/\r\n(?:Content-Length|l)\s*:\s*(\d+)/i.exec(head)?.[1] ?? '0');
    const branch = /;branch=([^;\s,]+)/.exec(head)?.[1] ?? '';
    out.push({ method, branch, body: Buffer.from(msg.slice(sep + 4, sep + 4 + length), 'latin1') });
  }
  return out;
}

it('sends a message accepted before a SIGKILL after the restart, exactly once, with the exact body bytes', async () => {
  // The trunk's address first: a socket that takes the MESSAGE and never answers (bound to port 0: no other process
  // can take the port between choosing it and binding it).
  const seen: string[] = [];
  silent = createSocket('udp4');
  silent.on('message', (m) => seen.push(m.toString('latin1')));
  await new Promise<void>((r) => silent!.bind(0, '127.0.0.1', () => r()));
  const trunkPort = silent.address().port;

  const first = await start();
  const apiPort = first.apiPort;
  const trunk = await api(apiPort, 'POST', '/api/trunks', { name: 'sms-carrier', proxy_address: '127.0.0.1', proxy_port: trunkPort, supports_inbound: false });
  expect(trunk.status).toBe(201);
  const accepted = await api(apiPort, 'POST', '/api/sms/send', { from_number: '+15550001000', to_number: '+15550002000', message: TEXT });
  expect(accepted.status).toBe(202);
  const id = String(accepted.body['message_id']);

  // Claimed and on the wire, unanswered: the row is `sending` under the first process's lease.
  await until(() => (seen.some((m) => m.startsWith('MESSAGE ')) ? true : undefined), 'the unanswered MESSAGE', 900);
  expect(await smsRow(id)).toMatchObject({ status: 'sending', attempts: 1 });
  await first.kill();
  expect(await smsRow(id)).toMatchObject({ status: 'sending', sent_at: null });
  await new Promise<void>((r) => silent!.close(() => r()));
  silent = undefined;

  // The trunk answers now. Room for two calls so that a duplicate would be received (and counted) too.
  const trace = join(harness.dataDir, 'uas-messages.log');
  uas = await startSipp({
    scenario: scenarioPath('uas-message'),
    localPort: trunkPort,
    calls: 2,
    timeoutS: 120,
    keys: { body_regexp: '.' },
    extra: ['-trace_msg', '-message_file', trace],
  });

  const second = await start();
  const sent = await until(async () => {
    const r = await smsRow(id);
    return r && r['status'] === 'sent' ? r : undefined;
  }, 'the row to be sent', 900);
  expect(sent).toMatchObject({ status: 'sent', sip_code: 200, last_error: null, locked_by: null });
  // One attempt before the crash, one after it.
  expect(Number(sent['attempts'])).toBe(2);
  // The restarted instance took the message back from its dead predecessor's lease at start.
  expect(second.output()).toContain('SMS left sending by a previous run queued again');

  const result = await uas.stop();
  uas = undefined;
  expect(result.errors).toBe('');
  const messages = receivedRequests(trace).filter((r) => r.method === 'MESSAGE');
  // Retransmissions of one transaction share its branch: exactly one MESSAGE transaction reached the trunk.
  expect(new Set(messages.map((m) => m.branch)).size).toBe(1);
  expect(result.successful).toBe(1);
  expect(messages[0].body.equals(Buffer.from(TEXT, 'utf8'))).toBe(true);

  expect(await second.stop()).toBe(0);
}, 240_000);

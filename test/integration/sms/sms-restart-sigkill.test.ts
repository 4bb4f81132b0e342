import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { TEST_DATABASE_URL } from '../../helpers/db';
import { freePort, scenarioPath, startSipp } from '../../helpers/sipp';
import { mint, TEST_JWT_SECRET } from '../api/api-client';

// Issue 7: "kill the server between accept and send -> the message is sent after restart, exactly once", with the
// real entry point (src/main.ts) on the real PostgreSQL. The SMS trunk's address first holds a socket that never
// answers, so the accepted message is claimed and its MESSAGE goes out unanswered; the process is then killed with
// SIGKILL (no shutdown code runs) while the row is `sending`. A SIPp UAS takes the trunk's address, the same
// instance starts again, and the UAS must receive exactly one MESSAGE with the exact body bytes; the row ends `sent`.

const root = resolve(__dirname, '../../..');
const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
const role = `sms_restart_${suffix}`;
const schema = `sms_restart_${suffix}`;
/** UTF-8 beyond ASCII and the GSM alphabet (UCS-2, one segment): every byte must arrive unchanged. */
const TEXT = 'Grüße aus dem Neustart – naïve café ✓ 😀';
let admin: pg.Client;
let child: ChildProcess | undefined;
let silent: Socket | undefined;
let dir: string;
type Sipp = Awaited<ReturnType<typeof startSipp>>;
let uas: Sipp | undefined;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN`);
  await admin.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${role}`);
  await admin.query(`ALTER ROLE ${role} SET search_path = ${schema}`);
  dir = mkdtempSync(join(tmpdir(), 'sms-restart-'));
});

afterAll(async () => {
  child?.kill('SIGKILL');
  silent?.close();
  await uas?.stop();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.query(`DROP ROLE IF EXISTS ${role}`);
  await admin.end();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function databaseUrl(): string {
  const u = new URL(TEST_DATABASE_URL);
  u.username = role;
  u.password = '';
  return u.toString();
}

async function start(sipPort: number, apiPort: number): Promise<{ proc: ChildProcess; output: () => string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl(),
    DATA_DIR: dir,
    // Stable across the restart: the new process knows the leases of the old one as its own.
    INSTANCE_ID: `sms-restart-${suffix}`.replace(/_/g, '-'),
    SIP_PORT: String(sipPort),
    API_PORT: String(apiPort),
    SIP_TRANSPORTS: 'udp',
    SIP_BIND_ADDRESS: '127.0.0.1',
    SIP_PUBLIC_ADDRESS: '127.0.0.1',
    API_BIND_ADDRESS: '127.0.0.1',
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    // The SIPp UAS takes MESSAGEs only: no OPTIONS pings toward the trunk.
    TRUNK_OPTIONS_INTERVAL_S: '0',
    LOG_LEVEL: 'info',
  };
  const proc = spawn(process.execPath, ['--require', join(root, 'bench/register.js'), join(root, 'src/main.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 600 && !out.includes('server started') && proc.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
  expect(out).toContain('server started');
  return { proc, output: () => out };
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
  const res = await admin.query(`SELECT * FROM ${schema}.sms_messages WHERE id = $1`, [id]);
  return res.rows[0] as Record<string, unknown> | undefined;
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, attempts = 900): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await Promise.resolve(probe()).catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
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
  const sipPort = await freePort();
  const apiPort = await freePort();
  const trunkPort = await freePort();

  // The trunk's address first: a socket that takes the MESSAGE and never answers.
  const seen: string[] = [];
  silent = createSocket('udp4');
  silent.on('message', (m) => seen.push(m.toString('latin1')));
  await new Promise<void>((r) => silent!.bind(trunkPort, '127.0.0.1', () => r()));

  const { proc: first } = await start(sipPort, apiPort);
  const trunk = await api(apiPort, 'POST', '/api/trunks', { name: 'sms-carrier', proxy_address: '127.0.0.1', proxy_port: trunkPort, supports_inbound: false });
  expect(trunk.status).toBe(201);
  const accepted = await api(apiPort, 'POST', '/api/sms/send', { from_number: '+15550001000', to_number: '+15550002000', message: TEXT });
  expect(accepted.status).toBe(202);
  const id = String(accepted.body['message_id']);

  // Claimed and on the wire, unanswered: the row is `sending` under the first process's lease.
  await until(() => (seen.some((m) => m.startsWith('MESSAGE ')) ? true : undefined), 'the unanswered MESSAGE');
  expect(await smsRow(id)).toMatchObject({ status: 'sending', attempts: 1 });
  const exited = new Promise<void>((r) => first.once('exit', () => r()));
  first.kill('SIGKILL');
  await exited;
  child = undefined;
  expect(await smsRow(id)).toMatchObject({ status: 'sending', sent_at: null });
  await new Promise<void>((r) => silent!.close(() => r()));
  silent = undefined;

  // The trunk answers now. Room for two calls so that a duplicate would be received (and counted) too.
  const trace = join(dir, 'uas-messages.log');
  uas = await startSipp({
    scenario: scenarioPath('uas-message'),
    localPort: trunkPort,
    calls: 2,
    timeoutS: 120,
    keys: { body_regexp: '.' },
    extra: ['-trace_msg', '-message_file', trace],
  });

  const second = await start(sipPort, apiPort);
  const sent = await until(async () => {
    const r = await smsRow(id);
    return r && r['status'] === 'sent' ? r : undefined;
  }, 'the row to be sent');
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

  const stopped = new Promise<number | null>((r) => second.proc.once('exit', (code) => r(code)));
  second.proc.kill('SIGTERM');
  expect(await stopped).toBe(0);
  child = undefined;
}, 240_000);

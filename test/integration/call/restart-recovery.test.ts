import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { TEST_DATABASE_URL } from '../../helpers/db';
import { freePort } from '../../helpers/sipp';

// Crash recovery of the real entry point (src/main.ts) on the real PostgreSQL: a call is up, the process is killed
// with SIGKILL (no shutdown code runs), and the next start of the same instance closes the CDR it left open with
// cause `server-restart`. The server gets its own role whose search_path is a fresh schema, so it shares nothing.

const root = resolve(__dirname, '../../..');
const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
const role = `call_restart_${suffix}`;
const schema = `call_restart_${suffix}`;
let admin: pg.Client;
let child: ChildProcess | undefined;
let sock: Socket | undefined;
let dir: string;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN`);
  await admin.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${role}`);
  await admin.query(`ALTER ROLE ${role} SET search_path = ${schema}`);
  dir = mkdtempSync(join(tmpdir(), 'call-restart-'));
});

afterAll(async () => {
  child?.kill('SIGKILL');
  sock?.close();
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

async function start(sipPort: number, apiPort: number, rtpMin: number): Promise<{ proc: ChildProcess; output: () => string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl(),
    DATA_DIR: dir,
    INSTANCE_ID: `restart-test-${suffix}`.replace(/_/g, '-'),
    SIP_PORT: String(sipPort),
    API_PORT: String(apiPort),
    SIP_TRANSPORTS: 'udp',
    SIP_BIND_ADDRESS: '127.0.0.1',
    SIP_PUBLIC_ADDRESS: '127.0.0.1',
    API_BIND_ADDRESS: '127.0.0.1',
    DEFAULT_ROUTE: 'echo',
    // Calls come from 127.0.0.1, which is no trunk.
    OPEN_INBOUND: 'true',
    RTP_PORT_MIN: String(rtpMin),
    RTP_PORT_MAX: String(rtpMin + 100),
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

async function row(callId: string): Promise<Record<string, unknown> | undefined> {
  const res = await admin.query(`SELECT * FROM ${schema}.calls WHERE call_id = $1`, [callId]);
  return res.rows[0] as Record<string, unknown> | undefined;
}

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

it('closes the CDR of a call cut by SIGKILL with cause server-restart on the next start', async () => {
  const sipPort = await freePort();
  const apiPort = await freePort();
  const rtpMin = 42000 + ((process.pid * 16) % 8000) * 2;
  const first = await start(sipPort, apiPort, rtpMin - (rtpMin % 2));

  sock = createSocket('udp4');
  await new Promise<void>((r) => sock!.bind(0, '127.0.0.1', () => r()));
  const lp = sock.address().port;
  const received: string[] = [];
  sock.on('message', (m) => received.push(m.toString('latin1')));
  const send = (t: string): void => {
    sock!.send(Buffer.from(t.replace(/\r?\n/g, '\r\n')), sipPort, '127.0.0.1');
  };
  const callId = `restart-${suffix}`;
  const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
  send(`INVITE sip:1000@127.0.0.1:${sipPort} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${lp};branch=z9hG4bKrs1
Max-Forwards: 70
From: <sip:+15550009999@127.0.0.1>;tag=rs1
To: <sip:1000@127.0.0.1>
Call-ID: ${callId}
CSeq: 1 INVITE
Contact: <sip:a@127.0.0.1:${lp}>
Content-Type: application/sdp
Content-Length: ${sdp.length}

${sdp}`);
  const ok = await until(async () => received.find((m) => m.startsWith('SIP/2.0 200')), 'the 200 OK');
  const to = /\r\nTo: ([^\r\n]+)/.exec(ok)![1];
  send(`ACK sip:1000@127.0.0.1:${sipPort} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${lp};branch=z9hG4bKrs2
Max-Forwards: 70
From: <sip:+15550009999@127.0.0.1>;tag=rs1
To: ${to}
Call-ID: ${callId}
CSeq: 1 ACK
Content-Length: 0

`);
  // The CDR says answered and open before the crash.
  const before = await until(async () => {
    const r = await row(callId);
    return r && r['status'] === 'answered' ? r : undefined;
  }, 'the answered CDR');
  expect(before['ended_at']).toBeNull();

  const exited = new Promise<void>((r) => first.proc.once('exit', () => r()));
  first.proc.kill('SIGKILL');
  await exited;
  expect((await row(callId))?.['ended_at']).toBeNull();

  const second = await start(sipPort, apiPort, rtpMin - (rtpMin % 2));
  const after = await until(async () => {
    const r = await row(callId);
    return r && r['ended_at'] !== null ? r : undefined;
  }, 'the closed CDR');
  expect(after).toMatchObject({ status: 'completed', hangup_cause: 'server-restart', hangup_side: 'system' });
  expect(Number(after['duration_s'])).toBeGreaterThanOrEqual(0);
  expect(second.output()).toContain('closed calls left open by a previous run');
  const stopped = new Promise<number | null>((r) => second.proc.once('exit', (code) => r(code)));
  second.proc.kill('SIGTERM');
  expect(await stopped).toBe(0);
  child = undefined;
}, 120_000);

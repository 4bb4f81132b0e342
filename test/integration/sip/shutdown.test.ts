import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../helpers/sipp';
import { nextRtpRange } from '../../helpers/ports';

// The entry point as operators run it (src/main.ts, embedded PGlite): starts, serves, and on SIGTERM ends the
// calls in progress with BYE, closes its listeners and exits 0.

const root = resolve(__dirname, '../../..');
let child: ChildProcess | undefined;
let dir: string;
let sock: Socket;

afterAll(() => {
  child?.kill('SIGKILL');
  sock?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('serves a call, then on SIGTERM sends BYE for it and exits 0', async () => {
  dir = mkdtempSync(join(tmpdir(), 'sip-main-'));
  const sipPort = await freePort();
  const apiPort = await freePort();
  const rtp = nextRtpRange(100);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dir,
    SIP_PORT: String(sipPort),
    API_PORT: String(apiPort),
    SIP_BIND_ADDRESS: '127.0.0.1',
    SIP_PUBLIC_ADDRESS: '127.0.0.1',
    API_BIND_ADDRESS: '127.0.0.1',
    DEFAULT_ROUTE: 'answer',
    // Calls come from 127.0.0.1, which is no trunk.
    OPEN_INBOUND: 'true',
    RTP_PORT_MIN: String(rtp.min),
    RTP_PORT_MAX: String(rtp.max),
    LOG_LEVEL: 'info',
  };
  delete env['DATABASE_URL'];
  const proc = spawn(process.execPath, ['--require', join(root, 'bench/register.js'), join(root, 'src/main.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  for (let i = 0; i < 600 && !out.includes('server started'); i++) await new Promise((r) => setTimeout(r, 100));
  expect(out).toContain('server started');

  const health = await fetch(`http://127.0.0.1:${apiPort}/health`);
  expect(health.status).toBe(200);

  sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const lp = sock.address().port;
  const received: string[] = [];
  sock.on('message', (m) => received.push(m.toString('latin1')));
  const send = (t: string): void => {
    sock.send(Buffer.from(t.replace(/\r?\n/g, '\r\n')), sipPort, '127.0.0.1');
  };
  const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
  send(`INVITE sip:1000@127.0.0.1:${sipPort} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${lp};branch=z9hG4bKsd1
Max-Forwards: 70
From: <sip:a@127.0.0.1>;tag=sd1
To: <sip:1000@127.0.0.1>
Call-ID: shutdown-1
CSeq: 1 INVITE
Contact: <sip:a@127.0.0.1:${lp}>
Content-Type: application/sdp
Content-Length: ${sdp.length}

${sdp}`);
  for (let i = 0; i < 50 && !received.some((m) => m.startsWith('SIP/2.0 200')); i++) await new Promise((r) => setTimeout(r, 100));
  const ok = received.find((m) => m.startsWith('SIP/2.0 200'))!;
  expect(ok).toBeDefined();
  const to = /\r\nTo: ([^\r\n]+)/.exec(ok)![1];
  send(`ACK sip:1000@127.0.0.1:${sipPort} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${lp};branch=z9hG4bKsd2
Max-Forwards: 70
From: <sip:a@127.0.0.1>;tag=sd1
To: ${to}
Call-ID: shutdown-1
CSeq: 1 ACK
Content-Length: 0

`);
  await new Promise((r) => setTimeout(r, 200));
  // Answer the server's BYE so its client transaction completes and shutdown need not wait for Timer F.
  sock.on('message', (m) => {
    const t = m.toString('latin1');
    if (!t.startsWith('BYE ')) return;
    const hdr = (n: string): string => new RegExp(`\\r\\n${n}: ([^\\r\\n]+)`, 'i').exec(t)![1];
    send(`SIP/2.0 200 OK
Via: ${hdr('Via')}
From: ${hdr('From')}
To: ${hdr('To')}
Call-ID: ${hdr('Call-ID')}
CSeq: ${hdr('CSeq')}
Content-Length: 0

`);
  });
  proc.kill('SIGTERM');
  const code = await exited;
  expect(code).toBe(0);
  const bye = received.find((m) => m.startsWith('BYE '));
  expect(bye).toBeDefined();
  expect(bye).toMatch(/\r\nCall-ID: shutdown-1\r\n/);
  expect(out).toContain('shutting down');
}, 90_000);

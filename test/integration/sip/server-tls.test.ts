import { connect, type TLSSocket } from 'node:tls';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCertificate } from '../../helpers/tls-cert';
import { startTestServer, type TestServer } from '../../helpers/server';

// SIP over TLS (RFC 3261 §26.2, §18.3 framing) against the real server with a Node `tls` client: Debian's SIPp has no TLS.

let srv: TestServer;
let dir: string;
let ca: string;

beforeAll(async () => {
  const cert = await testCertificate();
  ca = cert.cert;
  dir = mkdtempSync(join(tmpdir(), 'sip-tls-'));
  writeFileSync(join(dir, 'cert.pem'), cert.cert);
  writeFileSync(join(dir, 'key.pem'), cert.key);
  srv = await startTestServer({
    DEFAULT_ROUTE: 'answer',
    SIP_TRANSPORTS: 'udp,tcp,tls',
    TLS_CERT_FILE: join(dir, 'cert.pem'),
    TLS_KEY_FILE: join(dir, 'key.pem'),
  });
});

afterAll(async () => {
  await srv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A SIP client over one TLS connection that frames responses by Content-Length. */
class TlsSipClient {
  private buf = Buffer.alloc(0);
  private waiters: ((m: string) => void)[] = [];
  private queue: string[] = [];
  constructor(readonly socket: TLSSocket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = this.buf.subarray(0, end).toString('latin1');
        const m = /\r\n(?:Content-Length|l)\s*:\s*(\d+)/i.exec(head);
        const len = m ? Number(m[1]) : 0;
        if (this.buf.length < end + 4 + len) return;
        const msg = this.buf.subarray(0, end + 4 + len).toString('latin1');
        this.buf = this.buf.subarray(end + 4 + len);
        const w = this.waiters.shift();
        if (w) w(msg);
        else this.queue.push(msg);
      }
    });
  }
  send(text: string): void {
    this.socket.write(text.replace(/\r?\n/g, '\r\n'));
  }
  next(): Promise<string> {
    const q = this.queue.shift();
    if (q !== undefined) return Promise.resolve(q);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no SIP message within 5 s')), 5000);
      this.waiters.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }
  /** Next message whose start line matches. */
  async expect(re: RegExp): Promise<string> {
    for (;;) {
      const m = await this.next();
      if (re.test(m.split('\r\n')[0])) return m;
    }
  }
}

function open(port: number): Promise<TlsSipClient> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => resolve(new TlsSipClient(s)));
    s.once('error', reject);
  });
}

it('verifies the server certificate and answers OPTIONS over TLS', async () => {
  const c = await open(srv.server.sipPorts.tls!);
  const lp = c.socket.localPort;
  c.send(`OPTIONS sip:1000@127.0.0.1 SIP/2.0
Via: SIP/2.0/TLS 127.0.0.1:${lp};branch=z9hG4bKtlsopt1
Max-Forwards: 70
From: <sip:tester@localhost>;tag=a1
To: <sip:1000@127.0.0.1>
Call-ID: tls-options-1
CSeq: 1 OPTIONS
Content-Length: 0

`);
  const res = await c.expect(/^SIP\/2\.0 /);
  expect(res).toMatch(/^SIP\/2\.0 200 /);
  expect(res).toMatch(/\r\nAllow: .*INVITE/);
  c.socket.destroy();
});

it('sets up and tears down a call over TLS (INVITE/180/200/ACK/BYE/200)', async () => {
  const c = await open(srv.server.sipPorts.tls!);
  const lp = c.socket.localPort;
  const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n';
  c.send(`INVITE sip:1000@127.0.0.1;transport=tls SIP/2.0
Via: SIP/2.0/TLS 127.0.0.1:${lp};branch=z9hG4bKtlsinv1
Max-Forwards: 70
From: <sip:tester@localhost>;tag=b1
To: <sip:1000@127.0.0.1>
Call-ID: tls-call-1
CSeq: 1 INVITE
Contact: <sip:tester@127.0.0.1:${lp};transport=tls>
Content-Type: application/sdp
Content-Length: ${sdp.length}

${sdp}`);
  const ok = await c.expect(/^SIP\/2\.0 200 /);
  expect(ok).toMatch(/\r\nContent-Type: application\/sdp/i);
  expect(ok).toMatch(/m=audio \d+ RTP\/AVP 0 101/);
  const toHeader = /\r\nTo: ([^\r\n]+)/.exec(ok)![1];
  expect(toHeader).toMatch(/;tag=/);
  c.send(`ACK sip:1000@127.0.0.1;transport=tls SIP/2.0
Via: SIP/2.0/TLS 127.0.0.1:${lp};branch=z9hG4bKtlsack1
Max-Forwards: 70
From: <sip:tester@localhost>;tag=b1
To: ${toHeader}
Call-ID: tls-call-1
CSeq: 1 ACK
Content-Length: 0

`);
  c.send(`BYE sip:1000@127.0.0.1;transport=tls SIP/2.0
Via: SIP/2.0/TLS 127.0.0.1:${lp};branch=z9hG4bKtlsbye1
Max-Forwards: 70
From: <sip:tester@localhost>;tag=b1
To: ${toHeader}
Call-ID: tls-call-1
CSeq: 2 BYE
Content-Length: 0

`);
  const byeOk = await c.expect(/^SIP\/2\.0 200 /);
  expect(byeOk).toMatch(/CSeq: 2 BYE/);
  expect(srv.server.ua.sessionCount).toBe(0);
  c.socket.destroy();
});

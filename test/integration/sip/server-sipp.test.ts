import { createSocket, type Socket } from 'node:dgram';
import { runSipp, scenarioPath } from '../../helpers/sipp';
import { startTestServer, type TestServer } from '../../helpers/server';

// The real server over real sockets against SIPp (RFC 3261 call flows) and raw datagrams (RFC 3261 §8.2 answers).

let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer({ DEFAULT_ROUTE: 'answer' });
});

afterAll(async () => {
  await srv?.stop();
});

describe('SIPp against the answer route', () => {
  it('answers OPTIONS with 200 carrying Allow, Accept and Supported', async () => {
    const r = await runSipp({ scenario: scenarioPath('options'), target: srv.udpTarget, calls: 3, rate: 10, service: '1000', timeoutS: 20 });
    expect(r.errors).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.successful).toBe(3);
  });

  it('completes the built-in uac scenario (INVITE/100/180/200/ACK/BYE/200) over UDP', async () => {
    const r = await runSipp({ scenario: 'uac', target: srv.udpTarget, calls: 50, rate: 50, timeoutS: 30 });
    expect(r.exitCode).toBe(0);
    expect(r.successful).toBe(50);
    expect(r.failed).toBe(0);
    // Every call ended on our side too: no session left behind.
    expect(srv.server.ua.sessionCount).toBe(0);
  });

  it('moves the Prometheus counters: SIP messages by method and status class, calls by final state', async () => {
    const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${srv.server.apiPort}/metrics`)).text();
    // Sum of the sip_messages_total series carrying every given label (label order in the exposition is not fixed).
    const sum = (text: string, labels: string[]): number =>
      text
        .split('\n')
        .filter((l) => l.startsWith('sip_messages_total{') && labels.every((x) => l.includes(x)))
        .reduce((acc, l) => acc + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const invitesIn = ['direction="in"', 'method="INVITE"'];
    const okOut = ['direction="out"', 'status_class="2xx"'];
    const before = await scrape();
    const r = await runSipp({ scenario: 'uac', target: srv.udpTarget, calls: 5, rate: 10, timeoutS: 30 });
    expect(r.successful).toBe(5);
    const after = await scrape();
    expect(sum(after, invitesIn) - sum(before, invitesIn)).toBe(5);
    expect(sum(after, okOut) - sum(before, okOut)).toBeGreaterThanOrEqual(10);
  });

  it('completes the built-in uac scenario over TCP', async () => {
    const r = await runSipp({ scenario: 'uac', target: srv.tcpTarget, transport: 't1', calls: 30, rate: 30, timeoutS: 30 });
    expect(r.exitCode).toBe(0);
    expect(r.successful).toBe(30);
    expect(srv.server.ua.sessionCount).toBe(0);
  });

  it('completes every call through retransmissions with 10% simulated loss', async () => {
    const r = await runSipp({ scenario: 'uac', target: srv.udpTarget, calls: 40, rate: 20, lost: 10, timeoutS: 90 });
    expect(r.failed).toBe(0);
    expect(r.successful).toBe(40);
    // With 10% loss of 7 messages per call some retransmissions must have happened.
    expect(r.retransmissions).toBeGreaterThan(0);
    // No session count check here: SIPp's simulated loss can drop both the ACK and the BYE of a call it then
    // forgets; our side rightly keeps re-sending the 2xx until Timer 64*T1 and then sends BYE (RFC 3261 §13.3.1.4).
  }, 120_000);
});

describe('answers to bad input (RFC 3261 §8.2, §18.3)', () => {
  let sock: Socket;
  beforeAll(async () => {
    sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  });
  afterAll(() => sock.close());

  let seq = 0;
  function exchange(text: string, waitMs = 1500): Promise<string | undefined> {
    const data = Buffer.from(text.replace(/\n/g, '\r\n'));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        sock.off('message', onMsg);
        resolve(undefined);
      }, waitMs);
      const onMsg = (msg: Buffer): void => {
        clearTimeout(timer);
        sock.off('message', onMsg);
        resolve(msg.toString('latin1'));
      };
      sock.on('message', onMsg);
      sock.send(data, srv.server.sipPorts.udp!, '127.0.0.1');
    });
  }

  function request(opts: { method?: string; uri?: string; omit?: string; extra?: string; cseqMethod?: string; maxForwards?: string; body?: string; contentLength?: number }): string {
    const n = ++seq;
    const port = sock.address().port;
    const method = opts.method ?? 'OPTIONS';
    const headers: [string, string][] = [
      ['Via', `SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKbad${n}${Date.now()}`],
      ['Max-Forwards', opts.maxForwards ?? '70'],
      ['From', `<sip:tester@127.0.0.1>;tag=t${n}`],
      ['To', '<sip:1000@127.0.0.1>'],
      ['Call-ID', `bad-${n}-${Date.now()}@127.0.0.1`],
      ['CSeq', `1 ${opts.cseqMethod ?? method}`],
    ];
    const body = opts.body ?? '';
    const lines = headers.filter(([h]) => h !== opts.omit).map(([h, v]) => `${h}: ${v}`);
    if (opts.extra) lines.push(opts.extra);
    lines.push(`Content-Length: ${opts.contentLength ?? Buffer.byteLength(body)}`);
    return `${method} ${opts.uri ?? 'sip:1000@127.0.0.1'} SIP/2.0\n${lines.join('\n')}\n\n${body}`;
  }

  const statusLine = (res: string | undefined): string => (res ?? '').split('\r\n')[0];

  it.each([
    ['Call-ID', /^SIP\/2\.0 400 .*Call-ID/],
    ['From', /^SIP\/2\.0 400 .*From/],
    ['To', /^SIP\/2\.0 400 .*To/],
    ['CSeq', /^SIP\/2\.0 400 .*CSeq/],
  ])('a request missing %s gets 400 naming it', async (header, expected) => {
    expect(statusLine(await exchange(request({ omit: header })))).toMatch(expected);
  });

  it('a CSeq method that differs from the request method gets 400', async () => {
    expect(statusLine(await exchange(request({ method: 'OPTIONS', cseqMethod: 'INVITE' })))).toMatch(/^SIP\/2\.0 400 /);
  });

  it('a Content-Length longer than the datagram gets 400', async () => {
    expect(statusLine(await exchange(request({ body: 'v=0\n', contentLength: 500 })))).toMatch(/^SIP\/2\.0 400 .*Content-Length/);
  });

  it('an unsupported Request-URI scheme gets 416', async () => {
    expect(statusLine(await exchange(request({ uri: 'mailto:someone@example.com' })))).toMatch(/^SIP\/2\.0 416 /);
  });

  it('Max-Forwards 0 on an INVITE gets 483', async () => {
    expect(statusLine(await exchange(request({ method: 'INVITE', maxForwards: '0', extra: 'Contact: <sip:tester@127.0.0.1>' })))).toMatch(/^SIP\/2\.0 483 /);
  });

  it('Require with an unknown option tag gets 420 with Unsupported', async () => {
    const res = await exchange(request({ extra: 'Require: frobnication' }));
    expect(statusLine(res)).toMatch(/^SIP\/2\.0 420 /);
    expect(res).toMatch(/\r\nUnsupported: frobnication\r\n/i);
  });

  it('an unknown method gets 501 with Allow', async () => {
    const res = await exchange(request({ method: 'FROBNICATE' }));
    expect(statusLine(res)).toMatch(/^SIP\/2\.0 501 /);
    expect(res).toMatch(/\r\nAllow: .*INVITE/);
  });

  it('BYE for an unknown dialog gets 481', async () => {
    expect(statusLine(await exchange(request({ method: 'BYE' }).replace('To: <sip:1000@127.0.0.1>', 'To: <sip:1000@127.0.0.1>;tag=nosuch')))).toMatch(/^SIP\/2\.0 481 /);
  });

  it('a merged request (same From tag, Call-ID and CSeq, another branch) gets 482', async () => {
    // Hold the first INVITE in progress with Max-Forwards ok; the merged copy arrives on a different branch.
    const first = request({ method: 'INVITE', extra: 'Contact: <sip:tester@127.0.0.1>' });
    const r1 = await exchange(first, 800);
    expect(statusLine(r1)).toMatch(/^SIP\/2\.0 (1|2)\d\d /);
    // Same request, new branch: while the first INVITE's transaction is alive this is a merge.
    const merged = first.replace(/branch=([^\r\n]+)/, 'branch=z9hG4bKmerged');
    const responses: string[] = [];
    await new Promise<void>((resolve) => {
      const onMsg = (m: Buffer): void => {
        responses.push(m.toString('latin1'));
      };
      sock.on('message', onMsg);
      sock.send(Buffer.from(merged.replace(/\n/g, '\r\n')), srv.server.sipPorts.udp!, '127.0.0.1');
      setTimeout(() => {
        sock.off('message', onMsg);
        resolve();
      }, 800);
    });
    expect(responses.some((r) => /^SIP\/2\.0 482 /.test(r) && r.includes('branch=z9hG4bKmerged'))).toBe(true);
  });

  it('garbage is dropped without an answer and the server keeps serving', async () => {
    expect(await exchange('\x00\x01 this is not SIP at all', 500)).toBeUndefined();
    expect(statusLine(await exchange(request({})))).toMatch(/^SIP\/2\.0 200 /);
  });
});

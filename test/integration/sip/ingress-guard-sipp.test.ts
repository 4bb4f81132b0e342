import { createSocket, type Socket } from 'node:dgram';
import { startTestServer, type TestServer } from '../../helpers/server';

// SIP flood protection and the SIP source allow-list on the real server: one source flooding is cut off while another
// source keeps getting service; a source outside SIP_ALLOWED_CIDRS gets 403. 127.0.0.2 is loopback on Linux.

async function bind(address: string): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  return s;
}

function options(sock: Socket, n: number): Buffer {
  const a = sock.address();
  return Buffer.from(
    [
      `OPTIONS sip:1000@127.0.0.1 SIP/2.0`,
      `Via: SIP/2.0/UDP ${a.address}:${a.port};branch=z9hG4bKflood${n}x${a.port}`,
      'Max-Forwards: 70',
      `From: <sip:probe@${a.address}>;tag=f${n}`,
      'To: <sip:1000@127.0.0.1>',
      `Call-ID: flood-${n}-${a.port}@${a.address}`,
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

/** Send `count` OPTIONS from `sock`, then wait and return the status lines received. */
async function blast(srv: TestServer, sock: Socket, count: number, settleMs = 700): Promise<string[]> {
  const got: string[] = [];
  const onMsg = (m: Buffer): void => {
    got.push(m.toString('latin1').split('\r\n')[0]);
  };
  sock.on('message', onMsg);
  for (let i = 0; i < count; i++) sock.send(options(sock, i), srv.server.sipPorts.udp!, '127.0.0.1');
  await new Promise((r) => setTimeout(r, settleMs));
  sock.off('message', onMsg);
  return got;
}

describe('flood protection', () => {
  let srv: TestServer;
  const socks: Socket[] = [];
  beforeAll(async () => {
    srv = await startTestServer({ SIP_FLOOD_MAX_REQUESTS: '50', SIP_FLOOD_WINDOW_S: '10', SIP_FLOOD_BAN_S: '60' });
  });
  afterAll(async () => {
    for (const s of socks) s.close();
    await srv?.stop();
  });

  it('cuts off a flooding source while another source is still served', async () => {
    const flooder = await bind('127.0.0.1');
    const other = await bind('127.0.0.2');
    socks.push(flooder, other);
    const flood = await blast(srv, flooder, 300);
    // The first 50 requests of the window are answered, the rest dropped (never answered: that would amplify).
    expect(flood.length).toBeGreaterThanOrEqual(40);
    expect(flood.length).toBeLessThanOrEqual(51);
    expect(flood.every((l) => l.startsWith('SIP/2.0 200'))).toBe(true);
    // Still banned a moment later.
    expect(await blast(srv, flooder, 3)).toEqual([]);
    // Another source is unaffected.
    const fine = await blast(srv, other, 5);
    expect(fine).toEqual(Array(5).fill('SIP/2.0 200 OK'));
    const metrics = await (await fetch(`http://127.0.0.1:${srv.server.apiPort}/metrics`)).text();
    expect(metrics).toMatch(/flood/);
  });
});

describe('SIP source allow-list', () => {
  let srv: TestServer;
  const socks: Socket[] = [];
  beforeAll(async () => {
    srv = await startTestServer({ SIP_ALLOWED_CIDRS: '127.0.0.2/32' });
  });
  afterAll(async () => {
    for (const s of socks) s.close();
    await srv?.stop();
  });

  it('answers 403 to sources outside SIP_ALLOWED_CIDRS and serves the allowed one', async () => {
    const outsider = await bind('127.0.0.1');
    const trunk = await bind('127.0.0.2');
    socks.push(outsider, trunk);
    expect(await blast(srv, outsider, 1)).toEqual(['SIP/2.0 403 Forbidden (Source Not Allowed)']);
    expect(await blast(srv, trunk, 1)).toEqual(['SIP/2.0 200 OK']);
  });
});

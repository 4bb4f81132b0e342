import { createSocket, type Socket } from 'node:dgram';
import { createLiteralLookup } from '../../../src/util';
import { RtpPortPool, type RtpPortAllocation } from '../../../src/rtp';

type Answer = { err: NodeJS.ErrnoException | null; address: string; family: number };

function ask(lookup: ReturnType<typeof createLiteralLookup>, host: string, family: number): { sync: Answer | null; done: Promise<Answer> } {
  let sync: Answer | null = null;
  let inCall = true;
  const done = new Promise<Answer>((resolve) => {
    lookup(host, family, (err, address, fam) => {
      const a = { err, address, family: fam };
      if (inCall) sync = a;
      resolve(a);
    });
  });
  inCall = false;
  return { sync, done };
}

describe('createLiteralLookup (dgram lookup for media sockets)', () => {
  it('answers IPv4 and IPv6 literals synchronously with the literal and its family, as dns.lookup would', async () => {
    const lookup = createLiteralLookup();
    const v4 = ask(lookup, '192.0.2.7', 4);
    expect(v4.sync).toEqual({ err: null, address: '192.0.2.7', family: 4 });
    // The same destination again (every packet of a stream) takes the remembered answer.
    expect(ask(lookup, '192.0.2.7', 4).sync).toEqual({ err: null, address: '192.0.2.7', family: 4 });
    expect(ask(lookup, '2001:db8::1', 6).sync).toEqual({ err: null, address: '2001:db8::1', family: 6 });
    // A literal of the other family is answered as dns.lookup answers it (the socket then refuses the send).
    expect(ask(lookup, '2001:db8::1', 4).sync).toEqual({ err: null, address: '2001:db8::1', family: 6 });
    expect(ask(lookup, '192.0.2.7', 4).sync).toEqual({ err: null, address: '192.0.2.7', family: 4 });
    await v4.done;
  });

  it('resolves anything that is not a literal through dns.lookup (asynchronously)', async () => {
    const lookup = createLiteralLookup();
    const q = ask(lookup, 'localhost', 4);
    expect(q.sync).toBeNull();
    const a = await q.done;
    expect(a.err).toBeNull();
    expect(a.family).toBe(4);
    expect(a.address).toMatch(/^127\./);
    // Not remembered as a literal: still resolved, not echoed back.
    const again = ask(lookup, 'localhost', 4);
    expect(again.sync).toBeNull();
    await again.done;
  });

  it('reports a name that does not resolve as dns.lookup does', async () => {
    const lookup = createLiteralLookup();
    const a = await ask(lookup, 'no-such-host.invalid', 4).done;
    expect(a.err).toBeTruthy();
  });

  it('makes a send on an unconnected socket leave inside send(): a close right after it no longer loses the datagram', async () => {
    const receiver = createSocket('udp4');
    await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
    const got: Buffer[] = [];
    const arrived = new Promise<void>((resolve) =>
      receiver.on('message', (m) => {
        got.push(m);
        resolve();
      }),
    );
    const sender: Socket = createSocket({ type: 'udp4', lookup: createLiteralLookup() });
    await new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve));
    sender.send(Buffer.from('rtp'), receiver.address().port, '127.0.0.1');
    // With dns.lookup the send would wait for the next tick and be dropped by this close.
    sender.close();
    await arrived;
    receiver.close();
    expect(got.map((b) => b.toString())).toEqual(['rtp']);
  });
});

describe('RtpPortPool sockets', () => {
  it('stay unconnected: datagrams from any source still reach the socket (the endpoint counts foreign sources)', async () => {
    const min = 40000 + ((process.pid * 7) % 2400) * 2;
    const pool = new RtpPortPool({ min, max: min + 3, host: '127.0.0.1' });
    const a: RtpPortAllocation = await pool.allocate({ rtcpMux: true });
    const peers = [createSocket('udp4'), createSocket('udp4')];
    try {
      for (const p of peers) await new Promise<void>((resolve) => p.bind(0, '127.0.0.1', resolve));
      const sources = new Set<number>();
      const two = new Promise<void>((resolve) =>
        a.rtpSocket.on('message', (_m, rinfo) => {
          sources.add(rinfo.port);
          if (sources.size === 2) resolve();
        }),
      );
      // Our socket sends to the first peer (through the literal lookup), then both peers send to it.
      const echoed = new Promise<void>((resolve) => peers[0].once('message', () => resolve()));
      a.rtpSocket.send(Buffer.from('x'), peers[0].address().port, '127.0.0.1');
      await echoed;
      for (const p of peers) p.send(Buffer.from('y'), a.rtpPort, '127.0.0.1');
      await two;
      expect(sources.size).toBe(2);
    } finally {
      for (const p of peers) p.close();
      a.release();
    }
  });
});

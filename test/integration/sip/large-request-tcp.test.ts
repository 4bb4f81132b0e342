import { SipTransportLayer } from '../../../src/sip/transport';
import { SipUserAgent, type IncomingRequest } from '../../../src/sip/ua';
import { systemClock } from '../../../src/util';
import { freePort } from '../../helpers/sipp';

// RFC 3261 §18.1.1: a request over 1300 bytes bound for UDP goes over TCP (Via rewritten); a small one stays on UDP.

interface Node {
  transport: SipTransportLayer;
  ua: SipUserAgent;
  port: number;
}

async function node(): Promise<Node> {
  const port = await freePort();
  const holder: { ua?: SipUserAgent } = {};
  const transport = new SipTransportLayer({ host: '127.0.0.1', udp: { port }, tcp: { port }, onMessage: (d, s) => holder.ua?.receive(d, s) });
  await transport.start();
  const ua = new SipUserAgent({
    clock: systemClock,
    send: (t, d) => transport.send(t, d),
    publicHost: '127.0.0.1',
    ports: { UDP: transport.ports.udp!, TCP: transport.ports.tcp! },
  });
  holder.ua = ua;
  return { transport, ua, port };
}

let a: Node;
let b: Node;
const seen: { transport: string; via: string; bytes: number }[] = [];

beforeAll(async () => {
  a = await node();
  b = await node();
  b.ua.handle('MESSAGE', (r: IncomingRequest) => {
    seen.push({ transport: r.source.transport, via: r.request.getHeaders('Via')[0], bytes: r.request.body.length });
    r.respond(200);
  });
});

afterAll(async () => {
  for (const n of [a, b]) {
    await n?.ua.close();
    await n?.transport.close();
  }
});

it('sends a small MESSAGE over UDP and a 2 KB one over TCP', async () => {
  const uri = `sip:bob@127.0.0.1:${b.port}`;
  const small = await a.ua.request('MESSAGE', uri, { body: Buffer.from('hi'), contentType: 'text/plain' });
  expect(small.status).toBe(200);
  const big = await a.ua.request('MESSAGE', uri, { body: Buffer.alloc(2000, 'x'), contentType: 'text/plain' });
  expect(big.status).toBe(200);
  expect(seen).toHaveLength(2);
  expect(seen[0]).toMatchObject({ transport: 'UDP', bytes: 2 });
  expect(seen[0].via).toMatch(/^SIP\/2\.0\/UDP /);
  expect(seen[1]).toMatchObject({ transport: 'TCP', bytes: 2000 });
  expect(seen[1].via).toMatch(/^SIP\/2\.0\/TCP 127\.0\.0\.1:\d+;/);
});

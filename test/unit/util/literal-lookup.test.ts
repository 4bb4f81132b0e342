import { createSocket } from 'node:dgram';
import { createLiteralLookup } from '../../../src/util';

describe('createLiteralLookup', () => {
  it('answers IPv4 and IPv6 literals synchronously with the family of the literal', () => {
    const lookup = createLiteralLookup();
    const answers: [string, number][] = [];
    lookup('127.0.0.1', 4, (err, address, family) => {
      expect(err).toBeNull();
      answers.push([address, family]);
    });
    lookup('127.0.0.1', 4, (_e, address, family) => answers.push([address, family])); // the remembered literal
    lookup('::1', 6, (_e, address, family) => answers.push([address, family]));
    lookup('::ffff:192.0.2.1', 6, (_e, address, family) => answers.push([address, family]));
    expect(answers).toEqual([
      ['127.0.0.1', 4],
      ['127.0.0.1', 4],
      ['::1', 6],
      ['::ffff:192.0.2.1', 6],
    ]);
  });

  it('hands host names to dns.lookup (asynchronously)', async () => {
    const lookup = createLiteralLookup();
    let sync = true;
    const answer = await new Promise<[string, number]>((resolve, reject) => {
      lookup('localhost', 4, (err, address, family) => (err ? reject(err) : resolve([address, family])));
      sync = false;
    });
    expect(sync).toBe(false);
    expect(answer[1]).toBe(4);
    expect(answer[0]).toMatch(/^127\./);
  });

  it('serves as the lookup of a dgram socket: a datagram to a literal arrives', async () => {
    const rx = createSocket('udp4');
    const tx = createSocket({ type: 'udp4', lookup: createLiteralLookup() });
    await new Promise<void>((resolve) => rx.bind(0, '127.0.0.1', () => resolve()));
    const got = new Promise<string>((resolve) => rx.once('message', (m) => resolve(m.toString())));
    await new Promise<void>((resolve, reject) => tx.send(Buffer.from('ping'), rx.address().port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    expect(await got).toBe('ping');
    await Promise.all([new Promise<void>((r) => rx.close(() => r())), new Promise<void>((r) => tx.close(() => r()))]);
  });
});

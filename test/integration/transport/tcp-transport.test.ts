import { createServer } from 'node:net';
import { responseTarget, TransportError } from '../../../src/sip/transport';
import { RawStreamClient, TestNode, sipRequest } from './harness';

/** A TCP port with nothing listening on it (bound then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('SipTransportLayer over TCP', () => {
  const nodes: TestNode[] = [];
  const clients: RawStreamClient[] = [];

  async function startNode(options: ConstructorParameters<typeof TestNode>[0] = {}): Promise<TestNode> {
    const n = new TestNode({ udp: false, ...options });
    nodes.push(n);
    await n.layer.start();
    return n;
  }

  async function openClient(port: number): Promise<RawStreamClient> {
    const c = await RawStreamClient.open(port);
    clients.push(c);
    return c;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await Promise.all(nodes.splice(0).map((n) => n.layer.close()));
  });

  it('frames several messages written in one chunk, and tags them with the connection', async () => {
    const node = await startNode();
    const client = await openClient(node.layer.ports.tcp!);
    const msgs = [sipRequest('OPTIONS'), sipRequest('MESSAGE', 'text body'), sipRequest('INFO', 'a\r\n\r\nb')];
    await client.write(msgs.join(''));
    await node.until(() => node.messages.length === 3);
    expect(node.messages.map((m) => m.text)).toEqual(msgs);
    const ids = new Set(node.messages.map((m) => m.source.connectionId));
    expect(ids.size).toBe(1);
    const source = node.messages[0].source;
    expect(source.transport).toBe('TCP');
    expect(source.address).toBe('127.0.0.1');
    expect(source.port).toBe(client.localPort);
    expect(source.local.port).toBe(node.layer.ports.tcp);
    expect(node.layer.getConnection(source.connectionId!)).toMatchObject({ direction: 'inbound', transport: 'TCP' });
  });

  it('assembles a message written byte by byte', async () => {
    const node = await startNode();
    const client = await openClient(node.layer.ports.tcp!);
    const msg = sipRequest('MESSAGE', 'split across many segments');
    client.socket.setNoDelay(true);
    for (const byte of Buffer.from(msg)) await client.write(Buffer.of(byte));
    await node.until(() => node.messages.length === 1);
    expect(node.messages[0].text).toBe(msg);
  });

  it('answers on the request connection using responseTarget (RFC 3261 §18.2.2)', async () => {
    const node = await startNode();
    const client = await openClient(node.layer.ports.tcp!);
    await client.write(sipRequest('OPTIONS'));
    await node.until(() => node.messages.length === 1);
    const source = node.messages[0].source;
    const target = responseTarget({ transport: 'TCP', host: '127.0.0.1', port: 5099 }, source)!;
    const response = 'SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n';
    const result = await node.layer.send(target, Buffer.from(response));
    expect(result.connectionId).toBe(source.connectionId);
    await client.until(() => client.data === response);
    expect(node.layer.metrics.connectionsOpened).toBe(1);
  });

  it('reuses a peer-opened connection to send to its source address:port', async () => {
    const node = await startNode();
    const client = await openClient(node.layer.ports.tcp!);
    await client.write(sipRequest('REGISTER'));
    await node.until(() => node.messages.length === 1);
    const req = sipRequest('OPTIONS');
    const result = await node.layer.send({ transport: 'TCP', address: '127.0.0.1', port: client.localPort }, Buffer.from(req));
    expect(result.connectionId).toBe(node.messages[0].source.connectionId);
    await client.until(() => client.data === req);
    expect(node.layer.metrics.connectionsOpened).toBe(1);
  });

  it('opens one connection to a peer and reuses it for the next sends', async () => {
    const a = await startNode();
    const b = await startNode();
    const target = { transport: 'TCP' as const, address: '127.0.0.1', port: b.layer.ports.tcp! };
    const m1 = sipRequest('OPTIONS');
    const m2 = sipRequest('MESSAGE', 'second');
    // Both sends start before the connect completes: the second must queue on the same connection.
    const [r1, r2] = await Promise.all([a.layer.send(target, Buffer.from(m1)), a.layer.send(target, Buffer.from(m2))]);
    expect(r1.connectionId).toBe(r2.connectionId);
    const r3 = await a.layer.send(target, Buffer.from(m1));
    expect(r3.connectionId).toBe(r1.connectionId);
    await b.until(() => b.messages.length === 3);
    expect(b.messages.map((m) => m.text)).toEqual([m1, m2, m1]);
    expect(new Set(b.messages.map((m) => m.source.connectionId)).size).toBe(1);
    expect(a.layer.metrics.connectionsOpened).toBe(1);
    expect(a.layer.connectionCount).toBe(1);

    // And b answers on the connection a opened, not a new one.
    const back = await b.layer.send(responseTarget({ transport: 'TCP', host: '127.0.0.1', port: 5060 }, b.messages[0].source)!, Buffer.from(m2));
    expect(back.connectionId).toBe(b.messages[0].source.connectionId);
    await a.until(() => a.messages.length === 1);
    expect(a.messages[0].source.connectionId).toBe(r1.connectionId);
    expect(b.layer.metrics.connectionsOpened).toBe(1);
  });

  it('closes the connection on a message without Content-Length (RFC 3261 §18.3)', async () => {
    const node = await startNode();
    const client = await openClient(node.layer.ports.tcp!);
    const good = sipRequest('OPTIONS');
    await client.write(`${good}INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n`);
    await client.until(() => client.closed);
    await node.until(() => node.closes.length === 1);
    expect(node.messages.map((m) => m.text)).toEqual([good]);
    expect(node.drops.map((d) => d.reason)).toEqual(['invalid-framing']);
    expect(node.closes[0].reason).toBe('framing');
    expect(node.layer.metrics.drops['invalid-framing']).toBe(1);
    expect(node.layer.connectionCount).toBe(0);
  });

  it('reports an oversize message with its head, lets a 413 out on the connection, then closes', async () => {
    const response = 'SIP/2.0 413 Request Entity Too Large\r\nContent-Length: 0\r\n\r\n';
    const node = await startNode({
      maxMessageSize: 1000,
      onDrop: (reason, source) => {
        if (reason === 'oversize') void node.layer.send({ transport: 'TCP', address: source.address, port: source.port, connectionId: source.connectionId }, Buffer.from(response));
      },
    });
    const client = await openClient(node.layer.ports.tcp!);
    const big = sipRequest('MESSAGE', 'y'.repeat(5000));
    await client.write(big);
    await client.until(() => client.closed);
    expect(client.data).toBe(response);
    expect(node.drops[0].reason).toBe('oversize');
    expect(node.drops[0].data!.toString()).toBe(big.slice(0, big.indexOf('\r\n\r\n') + 4));
    expect(node.messages).toEqual([]);
  });

  it('answers a double-CRLF ping with a CRLF pong (RFC 5626 §4.4.1)', async () => {
    const node = await startNode();
    const client = await openClient(node.layer.ports.tcp!);
    await client.write('\r\n\r\n');
    await client.until(() => client.data === '\r\n');
    expect(node.layer.metrics.keepAlivePings).toBe(1);
    // The connection is still usable after the keep-alive.
    const msg = sipRequest('OPTIONS');
    await client.write(msg);
    await node.until(() => node.messages.length === 1);
    expect(node.messages[0].text).toBe(msg);
  });

  it('closes a connection that stays idle past idleTimeoutMs', async () => {
    const node = await startNode({ idleTimeoutMs: 150 });
    const client = await openClient(node.layer.ports.tcp!);
    await client.until(() => client.closed);
    await node.until(() => node.closes.length === 1);
    expect(node.closes[0].reason).toBe('idle');
    expect(node.layer.metrics.connectionsOpen).toBe(0);
  });

  it('rejects a send when the connection is refused, with the OS error code', async () => {
    const node = await startNode();
    const port = await closedPort();
    const err = await node.layer.send({ transport: 'TCP', address: '127.0.0.1', port }, Buffer.from(sipRequest('OPTIONS'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe('ECONNREFUSED');
    expect(node.layer.metrics.sendErrors).toBe(1);
    await node.until(() => node.layer.connectionCount === 0);
  });

  it('with connect: false, refuses to open a connection', async () => {
    const a = await startNode();
    const b = await startNode();
    await expect(
      a.layer.send({ transport: 'TCP', address: '127.0.0.1', port: b.layer.ports.tcp!, connect: false }, Buffer.from('x')),
    ).rejects.toMatchObject({ code: 'ERR_SIP_TRANSPORT_NO_CONNECTION' });
    expect(a.layer.metrics.connectionsOpened).toBe(0);
  });

  it('falls back from a closed connectionId to a new connection', async () => {
    const a = await startNode();
    const b = await startNode();
    const target = { transport: 'TCP' as const, address: '127.0.0.1', port: b.layer.ports.tcp! };
    const first = await a.layer.send(target, Buffer.from(sipRequest('OPTIONS')));
    expect(a.layer.closeConnection(first.connectionId!)).toBe(true);
    await a.until(() => a.closes.length === 1);
    const second = await a.layer.send({ ...target, connectionId: first.connectionId }, Buffer.from(sipRequest('OPTIONS')));
    expect(second.connectionId).not.toBe(first.connectionId);
    await b.until(() => b.messages.length === 2);
  });

  it('routes to a connection through an RFC 5923 alias', async () => {
    const node = await startNode();
    const client = await openClient(node.layer.ports.tcp!);
    await client.write(sipRequest('OPTIONS'));
    await node.until(() => node.messages.length === 1);
    const id = node.messages[0].source.connectionId!;
    expect(node.layer.addAlias(id, '127.0.0.1', 5099)).toBe(true);
    const req = sipRequest('MESSAGE', 'via alias');
    const r = await node.layer.send({ transport: 'TCP', address: '127.0.0.1', port: 5099, connect: false }, Buffer.from(req));
    expect(r.connectionId).toBe(id);
    await client.until(() => client.data === req);
  });

  it('reports a peer closing its connection', async () => {
    const node = await startNode();
    const client = await openClient(node.layer.ports.tcp!);
    await client.write(sipRequest('OPTIONS'));
    await node.until(() => node.messages.length === 1);
    client.socket.end();
    await node.until(() => node.closes.length === 1);
    expect(node.closes[0].reason).toBe('remote');
    expect(node.closes[0].info.connectionId).toBe(node.messages[0].source.connectionId);
  });

  it('refuses inbound connections beyond maxConnections and counts them', async () => {
    const node = await startNode({ maxConnections: 1 });
    const c1 = await openClient(node.layer.ports.tcp!);
    await c1.write(sipRequest('OPTIONS'));
    await node.until(() => node.messages.length === 1);
    const c2 = await openClient(node.layer.ports.tcp!);
    await c2.until(() => c2.closed);
    await node.until(() => node.drops.length === 1);
    expect(node.drops[0].reason).toBe('connection-limit');
    expect(c1.closed).toBe(false);
  });

  it('fails sends with backpressure once a peer stops reading and the write queue passes maxBufferedBytes', async () => {
    const node = await startNode({ maxBufferedBytes: 256 * 1024 });
    const client = await openClient(node.layer.ports.tcp!);
    client.socket.pause();
    await client.write(sipRequest('OPTIONS'));
    await node.until(() => node.messages.length === 1);
    const target = { transport: 'TCP' as const, address: '127.0.0.1', port: client.localPort };
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const outcomes: Array<Promise<string>> = [];
    // Loopback kernel buffers take a few MiB before Node starts queueing; 64 MiB is far beyond them.
    for (let i = 0; i < 1024; i++) {
      outcomes.push(node.layer.send(target, chunk).then(() => 'ok', (e: TransportError) => e.code));
    }
    client.destroy();
    const codes = await Promise.all(outcomes);
    expect(codes).toContain('ERR_SIP_TRANSPORT_BACKPRESSURE');
    expect(node.layer.metrics.sendErrors).toBeGreaterThan(0);
  });

  it('close() ends every connection and stops listening', async () => {
    const node = await startNode();
    const client = await openClient(node.layer.ports.tcp!);
    await client.write(sipRequest('OPTIONS'));
    await node.until(() => node.messages.length === 1);
    const port = node.layer.ports.tcp!;
    await node.layer.close();
    await client.until(() => client.closed);
    expect(node.closes.map((c) => c.reason)).toEqual(['shutdown']);
    await expect(RawStreamClient.open(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

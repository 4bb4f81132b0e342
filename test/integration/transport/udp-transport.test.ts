import { createSocket, type Socket } from 'node:dgram';
import { responseTarget, TransportError } from '../../../src/sip/transport';
import { TestNode, sipRequest } from './harness';

function udpClient(): Promise<{ socket: Socket; port: number; received: Buffer[]; next: () => Promise<Buffer> }> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const received: Buffer[] = [];
    let waiter: ((b: Buffer) => void) | undefined;
    socket.on('message', (m) => {
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w(m);
      } else received.push(m);
    });
    socket.bind(0, '127.0.0.1', () => {
      resolve({
        socket,
        port: socket.address().port,
        received,
        next: () => (received.length > 0 ? Promise.resolve(received.shift()!) : new Promise<Buffer>((r) => (waiter = r))),
      });
    });
  });
}

function sendDatagram(socket: Socket, data: Buffer | string, port: number): Promise<void> {
  return new Promise((resolve, reject) => socket.send(typeof data === 'string' ? Buffer.from(data) : data, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
}

describe('SipTransportLayer over UDP', () => {
  let node: TestNode;
  let client: Awaited<ReturnType<typeof udpClient>>;

  beforeEach(async () => {
    node = new TestNode({ tcp: false });
    await node.layer.start();
    client = await udpClient();
  });

  afterEach(async () => {
    await node.layer.close();
    await new Promise<void>((r) => client.socket.close(() => r()));
  });

  it('binds an ephemeral port and reports it', () => {
    expect(node.layer.ports.udp).toBeGreaterThan(0);
    expect(node.layer.ports.tcp).toBeUndefined();
    expect(node.layer.localEndpoint('UDP')).toEqual({ address: '127.0.0.1', port: node.layer.ports.udp });
  });

  it('requests 4 MiB socket buffers (the kernel may grant less)', () => {
    const sizes = node.layer.udpBufferSizes!;
    expect(sizes.recv).toBeGreaterThan(0);
    expect(sizes.send).toBeGreaterThan(0);
  });

  it('delivers one datagram as one message with its source, and a response goes back (rport)', async () => {
    const req = sipRequest('OPTIONS');
    await sendDatagram(client.socket, req, node.layer.ports.udp!);
    await node.until(() => node.messages.length === 1);
    const { text, source } = node.messages[0];
    expect(text).toBe(req);
    expect(source).toEqual({ transport: 'UDP', address: '127.0.0.1', port: client.port, local: { address: '127.0.0.1', port: node.layer.ports.udp } });
    expect(source.connectionId).toBeUndefined();

    const target = responseTarget({ transport: 'UDP', host: '10.9.9.9', port: 5060, rport: null }, source)!;
    const result = await node.layer.send(target, Buffer.from('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n'));
    expect(result.transport).toBe('UDP');
    expect((await client.next()).toString()).toBe('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(node.layer.metrics.messagesIn).toBe(1);
    expect(node.layer.metrics.messagesOut).toBe(1);
  });

  it('drops CRLF keep-alive datagrams without delivering them', async () => {
    await sendDatagram(client.socket, '\r\n\r\n', node.layer.ports.udp!);
    await sendDatagram(client.socket, '\r\n', node.layer.ports.udp!);
    const req = sipRequest('OPTIONS');
    await sendDatagram(client.socket, req, node.layer.ports.udp!);
    await node.until(() => node.messages.length === 1);
    // Datagrams from one socket over loopback arrive in order: both keep-alives were seen before the request.
    expect(node.messages.map((m) => m.text)).toEqual([req]);
    expect(node.layer.metrics.keepAlivePongs).toBe(2);
  });

  it('strips CRLFs in front of a request (RFC 3261 §7.5)', async () => {
    const req = sipRequest('OPTIONS');
    await sendDatagram(client.socket, `\r\n${req}`, node.layer.ports.udp!);
    await node.until(() => node.messages.length === 1);
    expect(node.messages[0].text).toBe(req);
  });

  it('answers a STUN binding request with the mapped address (RFC 5626 §4.4.2)', async () => {
    const req = Buffer.alloc(20);
    req.writeUInt16BE(0x0001, 0);
    req.writeUInt32BE(0x2112a442, 4);
    req.fill(9, 8);
    await sendDatagram(client.socket, req, node.layer.ports.udp!);
    const res = await client.next();
    expect(res.readUInt16BE(0)).toBe(0x0101);
    expect(res.readUInt16BE(26) ^ 0x2112).toBe(client.port);
    expect(node.messages).toEqual([]);
    expect(node.layer.metrics.stunBindings).toBe(1);
  });

  it('drops and reports a datagram over maxMessageSize', async () => {
    await node.layer.close();
    node = new TestNode({ tcp: false, maxMessageSize: 500 });
    await node.layer.start();
    await sendDatagram(client.socket, sipRequest('MESSAGE', 'x'.repeat(600)), node.layer.ports.udp!);
    const small = sipRequest('OPTIONS');
    await sendDatagram(client.socket, small, node.layer.ports.udp!);
    await node.until(() => node.messages.length === 1);
    expect(node.drops.map((d) => d.reason)).toEqual(['oversize']);
    expect(node.drops[0].source.port).toBe(client.port);
    expect(node.layer.metrics.drops.oversize).toBe(1);
    expect(node.messages[0].text).toBe(small);
  });

  it('survives a handler that throws and counts it', async () => {
    await node.layer.close();
    let calls = 0;
    node = new TestNode({
      tcp: false,
      onMessage: () => {
        calls++;
        if (calls === 1) throw new Error('handler bug');
      },
    });
    await node.layer.start();
    await sendDatagram(client.socket, sipRequest('OPTIONS'), node.layer.ports.udp!);
    await sendDatagram(client.socket, sipRequest('OPTIONS'), node.layer.ports.udp!);
    await node.until(() => node.messages.length === 2);
    expect(node.layer.metrics.handlerErrors).toBe(1);
    expect(node.errors.map((e) => e.message)).toEqual(['handler bug']);
  });

  it('talks to another layer', async () => {
    const peer = new TestNode({ tcp: false });
    await peer.layer.start();
    try {
      const req = sipRequest('MESSAGE', 'hello');
      await node.layer.send({ transport: 'UDP', address: '127.0.0.1', port: peer.layer.ports.udp! }, Buffer.from(req));
      await peer.until(() => peer.messages.length === 1);
      expect(peer.messages[0].text).toBe(req);
      expect(peer.messages[0].source.port).toBe(node.layer.ports.udp);
    } finally {
      await peer.layer.close();
    }
  });

  it('sends and receives over a separate IPv6 socket', async () => {
    const v6 = new TestNode({ tcp: false, udp6: { host: '::1', port: 0 } });
    const peer = new TestNode({ tcp: false, udp: { host: '::1', port: 0 } });
    try {
      await v6.layer.start();
      await peer.layer.start();
      expect(v6.layer.ports.udp6).toBeGreaterThan(0);
      const req = sipRequest('OPTIONS');
      await peer.layer.send({ transport: 'UDP', address: '::1', port: v6.layer.ports.udp6! }, Buffer.from(req));
      await v6.until(() => v6.messages.length === 1);
      expect(v6.messages[0].source).toMatchObject({ transport: 'UDP', address: '::1', port: peer.layer.ports.udp });
      // The answer leaves from the IPv6 socket, chosen by the target's address family.
      const res = await v6.layer.send({ transport: 'UDP', address: '::1', port: peer.layer.ports.udp! }, Buffer.from('SIP/2.0 200 OK\r\n\r\n'));
      expect(res.local.port).toBe(v6.layer.ports.udp6);
      await peer.until(() => peer.messages.length === 1);
    } finally {
      await v6.layer.close();
      await peer.layer.close();
    }
  });

  it('rejects a send to an IPv6 address when no IPv6 socket exists', async () => {
    await expect(node.layer.send({ transport: 'UDP', address: '::1', port: 5060 }, Buffer.from('x'))).rejects.toMatchObject({
      code: 'ERR_SIP_TRANSPORT_NO_LISTENER',
    });
    expect(node.layer.metrics.sendErrors).toBe(1);
  });

  it('rejects a datagram larger than UDP can carry', async () => {
    const err = await node.layer.send({ transport: 'UDP', address: '127.0.0.1', port: client.port }, Buffer.alloc(70_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe('ERR_SIP_TRANSPORT_DATAGRAM_TOO_LARGE');
  });

  it.each([
    ['port 0', 0],
    ['port 65536', 65536],
    ['fractional port', 50.5],
  ])('rejects a target with %s instead of throwing', async (_name, port) => {
    for (const transport of ['UDP', 'TCP'] as const) {
      await expect(node.layer.send({ transport, address: '127.0.0.1', port }, Buffer.from('x'))).rejects.toMatchObject({
        code: 'ERR_SIP_TRANSPORT_BAD_TARGET',
      });
    }
  });

  it('rejects sends after close()', async () => {
    await node.layer.close();
    await expect(node.layer.send({ transport: 'UDP', address: '127.0.0.1', port: client.port }, Buffer.from('x'))).rejects.toMatchObject({
      code: 'ERR_SIP_TRANSPORT_NOT_RUNNING',
    });
  });

  it('refuses to start twice', async () => {
    await expect(node.layer.start()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { createServer, type Socket } from 'node:net';
import { responseTarget, TransportError } from '../../../src/sip/transport';
import { VirtualClock } from '../../../src/util';
import { testCertificate, type TestCertificate } from '../../helpers/tls-cert';
import { TestNode, sipRequest } from './harness';

describe('SipTransportLayer over TLS', () => {
  let cert: TestCertificate;
  const nodes: TestNode[] = [];

  beforeAll(async () => {
    cert = await testCertificate();
  });

  async function startNode(options: ConstructorParameters<typeof TestNode>[0] = {}): Promise<TestNode> {
    const n = new TestNode({ udp: false, tcp: false, ...options });
    nodes.push(n);
    await n.layer.start();
    return n;
  }

  function serverNode(): Promise<TestNode> {
    return startNode({ tls: { port: 0, cert: Buffer.from(cert.cert), key: cert.key } });
  }

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.layer.close()));
  });

  it('carries a request and its response over one verified TLS connection', async () => {
    const server = await serverNode();
    const client = await startNode({ tlsClient: { verifyPeer: true, ca: cert.cert } });
    const req = sipRequest('INVITE', 'v=0\r\n');
    const sent = await client.layer.send({ transport: 'TLS', address: '127.0.0.1', port: server.layer.ports.tls! }, Buffer.from(req));
    expect(sent.transport).toBe('TLS');
    await server.until(() => server.messages.length === 1);
    expect(server.messages[0].text).toBe(req);
    const source = server.messages[0].source;
    expect(source.transport).toBe('TLS');
    expect(source.connectionId).toBeDefined();

    const response = 'SIP/2.0 180 Ringing\r\nContent-Length: 0\r\n\r\n';
    const target = responseTarget({ transport: 'TLS', host: '127.0.0.1' }, source)!;
    expect(target.port).toBe(5061);
    await server.layer.send(target, Buffer.from(response));
    await client.until(() => client.messages.length === 1);
    expect(client.messages[0].text).toBe(response);
    expect(client.messages[0].source.connectionId).toBe(sent.connectionId);
    expect(server.layer.metrics.connectionsOpened).toBe(1);
  });

  it('verifies against the server name (SNI) when one is given', async () => {
    const server = await serverNode();
    const client = await startNode({ tlsClient: { ca: cert.cert } });
    await client.layer.send({ transport: 'TLS', address: '127.0.0.1', port: server.layer.ports.tls!, serverName: 'localhost' }, Buffer.from(sipRequest('OPTIONS')));
    await server.until(() => server.messages.length === 1);
  });

  it('rejects a name the certificate does not carry', async () => {
    const server = await serverNode();
    const client = await startNode({ tlsClient: { ca: cert.cert } });
    const err = await client.layer
      .send({ transport: 'TLS', address: '127.0.0.1', port: server.layer.ports.tls!, serverName: 'sip.example.com' }, Buffer.from(sipRequest('OPTIONS')))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(server.messages).toEqual([]);
  });

  it('verifies peers by default and refuses an untrusted self-signed certificate', async () => {
    const server = await serverNode();
    const client = await startNode();
    const err = await client.layer.send({ transport: 'TLS', address: '127.0.0.1', port: server.layer.ports.tls! }, Buffer.from(sipRequest('OPTIONS'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    await server.until(() => server.drops.length === 1);
    expect(server.drops[0].reason).toBe('tls-handshake');
    expect(server.messages).toEqual([]);
  });

  it('accepts a self-signed certificate when verification is turned off', async () => {
    const server = await serverNode();
    const client = await startNode({ tlsClient: { verifyPeer: false } });
    await client.layer.send({ transport: 'TLS', address: '127.0.0.1', port: server.layer.ports.tls! }, Buffer.from(sipRequest('OPTIONS')));
    await server.until(() => server.messages.length === 1);
  });

  it('frames and answers keep-alives inside TLS', async () => {
    const server = await serverNode();
    const socket = tlsConnect({ host: '127.0.0.1', port: server.layer.ports.tls!, ca: cert.cert });
    try {
      let data = '';
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      const pong = new Promise<void>((resolve) =>
        socket.on('data', (d: Buffer) => {
          data += d.toString();
          if (data === '\r\n') resolve();
        }),
      );
      const msgs = [sipRequest('OPTIONS'), sipRequest('MESSAGE', 'body')];
      socket.write(`\r\n\r\n${msgs.join('')}`);
      await pong;
      await server.until(() => server.messages.length === 2);
      expect(server.messages.map((m) => m.text)).toEqual(msgs);
    } finally {
      socket.destroy();
    }
  });

  it('loads the certificate from PEM file paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sip-tls-'));
    try {
      writeFileSync(join(dir, 'cert.pem'), cert.cert);
      writeFileSync(join(dir, 'key.pem'), cert.key);
      const server = await startNode({ tls: { port: 0, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } });
      const client = await startNode({ tlsClient: { ca: join(dir, 'cert.pem') } });
      await client.layer.send({ transport: 'TLS', address: '127.0.0.1', port: server.layer.ports.tls! }, Buffer.from(sipRequest('OPTIONS')));
      await server.until(() => server.messages.length === 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails a send with ETIMEDOUT when the TLS handshake never completes within connectTimeoutMs', async () => {
    // A TCP server that accepts and then says nothing: the handshake hangs until the (virtual) timer fires.
    const silent: Socket[] = [];
    const mute = createServer((s) => silent.push(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    const clock = new VirtualClock();
    const client = await startNode({ clock, connectTimeoutMs: 5000, tlsClient: { verifyPeer: false } });
    try {
      const port = (mute.address() as { port: number }).port;
      const sent = client.layer.send({ transport: 'TLS', address: '127.0.0.1', port }, Buffer.from(sipRequest('OPTIONS')));
      await new Promise<void>((resolve) => (silent.length > 0 ? resolve() : mute.once('connection', () => resolve())));
      clock.advance(5000);
      await expect(sent).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    } finally {
      for (const s of silent) s.destroy();
      await new Promise<void>((r) => mute.close(() => r()));
    }
  });

  it('fails to start with an unreadable key file', async () => {
    const layer = new TestNode({ udp: false, tcp: false, tls: { port: 0, cert: cert.cert, key: '/nonexistent/key.pem' } }).layer;
    await expect(layer.start()).rejects.toMatchObject({ code: 'ENOENT' });
    await layer.close();
  });
});

import { connect } from 'node:net';
import { startTestServer, type TestServer } from '../../helpers/server';

// RFC 3261 §18.3 / §21.4.11: a message over the size limit on a stream is answered 413 and the connection closed.

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ SIP_MAX_MESSAGE_BYTES: '4096' });
});
afterAll(async () => {
  await srv?.stop();
});

it('answers 413 to an oversized request on TCP and closes the connection', async () => {
  const sock = connect(srv.server.sipPorts.tcp!, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const lp = sock.localPort;
  const body = 'x'.repeat(10_000);
  let received = '';
  sock.on('data', (d: Buffer) => (received += d.toString('latin1')));
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  sock.write(
    [
      'MESSAGE sip:1000@127.0.0.1 SIP/2.0',
      `Via: SIP/2.0/TCP 127.0.0.1:${lp};branch=z9hG4bKbig1`,
      'Max-Forwards: 70',
      'From: <sip:a@127.0.0.1>;tag=big',
      'To: <sip:1000@127.0.0.1>',
      'Call-ID: oversize-1@127.0.0.1',
      'CSeq: 1 MESSAGE',
      'Content-Type: text/plain',
      `Content-Length: ${body.length}`,
      '',
      body,
    ].join('\r\n'),
  );
  await closed;
  expect(received).toMatch(/^SIP\/2\.0 413 /);
  expect(received).toMatch(/\r\nCall-ID: oversize-1@127\.0\.0\.1\r\n/);
});

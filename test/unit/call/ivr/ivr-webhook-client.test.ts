import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpIvrWebhookClient, type IvrWebhookRequest } from '../../../../src/call/ivr';

const BODY: IvrWebhookRequest = { callId: 'c1', menu: 'm', digits: '42', from: null, to: '+1555', path: ['m'] };

describe('HttpIvrWebhookClient', () => {
  let server: Server;
  let base: string;
  let handler: (path: string, res: ServerResponse) => void;
  const hanging: ServerResponse[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => handler(req.url ?? '/', res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('returns the parsed JSON answer', async () => {
    handler = (_p, res) => res.end(JSON.stringify({ action: { type: 'ai' } }));
    await expect(new HttpIvrWebhookClient().post(`${base}/ok`, BODY)).resolves.toEqual({ action: { type: 'ai' } });
  });

  it.each([
    ['an HTTP error status', (res: ServerResponse) => {
      res.statusCode = 503;
      res.end('{}');
    }, 'IVR_WEBHOOK_STATUS'],
    ['a redirect', (res: ServerResponse) => {
      res.writeHead(302, { location: 'http://169.254.169.254/' });
      res.end();
    }, 'IVR_WEBHOOK_NETWORK'],
    ['a body that is not JSON', (res: ServerResponse) => res.end('<html>'), 'IVR_WEBHOOK_BODY'],
    ['a body over the limit', (res: ServerResponse) => res.end(JSON.stringify({ pad: 'x'.repeat(5000) })), 'IVR_WEBHOOK_BODY'],
  ])('rejects %s', async (_name, reply, code) => {
    handler = (_p, res) => reply(res);
    await expect(new HttpIvrWebhookClient({ maxBodyBytes: 1024 }).post(`${base}/x`, BODY)).rejects.toMatchObject({ code });
  });

  it('gives up on a webhook that never answers', async () => {
    handler = (_p, res) => hanging.push(res);
    await expect(new HttpIvrWebhookClient({ timeoutMs: 200 }).post(`${base}/slow`, BODY)).rejects.toMatchObject({ code: 'IVR_WEBHOOK_TIMEOUT' });
  });

  it('reports an unreachable host as a network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(new HttpIvrWebhookClient().post(`http://127.0.0.1:${port}/`, BODY)).rejects.toMatchObject({ code: 'IVR_WEBHOOK_NETWORK' });
  });
});

import { createRepositories, SecretCipher, type Repositories } from '../../../src/store';
import { startTestServer, type TestServer } from '../../helpers/server';
import { startSipStack, type SipStack } from './sip-stack';

// Inbound MESSAGE goes through the inbound policy of INVITEs (issue 7), in the running server on the real
// PostgreSQL with OPEN_INBOUND=false. The sender is a real SIP stack on 127.0.0.1: refused with 403 while no trunk
// owns that address, stored with the trunk once a trunk's allowed CIDRs hold it, and, when only a trunk with
// credentials exists, challenged with 407 and stored as that trunk's after the retry proves its password.

const DID = '5550177';
const TRUNK_SECRET_KEY = 'sms-policy-test-key-0123456789abcdef01234';

let srv: TestServer;
let repos: Repositories;
let peer: SipStack;

beforeAll(async () => {
  srv = await startTestServer({
    SIP_TRANSPORTS: 'udp',
    OPEN_INBOUND: 'false',
    SIP_DOMAIN: 'voice.test',
    TRUNK_OPTIONS_INTERVAL_S: '0',
    TRUNK_SECRET_KEY,
  });
  repos = createRepositories(srv.server.db, { secretCipher: SecretCipher.forTrunks(TRUNK_SECRET_KEY).cipher });
  peer = await startSipStack();
}, 60_000);

afterAll(async () => {
  await peer?.close();
  await srv?.stop();
});

function send(from: string, text: string, credentials?: { username: string; password: string }): Promise<number> {
  return peer.ua
    .request('MESSAGE', `sip:${DID}@${srv.udpTarget}`, {
      from: `<sip:${from}@127.0.0.1>`,
      body: Buffer.from(text),
      contentType: 'text/plain;charset=UTF-8',
      credentials,
    })
    .then((res) => res.status);
}

async function stored(from: string): Promise<{ body: string; trunk_id: string | null; status: string }[]> {
  const res = await srv.server.db.query<{ body: string; trunk_id: string | null; status: string }>(
    "SELECT body, trunk_id, status FROM sms_messages WHERE direction = 'inbound' AND from_number = $1 ORDER BY created_at",
    [from],
  );
  return res.rows;
}

it('refuses a MESSAGE from a source no trunk owns with 403 and stores nothing', async () => {
  const before = srv.server.trunks.inboundStats();
  expect(await send('+15557000001', 'from nowhere')).toBe(403);
  expect(await stored('+15557000001')).toEqual([]);
  expect(srv.server.trunks.inboundStats().refused - before.refused).toBe(1);
}, 30_000);

it('refuses a delivery receipt from an unknown source too', async () => {
  const res = await peer.ua.request('MESSAGE', `sip:${DID}@${srv.udpTarget}`, {
    from: '<sip:+15557000009@127.0.0.1>',
    body: Buffer.from('<imdn><message-id>x</message-id></imdn>'),
    contentType: 'message/imdn+xml',
  });
  expect(res.status).toBe(403);
}, 30_000);

it('stores a MESSAGE from a trunk’s allowed addresses with that trunk', async () => {
  const local = await repos.trunks.create({ name: 'sms-local', proxyAddress: '192.0.2.41', supportsInbound: true, inboundCidrs: ['127.0.0.0/8'] });
  await srv.server.trunks.reload();
  try {
    expect(await send('+15557000002', 'from the trunk')).toBe(200);
    // RFC 3428 §7 as the handler does it: stored before the 200.
    expect(await stored('+15557000002')).toEqual([{ body: 'from the trunk', trunk_id: local.id, status: 'received' }]);
  } finally {
    await repos.trunks.delete(local.id);
    await srv.server.trunks.reload();
  }
}, 30_000);

describe('a trunk that proves itself by digest (no trunk owns 127.0.0.1)', () => {
  let carrierId: string;
  beforeAll(async () => {
    const carrier = await repos.trunks.create({
      name: 'sms-digest',
      proxyAddress: '192.0.2.42',
      supportsInbound: true,
      inboundCidrs: ['10.9.0.0/16'],
      username: 'smscarrier',
      password: 'sms-c4rrier-pass',
    });
    carrierId = carrier.id;
    await srv.server.trunks.reload();
  });

  it('challenges a MESSAGE without credentials with 407 and stores nothing', async () => {
    const res = await peer.ua.request('MESSAGE', `sip:${DID}@${srv.udpTarget}`, {
      from: '<sip:+15557000003@127.0.0.1>',
      body: Buffer.from('no credentials'),
      contentType: 'text/plain',
    });
    expect(res.status).toBe(407);
    expect(res.getHeader('Proxy-Authenticate')).toMatch(/^Digest .*realm="voice\.test"/);
    expect(await stored('+15557000003')).toEqual([]);
  }, 30_000);

  it('stores the retry with the trunk’s credentials as that trunk’s message', async () => {
    const before = srv.server.trunks.inboundStats();
    expect(await send('+15557000004', 'proved by digest', { username: 'smscarrier', password: 'sms-c4rrier-pass' })).toBe(200);
    expect(await stored('+15557000004')).toEqual([{ body: 'proved by digest', trunk_id: carrierId, status: 'received' }]);
    const after = srv.server.trunks.inboundStats();
    expect(after.challenged - before.challenged).toBe(1);
    expect(after.authenticated - before.authenticated).toBe(1);
  }, 30_000);

  it('refuses the retry with a wrong password with 403 and stores nothing', async () => {
    expect(await send('+15557000005', 'wrong password', { username: 'smscarrier', password: 'not-it' })).toBe(403);
    expect(await stored('+15557000005')).toEqual([]);
  }, 30_000);
});

describe('the SMS gateway, which is no trunk', () => {
  let gw: TestServer;
  afterAll(async () => {
    await gw?.stop();
  });

  it('takes MESSAGEs from the gateway’s address with OPEN_INBOUND=false', async () => {
    gw = await startTestServer({ SIP_TRANSPORTS: 'udp', OPEN_INBOUND: 'false', SMS_GATEWAY_URI: 'sip:127.0.0.1:5999', TRUNK_OPTIONS_INTERVAL_S: '0' });
    const res = await peer.ua.request('MESSAGE', `sip:${DID}@${gw.udpTarget}`, {
      from: '<sip:+15557000006@127.0.0.1>',
      body: Buffer.from('from the gateway'),
      contentType: 'text/plain',
    });
    expect(res.status).toBe(200);
    const rows = await gw.server.db.query<{ body: string; trunk_id: string | null }>("SELECT body, trunk_id FROM sms_messages WHERE from_number = '+15557000006'");
    expect(rows.rows).toEqual([{ body: 'from the gateway', trunk_id: null }]);
  }, 60_000);
});

import { DigestClient } from '../../../src/sip/auth';
import { parseMessage, type SipResponse } from '../../../src/sip/message';
import { SipTransportLayer } from '../../../src/sip/transport';
import { SipUserAgent, type ClientInviteSession, type InviteFailure } from '../../../src/sip/ua';
import { createRepositories, SecretCipher, type Repositories, type TrunkRecord } from '../../../src/store';
import { systemClock } from '../../../src/util';
import { isResponse, RawSipSocket, toTagOf, type RawRequestOptions } from '../../helpers/raw-sip';
import { startTestServer, type TestServer } from '../../helpers/server';
import { runSipp, scenarioPath } from '../../helpers/sipp';
import { endedCdr, injection, removeScratch, until } from '../call/call-kit';

// Inbound identification by digest (issue 7) in the running server on the real PostgreSQL: SIPp calls from
// 127.0.0.1, which none of the trunk's allowed CIDRs (10.9.0.0/16) holds, with OPEN_INBOUND=false. The server
// challenges with 407; the retry with the trunk's credentials is that trunk's call (CDR trunk_id), a wrong password
// or an unknown user gets 403. A trunk whose addresses match is never challenged.

const DID = '5550100';
/** The password reaches the server encrypted in the trunks table, as the API stores it (TRUNK_SECRET_KEY). */
const TRUNK_SECRET_KEY = 'trunk-auth-test-key-0123456789abcdef0123';
const OFFER = Buffer.from(['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n'));

let srv: TestServer;
let repos: Repositories;
let carrier: TrunkRecord;
let transport: SipTransportLayer;
let ua: SipUserAgent;

beforeAll(async () => {
  srv = await startTestServer({
    SIP_TRANSPORTS: 'udp',
    OPEN_INBOUND: 'false',
    DEFAULT_ROUTE: 'answer',
    SIP_TEST_NUMBER: '1000',
    SIP_DOMAIN: 'voice.test',
    TRUNK_OPTIONS_INTERVAL_S: '0',
    // SIPp answers only the first challenge, and only MD5: offer MD5 first. Our own UA picks SHA-256 (RFC 8760).
    REGISTER_DIGEST_ALGORITHMS: 'MD5,SHA-256',
    TRUNK_SECRET_KEY,
  });
  repos = createRepositories(srv.server.db, { secretCipher: SecretCipher.forTrunks(TRUNK_SECRET_KEY).cipher });
  // The credentials sipp/trunk-auth-uac.xml answers with.
  carrier = await repos.trunks.create({
    name: 'carrier-digest',
    proxyAddress: '192.0.2.30',
    supportsInbound: true,
    inboundCidrs: ['10.9.0.0/16'],
    username: 'carrier',
    password: 'c4rrier-pass',
  });
  await srv.server.trunks.reload();
  const holder: { ua?: SipUserAgent } = {};
  transport = new SipTransportLayer({ host: '127.0.0.1', udp: { port: 0 }, tcp: false, onMessage: (data, source) => holder.ua?.receive(data, source) });
  await transport.start();
  ua = new SipUserAgent({ clock: systemClock, send: (t, d) => transport.send(t, d), publicHost: '127.0.0.1', ports: { UDP: transport.ports.udp! } });
  holder.ua = ua;
}, 60_000);

afterAll(async () => {
  await ua?.close();
  await transport?.close();
  await srv?.stop();
  removeScratch();
});

/**
 * One call of SIPp's UAC from 127.0.0.1, which must succeed with no unexpected message; `credentials` (-au / -ap) for
 * the scenario that takes them from the command line.
 */
async function sipp(name: string, caller: string, credentials?: { username: string; password: string }): Promise<void> {
  const auth = credentials ? ['-au', credentials.username, '-ap', credentials.password] : [];
  const r = await runSipp({
    scenario: scenarioPath(name),
    target: srv.udpTarget,
    calls: 1,
    service: DID,
    timeoutS: 30,
    extra: [...injection([[caller]]), ...auth],
  });
  expect(r.errors).toBe('');
  expect(r.successful).toBe(1);
}

async function cdrCount(from: string): Promise<number> {
  const res = await srv.server.db.query('SELECT count(*)::int AS n FROM calls WHERE from_number = $1', [from]);
  return Number(res.rows[0]['n']);
}

it('challenges an unknown source with 407 and takes the retry with the trunk’s credentials as that trunk’s call', async () => {
  const before = srv.server.trunks.inboundStats();
  await sipp('trunk-auth-uac', '+15551230001');
  const row = await endedCdr(srv.server.db, 'from_number = $1', ['+15551230001']);
  expect(row).toMatchObject({ direction: 'inbound', to_number: DID, status: 'completed', trunk_id: carrier.id, hangup_side: 'caller' });
  // The challenged INVITE made no call of its own: one CDR for the Call-ID.
  expect(await cdrCount('+15551230001')).toBe(1);
  const after = srv.server.trunks.inboundStats();
  expect(after.challenged - before.challenged).toBe(1);
  expect(after.authenticated - before.authenticated).toBe(1);
  expect(after.fromTrunk - before.fromTrunk).toBe(1);
  expect(after.refused - before.refused).toBe(0);
}, 60_000);

it('refuses the retry with 403 when the password is wrong, counted and recorded', async () => {
  const before = srv.server.trunks.inboundStats();
  await sipp('trunk-auth-uac-forbidden', '+15551230002', { username: 'carrier', password: 'not-the-password' });
  const row = await endedCdr(srv.server.db, 'from_number = $1', ['+15551230002']);
  expect(row).toMatchObject({ status: 'rejected', sip_code: 403, hangup_cause: 'auth-failed', trunk_id: null });
  const after = srv.server.trunks.inboundStats();
  expect(after.challenged - before.challenged).toBe(1);
  expect(after.refused - before.refused).toBe(1);
  expect(after.authFailed - before.authFailed).toBe(1);
  expect(after.authenticated - before.authenticated).toBe(0);
}, 60_000);

it('refuses an unknown username with 403 like a wrong password', async () => {
  const before = srv.server.trunks.inboundStats();
  await sipp('trunk-auth-uac-forbidden', '+15551230003', { username: 'nobody', password: 'c4rrier-pass' });
  expect(await endedCdr(srv.server.db, 'from_number = $1', ['+15551230003'])).toMatchObject({ status: 'rejected', sip_code: 403 });
  expect(srv.server.trunks.inboundStats().authFailed - before.authFailed).toBe(1);
}, 60_000);

it('verifies SHA-256 credentials (RFC 8760) from a client that picks the strongest challenge', async () => {
  const before = srv.server.trunks.inboundStats();
  const session: ClientInviteSession = ua.invite({
    to: `sip:${DID}@${srv.udpTarget}`,
    from: { uri: 'sip:+15551230004@127.0.0.1' },
    body: OFFER,
    contentType: 'application/sdp',
    credentials: { username: 'carrier', password: 'c4rrier-pass' },
  });
  const status = await new Promise<number>((resolve) => {
    session.once('answered', (res) => resolve(res.status));
    session.once('failed', (f: InviteFailure) => resolve(f.status));
  });
  expect(status).toBe(200);
  // The retry carried Proxy-Authorization with algorithm=SHA-256.
  expect(session.request?.getHeader('Proxy-Authorization')).toMatch(/algorithm=SHA-256/);
  const active = await until(() => srv.server.calls.list().find((c) => c.from === '+15551230004'), 'the authenticated call');
  session.hangup();
  const row = await endedCdr(srv.server.db, 'call_id = $1', [active.callId]);
  expect(row).toMatchObject({ status: 'completed', trunk_id: carrier.id });
  expect(srv.server.trunks.inboundStats().authenticated - before.authenticated).toBe(1);
}, 60_000);

it('does not challenge a trunk whose allowed addresses match the source', async () => {
  const local = await repos.trunks.create({ name: 'carrier-local', proxyAddress: '192.0.2.31', supportsInbound: true, inboundCidrs: ['127.0.0.0/8'], priority: 10 });
  await srv.server.trunks.reload();
  try {
    const before = srv.server.trunks.inboundStats();
    // SIPp's built-in UAC knows no 407: any challenge would fail the call.
    const r = await runSipp({ scenario: 'uac', target: srv.udpTarget, calls: 1, service: DID, timeoutS: 30 });
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
    const after = srv.server.trunks.inboundStats();
    expect(after.challenged).toBe(before.challenged);
    expect(after.fromTrunk - before.fromTrunk).toBe(1);
    const row = await endedCdr(srv.server.db, 'trunk_id = $1', [local.id]);
    expect(row).toMatchObject({ status: 'completed', to_number: DID });
  } finally {
    await repos.trunks.delete(local.id);
    await srv.server.trunks.reload();
  }
}, 60_000);

it('does not challenge calls the inbound policy does not govern (the test number)', async () => {
  const before = srv.server.trunks.inboundStats();
  const r = await runSipp({ scenario: 'uac', target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 30 });
  expect(r.errors).toBe('');
  expect(r.successful).toBe(1);
  const after = srv.server.trunks.inboundStats();
  expect(after.challenged).toBe(before.challenged);
  expect(after.openAccepted - before.openAccepted).toBe(1);
}, 60_000);

it('keeps the 407 the final answer of its INVITE transaction: a late CANCEL brings no 487, the ACK ends it, the retry is a new call', async () => {
  const sock = await RawSipSocket.open();
  try {
    const target = srv.udpTarget;
    const uri = `sip:${DID}@${target}`;
    const callId = `digest-cancel-${process.pid}`;
    const caller = { user: '+15551230005', tag: 'dc1', callId, to: DID };
    const send = (method: string, cseq: number, opts: RawRequestOptions): void => sock.send(sock.request(target, caller, method, cseq, opts), target);
    const response = (status: number, method: string): string | undefined => sock.inbox.find((m) => isResponse(m, status, method));
    const sdp = OFFER.toString('latin1');

    send('INVITE', 1, { branch: 'dc1', body: sdp });
    const challenge = await until(() => response(407, 'INVITE'), 'the 407');
    // RFC 3261 §9.2: the INVITE has its final response; a CANCEL now has no effect on it.
    send('CANCEL', 1, { branch: 'dc1' });
    // The UA core answers 481 once the INVITE has its final response (RFC 3261 §9.2 would have 200 while the
    // transaction lingers); either way the CANCEL changes nothing: no 487 follows.
    await until(() => response(200, 'CANCEL') ?? response(481, 'CANCEL'), 'the answer to CANCEL');
    // RFC 3261 §17.1.1.3: the ACK of the 407 has the INVITE's branch and the 407's To tag.
    send('ACK', 1, { branch: 'dc1', toTag: toTagOf(challenge) });
    // The retry: a new transaction (new branch, CSeq 2, same Call-ID and From tag) with the trunk's credentials.
    const parsed = parseMessage(Buffer.from(challenge, 'latin1'));
    if (!parsed.ok) throw new Error('unparseable 407');
    const verdict = new DigestClient({ username: 'carrier', password: 'c4rrier-pass' }).handleChallenge(parsed.msg as SipResponse, { method: 'INVITE', uri });
    if (!verdict.retry) throw new Error('no retry');
    send('INVITE', 2, { branch: 'dc2', extra: verdict.headers.map(([n, v]) => `${n}: ${v}`), body: sdp });
    const ok = await until(() => response(200, 'INVITE'), 'the 200 to the retry');
    expect(sock.inbox.some((m) => m.startsWith('SIP/2.0 487 '))).toBe(false);
    const active = await until(() => srv.server.calls.list().find((c) => c.from === '+15551230005'), 'the authenticated call');
    const toTag = toTagOf(ok);
    send('ACK', 2, { branch: 'dc3', toTag });
    send('BYE', 3, { branch: 'dc4', toTag });
    await until(() => response(200, 'BYE'), 'the 200 to BYE');
    const row = await endedCdr(srv.server.db, 'call_id = $1', [active.callId]);
    expect(row).toMatchObject({ call_id: callId, status: 'completed', trunk_id: carrier.id, hangup_side: 'caller' });
    expect(await cdrCount('+15551230005')).toBe(1);
  } finally {
    await sock.close();
  }
}, 60_000);

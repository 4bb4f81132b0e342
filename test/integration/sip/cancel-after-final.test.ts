import { createSocket, type Socket } from 'node:dgram';
import { createRepositories } from '../../../src/store';
import { startTestServer, type TestServer } from '../../helpers/server';
import { endedCdr, until } from '../call/call-kit';

// RFC 3261 §9.2 over real UDP: a CANCEL that reaches us after the INVITE's final response still matches the INVITE
// server transaction (lingering in Accepted after a 2xx, RFC 6026 §7.1, or Completed after a non-2xx), so it gets
// 200, with the To tag of that final response, and changes nothing: no 487, the answered call goes on. A CANCEL that
// matches no transaction gets 481. A raw socket plays the caller, since the CANCEL must come after the final.

let srv: TestServer;
let sock: Socket;
const inbox: string[] = [];

beforeAll(async () => {
  srv = await startTestServer({ DEFAULT_ROUTE: 'answer', SIP_TRANSPORTS: 'udp' });
  sock = createSocket('udp4');
  sock.on('message', (m) => inbox.push(m.toString('latin1')));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
});

afterAll(async () => {
  await new Promise<void>((r) => sock.close(() => r()));
  await srv?.stop();
});

beforeEach(() => {
  inbox.length = 0;
});

const port = (): number => Number(srv.udpTarget.split(':')[1]);
const send = (text: string): void => sock.send(Buffer.from(text), port(), '127.0.0.1');
const toTagOf = (msg: string): string | undefined => /\r\nTo: [^\r\n]*;tag=([^\s;>\r\n]+)/i.exec(msg)?.[1];
const isResponse = (m: string, status: number, cseq: string): boolean => m.startsWith(`SIP/2.0 ${status} `) && new RegExp(`\r\nCSeq: *${cseq}\r\n`, 'i').test(m);
const find = (status: number, cseq: string): Promise<string> => until(() => inbox.find((m) => isResponse(m, status, cseq)), `${status} to ${cseq}`);

/** A request of the raw caller `from` (its own Call-ID); `branch` names the transaction (a CANCEL reuses the INVITE's). */
function request(from: string, method: string, cseq: number, branch: string, opts: { toTag?: string; body?: string } = {}): string {
  const me = `127.0.0.1:${sock.address().port}`;
  const body = opts.body ?? '';
  return [
    `${method} sip:1000@${srv.udpTarget} SIP/2.0`,
    `Via: SIP/2.0/UDP ${me};branch=z9hG4bK-${from}-${branch}`,
    'Max-Forwards: 70',
    `From: <sip:${from}@${me}>;tag=raw1`,
    `To: <sip:1000@${srv.udpTarget}>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
    `Call-ID: ${from}@127.0.0.1`,
    `CSeq: ${cseq} ${method}`,
    `Contact: <sip:${from}@${me}>`,
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

it('answers 200 to a CANCEL after the call was answered and ACKed; the call goes on until the caller’s BYE', async () => {
  const from = '+15550910001';
  send(request(from, 'INVITE', 1, 'inv', { body: sdp }));
  const ok = await find(200, '1 INVITE');
  const toTag = toTagOf(ok);
  expect(toTag).toBeDefined();
  send(request(from, 'ACK', 1, 'ack', { toTag }));
  const call = await until(() => srv.server.calls.list().find((c) => c.from === from && c.state === 'answered'), 'the answered call');
  send(request(from, 'CANCEL', 1, 'inv'));
  const cancelOk = await find(200, '1 CANCEL');
  expect(toTagOf(cancelOk)).toBe(toTag);
  // The CANCEL had no effect on the INVITE (§9.2): no 487, and the call is still up.
  send(request(from, 'OPTIONS', 2, 'opt', { toTag }));
  await find(200, '2 OPTIONS');
  expect(inbox.some((m) => m.startsWith('SIP/2.0 487 '))).toBe(false);
  expect(srv.server.calls.call(call.callId)?.state).toBe('answered');
  send(request(from, 'BYE', 3, 'bye', { toTag }));
  await find(200, '3 BYE');
  const row = await endedCdr(srv.server.db, 'from_number = $1', [from]);
  expect(row).toMatchObject({ status: 'completed', sip_code: 200, hangup_side: 'caller' });
}, 60_000);

it('answers 200 to a CANCEL after a 603, with the 603’s To tag, and sends no 487', async () => {
  const from = '+15550916666';
  await createRepositories(srv.server.db).blockedNumbers.block(from, { reason: 'test' });
  send(request(from, 'INVITE', 1, 'inv', { body: sdp }));
  const declined = await find(603, '1 INVITE');
  send(request(from, 'CANCEL', 1, 'inv'));
  const cancelOk = await find(200, '1 CANCEL');
  expect(toTagOf(cancelOk)).toBe(toTagOf(declined));
  // §17.1.1.3: the ACK for the 603 reuses the INVITE's branch; it ends our retransmissions.
  send(request(from, 'ACK', 1, 'inv', { toTag: toTagOf(declined) }));
  const row = await endedCdr(srv.server.db, 'from_number = $1', [from]);
  expect(row).toMatchObject({ status: 'rejected', sip_code: 603, hangup_cause: 'blocked' });
  expect(inbox.some((m) => m.startsWith('SIP/2.0 487 '))).toBe(false);
}, 60_000);

it('answers 481 to a CANCEL that matches no INVITE transaction', async () => {
  const from = '+15550910003';
  send(request(from, 'CANCEL', 1, 'never-sent'));
  await find(481, '1 CANCEL');
});

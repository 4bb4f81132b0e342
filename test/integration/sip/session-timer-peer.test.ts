import { createSocket, type Socket } from 'node:dgram';
import { startTestServer, type TestServer } from '../../helpers/server';
import { endedCdr, until } from '../call/call-kit';

// RFC 4028 §9 over real UDP: the party's refreshes may change the session interval and the refresher, and our 2xx
// takes up what they ask (422 below our Min-SE). A raw socket plays the caller; the server runs with
// SESSION_MIN_SE=4 so that intervals of seconds are accepted. The socket answers the server's refresh UPDATEs at
// once, with the values they carry.

let srv: TestServer;
let sock: Socket;
const inbox: string[] = [];

const port = (): number => Number(srv.udpTarget.split(':')[1]);
const send = (text: string): void => sock.send(Buffer.from(text), port(), '127.0.0.1');
const header = (msg: string, name: string): string | undefined => new RegExp(`\r\n${name}: *([^\r\n]*)`, 'i').exec(msg)?.[1];
const toTagOf = (msg: string): string | undefined => /\r\nTo: [^\r\n]*;tag=([^\s;>\r\n]+)/i.exec(msg)?.[1];
const isResponse = (m: string, status: number, cseq: string): boolean => m.startsWith(`SIP/2.0 ${status} `) && new RegExp(`\r\nCSeq: *${cseq}\r\n`, 'i').test(m);
const find = (status: number, cseq: string): Promise<string> => until(() => inbox.find((m) => isResponse(m, status, cseq)), `${status} to ${cseq}`);
const requestsFromServer = (method: string): string[] => inbox.filter((m) => m.startsWith(`${method} `));

/** RFC 3261 §8.2.6: a 200 to a request the server sent us, echoing Via, From, To, Call-ID and CSeq. */
function answer(req: string, extra: string[]): string {
  const lines = req.split('\r\n');
  const copied = lines.filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
  return ['SIP/2.0 200 OK', ...copied, ...extra, 'Content-Length: 0', '', ''].join('\r\n');
}

beforeAll(async () => {
  srv = await startTestServer({ DEFAULT_ROUTE: 'answer', SIP_TRANSPORTS: 'udp', SESSION_MIN_SE: '4' });
  sock = createSocket('udp4');
  sock.on('message', (m) => {
    const text = m.toString('latin1');
    inbox.push(text);
    // The server's refresh: accept it at once with its own Session-Expires (we, its UAS, leave it refreshing).
    if (text.startsWith('UPDATE ')) {
      const se = header(text, 'Session-Expires');
      sock.send(Buffer.from(answer(text, se ? [`Session-Expires: ${se}`, 'Require: timer'] : [])), port(), '127.0.0.1');
    }
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
});

afterAll(async () => {
  await new Promise<void>((r) => sock.close(() => r()));
  await srv?.stop();
});

function request(from: string, method: string, cseq: number, branch: string, opts: { toTag?: string; extra?: string[]; body?: string } = {}): string {
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
    ...(opts.extra ?? []),
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

it('takes up the interval and refresher of the party’s refreshes, refuses one below Min-SE, then refreshes itself', async () => {
  const from = 'st-peer';
  const timer = ['Supported: timer', 'Allow: INVITE, ACK, BYE, CANCEL, UPDATE', 'Min-SE: 4'];
  send(request(from, 'INVITE', 1, 'inv', { extra: [...timer, 'Session-Expires: 30;refresher=uac'], body: sdp }));
  const ok = await find(200, '1 INVITE').catch((e: Error) => {
    throw new Error(`${e.message}\n${inbox.join('\n----\n')}`);
  });
  expect(header(ok, 'Session-Expires')).toBe('30;refresher=uac');
  const toTag = toTagOf(ok);
  send(request(from, 'ACK', 1, 'ack', { toTag }));

  // A refresh asking a longer interval: the 2xx takes it up (it was 30 s).
  send(request(from, 'UPDATE', 2, 'upd2', { toTag, extra: [...timer, 'Session-Expires: 60;refresher=uac'] }));
  const longer = await find(200, '2 UPDATE');
  expect(header(longer, 'Session-Expires')).toBe('60;refresher=uac');
  expect(header(longer, 'Require')).toBe('timer');

  // Below our Min-SE (4): 422 with Min-SE (§9).
  send(request(from, 'UPDATE', 3, 'upd3', { toTag, extra: ['Supported: timer', 'Session-Expires: 2;refresher=uac'] }));
  const small = await find(422, '3 UPDATE');
  expect(header(small, 'Min-SE')).toBe('4');

  // A refresh handing us the refresher role with a 6 s interval: the server refreshes (UPDATE, refresher=uac: itself
  // as the UAC of its refresh, §7.4) about half an interval after its 2xx.
  expect(requestsFromServer('UPDATE')).toHaveLength(0);
  send(request(from, 'UPDATE', 4, 'upd4', { toTag, extra: [...timer, 'Session-Expires: 6;refresher=uas'] }));
  const handover = await find(200, '4 UPDATE');
  expect(header(handover, 'Session-Expires')).toBe('6;refresher=uas');
  const refresh = await until(() => requestsFromServer('UPDATE')[0], 'the server’s refresh UPDATE');
  expect(header(refresh, 'Session-Expires')).toBe('6;refresher=uac');
  // Our 200s keep it refreshing: a second refresh comes, and no BYE.
  await until(() => requestsFromServer('UPDATE').length >= 2 || undefined, 'a second refresh');
  expect(requestsFromServer('BYE')).toHaveLength(0);

  send(request(from, 'BYE', 5, 'bye', { toTag }));
  await find(200, '5 BYE');
  const row = await endedCdr(srv.server.db, 'from_number = $1', [from]);
  expect(row).toMatchObject({ status: 'completed', hangup_side: 'caller', hangup_cause: 'normal-clearing' });
}, 60_000);

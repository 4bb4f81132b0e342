import { createSocket, type Socket } from 'node:dgram';
import { startTestServer, type TestServer } from '../../helpers/server';
import { endedCdr, until } from './call-kit';

// RFC 4028 §10 end to end over UDP: only a 2xx to a session refresh refreshes the session. A raw-socket caller asks
// for an 8 s session interval with itself as the refresher (SESSION_MIN_SE=4 lets such short intervals through), then
// "refreshes" about once a second with requests we must refuse (re-INVITE and UPDATE offering G.729 only: 488). Each
// comes well within the interval, but none succeeds, so the session still expires: we send BYE and the CDR says
// session-timeout. Were a refused refresh counted, the call would stay up for as long as they keep coming.

let srv: TestServer;
let sock: Socket;
const inbox: string[] = [];

beforeAll(async () => {
  srv = await startTestServer({ DEFAULT_ROUTE: 'answer', SIP_TRANSPORTS: 'udp', SESSION_MIN_SE: '4' });
  sock = createSocket('udp4');
  sock.on('message', (m) => inbox.push(m.toString('latin1')));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
});

afterAll(async () => {
  await new Promise<void>((r) => sock.close(() => r()));
  await srv?.stop();
});

const port = (): number => Number(srv.udpTarget.split(':')[1]);
const send = (text: string): void => sock.send(Buffer.from(text), port(), '127.0.0.1');
const find = (pred: (m: string) => boolean, what: string): Promise<string> => until(() => inbox.find(pred), what);
const PCMU = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
const G729 = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n';
const FROM = 'st-refused';
const SE = ['Supported: timer', 'Session-Expires: 8;refresher=uac'];

function request(method: string, cseq: number, opts: { branch: string; toTag?: string; extra?: string[]; body?: string }): string {
  const me = `127.0.0.1:${sock.address().port}`;
  const body = opts.body ?? '';
  return [
    `${method} sip:1000@${srv.udpTarget} SIP/2.0`,
    `Via: SIP/2.0/UDP ${me};branch=z9hG4bK-${FROM}-${opts.branch}`,
    'Max-Forwards: 70',
    `From: <sip:${FROM}@${me}>;tag=r1`,
    `To: <sip:1000@${srv.udpTarget}>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
    `Call-ID: ${FROM}@127.0.0.1`,
    `CSeq: ${cseq} ${method}`,
    `Contact: <sip:${FROM}@${me}>`,
    ...(opts.extra ?? []),
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** 200 to a request from the server: its Via, From, To, Call-ID and CSeq copied (RFC 3261 §8.2.6.2). */
function okTo(req: string): string {
  const keep = req.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
  return ['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n');
}

describe('session refresh (RFC 4028 §10) against a raw UDP caller', () => {
  it('refused refreshes (488 to re-INVITE and UPDATE) do not keep the session alive: BYE, session-timeout', async () => {
    send(request('INVITE', 1, { branch: 'inv', extra: SE, body: PCMU }));
    const ok = await find((m) => m.startsWith('SIP/2.0 200 ') && /CSeq: 1 INVITE/.test(m), 'the 200 to the INVITE');
    expect(ok).toMatch(/\r\nSession-Expires: 8;refresher=uac\r\n/i);
    const toTag = /\r\nTo: [^\r\n]*;tag=([^\s;>\r\n]+)/i.exec(ok)![1];
    send(request('ACK', 1, { branch: 'ack1', toTag }));
    const isBye = (m: string): boolean => m.startsWith('BYE ');
    let cseq = 1;
    const MAX_REFRESHES = 20;
    // Up to 20 refused refreshes, about one a second: each within the 8 s interval of the one before. Our BYE
    // must come while they are still coming.
    for (let i = 0; i < MAX_REFRESHES && !inbox.some(isBye); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      if (inbox.some(isBye)) break;
      cseq++;
      const method = i % 2 === 0 ? 'INVITE' : 'UPDATE';
      send(request(method, cseq, { branch: `r${cseq}`, toTag, extra: SE, body: G729 }));
      const answer = await find((m) => m.startsWith('SIP/2.0 ') && new RegExp(`CSeq: ${cseq} ${method}`).test(m), `the answer to refresh ${cseq}`);
      // RFC 3261 §17.1.1.3: the ACK for a non-2xx final to an INVITE goes in its transaction (same branch).
      if (method === 'INVITE') send(request('ACK', cseq, { branch: `r${cseq}`, toTag }));
      if (answer.startsWith('SIP/2.0 481 ')) {
        // This refresh crossed our BYE: the dialog was already gone.
        await find(isBye, 'the BYE the refresh crossed');
        break;
      }
      expect(answer).toMatch(/^SIP\/2\.0 488 /);
    }
    const bye = inbox.find(isBye);
    expect(bye).toBeDefined();
    expect(cseq - 1).toBeLessThan(MAX_REFRESHES);
    expect(bye).toMatch(/\r\nReason: [^\r\n]*/i);
    send(okTo(bye!));
    expect(cseq).toBeGreaterThan(2);
    const row = await endedCdr(srv.server.db, 'from_number = $1', [FROM]);
    expect(row).toMatchObject({ status: 'completed', hangup_side: 'system', hangup_cause: 'session-timeout' });
  }, 90_000);
});

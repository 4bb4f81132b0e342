import { PCMU_OFFER as PCMU, RawSipSocket, toTagOf, type RawRequestOptions } from '../../helpers/raw-sip';
import { startTestServer, type TestServer } from '../../helpers/server';
import { endedCdr } from './call-kit';

// RFC 4028 §10 end to end over UDP: only a 2xx to a session refresh refreshes the session. A raw-socket caller asks
// for an 8 s session interval with itself as the refresher (SESSION_MIN_SE=4 lets such short intervals through), then
// "refreshes" about once a second with requests we must refuse (re-INVITE and UPDATE offering G.729 only: 488). Each
// comes well within the interval, but none succeeds, so the session still expires: we send BYE and the CDR says
// session-timeout. Were a refused refresh counted, the call would stay up for as long as they keep coming.

let srv: TestServer;
let sock: RawSipSocket;

beforeAll(async () => {
  srv = await startTestServer({ DEFAULT_ROUTE: 'answer', SIP_TRANSPORTS: 'udp', SESSION_MIN_SE: '4' });
  sock = await RawSipSocket.open();
});

afterAll(async () => {
  await sock?.close();
  await srv?.stop();
});

const G729 = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n';
const FROM = 'st-refused';
const SE = ['Supported: timer', 'Session-Expires: 8;refresher=uac'];
const send = (text: string): void => sock.send(text, srv.udpTarget);
const find = (pred: (m: string) => boolean, what: string): Promise<string> => sock.find(pred, what);
const request = (method: string, cseq: number, opts: RawRequestOptions): string => sock.request(srv.udpTarget, { user: FROM }, method, cseq, opts);

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
    const toTag = toTagOf(ok);
    send(request('ACK', 1, { branch: 'ack1', toTag }));
    const isBye = (m: string): boolean => m.startsWith('BYE ');
    let cseq = 1;
    const MAX_REFRESHES = 20;
    // Up to 20 refused refreshes, about one a second: each within the 8 s interval of the one before. Our BYE
    // must come while they are still coming.
    for (let i = 0; i < MAX_REFRESHES && !sock.inbox.some(isBye); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      if (sock.inbox.some(isBye)) break;
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
    const bye = sock.inbox.find(isBye);
    expect(bye).toBeDefined();
    expect(cseq - 1).toBeLessThan(MAX_REFRESHES);
    expect(bye).toMatch(/\r\nReason: [^\r\n]*/i);
    send(okTo(bye!));
    expect(cseq).toBeGreaterThan(2);
    const row = await endedCdr(srv.server.db, 'from_number = $1', [FROM]);
    expect(row).toMatchObject({ status: 'completed', hangup_side: 'system', hangup_cause: 'session-timeout' });
  }, 90_000);
});

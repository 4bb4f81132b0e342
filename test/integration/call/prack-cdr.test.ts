import { header, PCMU_OFFER as SDP, RawSipSocket, toTagOf, type RawRequestOptions } from '../../helpers/raw-sip';
import { startTestServer, type TestServer } from '../../helpers/server';
import { endedCdr, events, until } from './call-kit';

// The CDR of a call whose 2xx waits for a PRACK (RFC 3262 §3), over real UDP with a raw-socket caller that requires
// 100rel. The server runs with SIP_T1_MS=50, so a reliable provisional nobody PRACKs is given up after 64*T1 = 3.2 s.
// The call is answered when the 2xx leaves, not when the route decided to answer: with no PRACK the CDR reads a
// failed call, 500, prack-timeout; with a late PRACK the answer time is after the PRACK.

let srv: TestServer;
let sock: RawSipSocket;

beforeAll(async () => {
  srv = await startTestServer({ DEFAULT_ROUTE: 'answer', SIP_TRANSPORTS: 'udp', SIP_T1_MS: '50' });
  sock = await RawSipSocket.open();
});

afterAll(async () => {
  await sock?.close();
  await srv?.stop();
});

beforeEach(() => {
  sock.inbox.length = 0;
});

const send = (text: string): void => sock.send(text, srv.udpTarget);
const find = (pred: (m: string) => boolean, what: string): Promise<string> => sock.find(pred, what);
const request = (from: string, method: string, cseq: number, opts: RawRequestOptions): string => sock.request(srv.udpTarget, { user: from }, method, cseq, opts);

describe('CDR of a call whose 2xx waits for a PRACK (RFC 3262 §3)', () => {
  it('no PRACK ever: 500 to the INVITE, no 2xx, and the CDR reads failed / 500 / prack-timeout, never answered', async () => {
    const from = 'noprack';
    send(request(from, 'INVITE', 1, { branch: 'inv', extra: ['Require: 100rel'], body: SDP }));
    const ringing = await find((m) => m.startsWith('SIP/2.0 180 '), 'the reliable 180');
    expect(header(ringing, 'Require')).toBe('100rel');
    // The 180 keeps coming unacknowledged, then the INVITE gets 500 (64*T1).
    const failed = await find((m) => m.startsWith('SIP/2.0 500 ') && /CSeq: 1 INVITE/.test(m), 'the 500 to the INVITE');
    const toTag = toTagOf(failed);
    // RFC 3261 §17.1.1.3: the ACK for a non-2xx final goes in the INVITE transaction (same branch).
    send(request(from, 'ACK', 1, { branch: 'inv', toTag }));
    expect(sock.inbox.filter((m) => m.startsWith('SIP/2.0 180 ')).length).toBeGreaterThan(1);
    expect(sock.inbox.some((m) => m.startsWith('SIP/2.0 200 '))).toBe(false);
    const row = await endedCdr(srv.server.db, 'from_number = $1', [from]);
    expect(row).toMatchObject({ status: 'failed', sip_code: 500, hangup_cause: 'prack-timeout', answered_at: null, billable_s: 0 });
    const timeline = await events(srv.server.db, row['call_id'] as string);
    expect(timeline).not.toContain('answered');
    await until(() => srv.server.ua.sessionCount === 0, 'every session to end');
  }, 60_000);

  it('a late PRACK: the CDR answer time is when the 2xx left (after the PRACK), and the call completes', async () => {
    const from = 'lateprack';
    send(request(from, 'INVITE', 1, { branch: 'inv', extra: ['Require: 100rel'], body: SDP }));
    const ringing = await find((m) => m.startsWith('SIP/2.0 180 '), 'the reliable 180');
    const rseq = Number(header(ringing, 'RSeq'));
    const toTag = toTagOf(ringing);
    // Let the 180 be re-sent unacknowledged; meanwhile the route has answered but the 2xx is held.
    await until(() => sock.inbox.filter((m) => m.startsWith('SIP/2.0 180 ')).length >= 3 || undefined, 'two retransmissions of the 180');
    expect(sock.inbox.some((m) => m.startsWith('SIP/2.0 200 '))).toBe(false);
    const live = await until(async () => {
      const r = await srv.server.db.query<{ status: string; answered_at: Date | null }>('SELECT status, answered_at FROM calls WHERE from_number = $1', [from]);
      return r.rows[0];
    }, 'the CDR row');
    expect(live.status).not.toBe('answered');
    expect(live.answered_at).toBeNull();
    const prackSentAt = Date.now();
    send(request(from, 'PRACK', 2, { branch: 'prack', toTag, extra: [`RAck: ${rseq} 1 INVITE`] }));
    await find((m) => m.startsWith('SIP/2.0 200 ') && /CSeq: 1 INVITE/.test(m), 'the 200 to the INVITE');
    send(request(from, 'ACK', 1, { branch: 'ack', toTag }));
    const answered = await until(async () => {
      const r = await srv.server.db.query<{ answered_at: Date | null }>('SELECT answered_at FROM calls WHERE from_number = $1', [from]);
      return r.rows[0]?.answered_at ?? undefined;
    }, 'the CDR answer time');
    // Ordering, not timing: the answer was recorded no earlier than the PRACK that released the 2xx.
    expect(answered.getTime()).toBeGreaterThanOrEqual(prackSentAt);
    send(request(from, 'BYE', 3, { branch: 'bye', toTag }));
    await find((m) => m.startsWith('SIP/2.0 200 ') && /CSeq: 3 BYE/.test(m), 'the 200 to the BYE');
    const row = await endedCdr(srv.server.db, 'from_number = $1', [from]);
    expect(row).toMatchObject({ status: 'completed', sip_code: 200, hangup_side: 'caller', hangup_cause: 'normal-clearing' });
  }, 60_000);
});

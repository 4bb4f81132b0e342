import { header, PCMU_OFFER as sdp, RawSipSocket, toTagOf, type RawRequestOptions } from '../../helpers/raw-sip';
import { scenarioPath } from '../../helpers/sipp';
import { startTestServer, type TestServer } from '../../helpers/server';
import { endedCdr, runSippCleanly, until } from '../call/call-kit';

// RFC 3262 as the answering side, over real UDP: SIPp requires 100rel (sipp/uac-100rel.xml) against the answer route,
// which rings with 180 and answers at once; the 180 must come reliably and the 200 only after its PRACK. A raw socket
// plays a caller whose PRACK names the wrong RSeq (481) before the right one.

let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer({ DEFAULT_ROUTE: 'answer', SIP_TRANSPORTS: 'udp' });
});

afterAll(async () => {
  await srv?.stop();
});

describe('reliable provisional responses (RFC 3262) against SIPp', () => {
  it('sends 180 with RSeq and Require: 100rel, answers the PRACK 200, then the INVITE 200; the call completes', async () => {
    const r = await runSippCleanly({ scenario: scenarioPath('uac-100rel'), target: srv.udpTarget, calls: 5, rate: 5, service: '1000', timeoutS: 40 });
    expect(r.failed).toBe(0);
    const row = await endedCdr(srv.server.db, 'from_number = $1', ['prack']);
    expect(row).toMatchObject({ status: 'completed', hangup_side: 'caller', sip_code: 200 });
    await until(() => srv.server.ua.sessionCount === 0, 'every session to end');
  }, 60_000);
});

describe('PRACK matching over a raw UDP socket', () => {
  let sock: RawSipSocket;
  beforeAll(async () => {
    sock = await RawSipSocket.open();
  });
  afterAll(() => sock?.close());

  /** The server the raw caller talks to (the answer route, or one ringing with early media). */
  let target: TestServer;
  beforeEach(() => {
    target = srv;
    sock.inbox.length = 0;
  });
  const send = (text: string): void => sock.send(text, target.udpTarget);
  const find = (pred: (m: string) => boolean, what: string): Promise<string> => sock.find(pred, what);
  const request = (method: string, cseq: number, opts: RawRequestOptions & { from?: string }): string =>
    sock.request(target.udpTarget, { user: opts.from ?? 'rawprack' }, method, cseq, opts);

  it('answers 481 to a PRACK with the wrong RSeq, keeps the 180 coming, and 200s the right one before the INVITE', async () => {
    send(request('INVITE', 1, { branch: 'rawinv', extra: ['Require: 100rel'], body: sdp }));
    const ringing = await find((m) => m.startsWith('SIP/2.0 180 '), 'the 180');
    expect(header(ringing, 'Require')).toBe('100rel');
    const rseq = Number(header(ringing, 'RSeq'));
    expect(rseq).toBeGreaterThan(0);
    const toTag = toTagOf(ringing);
    send(request('PRACK', 2, { branch: 'rawprack2', toTag, extra: [`RAck: ${rseq + 1} 1 INVITE`] }));
    await find((m) => m.startsWith('SIP/2.0 481 ') && /CSeq: 2 PRACK/.test(m), 'the 481 to the wrong PRACK');
    expect(sock.inbox.some((m) => m.startsWith('SIP/2.0 200 ') && /CSeq: 1 INVITE/.test(m))).toBe(false);
    // Unacknowledged, the 180 is re-sent (T1, then doubling).
    await until(() => sock.inbox.filter((m) => m.startsWith('SIP/2.0 180 ')).length >= 2 || undefined, 'a retransmitted 180');
    send(request('PRACK', 3, { branch: 'rawprack3', toTag, extra: [`RAck: ${rseq} 1 INVITE`] }));
    const ok = await find((m) => m.startsWith('SIP/2.0 200 ') && /CSeq: 1 INVITE/.test(m), 'the 200 to the INVITE');
    const order = sock.inbox.filter((m) => m.startsWith('SIP/2.0 200 ')).map((m) => header(m, 'CSeq'));
    expect(order.slice(0, 2)).toEqual(['3 PRACK', '1 INVITE']);
    expect(ok).toMatch(/\r\nContent-Type: application\/sdp/i);
    send(request('ACK', 1, { branch: 'rawack', toTag }));
    send(request('BYE', 4, { branch: 'rawbye', toTag }));
    await find((m) => m.startsWith('SIP/2.0 200 ') && /CSeq: 4 BYE/.test(m), 'the 200 to the BYE');
    const row = await endedCdr(srv.server.db, 'from_number = $1', ['rawprack']);
    expect(row).toMatchObject({ status: 'completed', hangup_side: 'caller' });
  }, 60_000);

  it('early media to a caller that only supports 100rel: the 183 with SDP is reliable and the 200 waits for its PRACK', async () => {
    const early = await startTestServer({ DEFAULT_ROUTE: 'answer', SIP_TRANSPORTS: 'udp', RING_MODE: 'early-media' });
    try {
      target = early;
      const from = 'rawearly';
      send(request('INVITE', 1, { from, branch: 'inv', extra: ['Supported: 100rel, timer'], body: sdp }));
      const progress = await find((m) => m.startsWith('SIP/2.0 183 '), 'the 183');
      expect(header(progress, 'Require')).toBe('100rel');
      expect(progress).toMatch(/\r\nContent-Type: application\/sdp/i);
      expect(progress).toMatch(/\r\nm=audio \d+ RTP\/AVP 0/);
      const rseq = Number(header(progress, 'RSeq'));
      const toTag = toTagOf(progress);
      // Unacknowledged, the 183 is re-sent and the 200 is held back.
      await until(() => sock.inbox.filter((m) => m.startsWith('SIP/2.0 183 ')).length >= 2 || undefined, 'a retransmitted 183');
      expect(sock.inbox.some((m) => m.startsWith('SIP/2.0 200 '))).toBe(false);
      send(request('PRACK', 2, { from, branch: 'prack', toTag, extra: [`RAck: ${rseq} 1 INVITE`] }));
      await find((m) => m.startsWith('SIP/2.0 200 ') && /CSeq: 1 INVITE/.test(m), 'the 200 to the INVITE');
      expect(sock.inbox.filter((m) => m.startsWith('SIP/2.0 200 ')).map((m) => header(m, 'CSeq'))).toEqual(['2 PRACK', '1 INVITE']);
      send(request('ACK', 1, { from, branch: 'ack', toTag }));
      send(request('BYE', 3, { from, branch: 'bye', toTag }));
      await find((m) => m.startsWith('SIP/2.0 200 ') && /CSeq: 3 BYE/.test(m), 'the 200 to the BYE');
      const row = await endedCdr(early.server.db, 'from_number = $1', [from]);
      expect(row).toMatchObject({ status: 'completed', hangup_side: 'caller' });
    } finally {
      await early.stop();
    }
  }, 60_000);
});

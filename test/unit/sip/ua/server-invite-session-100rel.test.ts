import { parseMessage, type SipResponse } from '../../../../src/sip/message';
import { SipUserAgent, type ServerInviteSession } from '../../../../src/sip/ua';
import { VirtualClock } from '../../../../src/util';

// The UAS side of RFC 3262 in virtual time: the caller's requests are written by hand and fed to the UA core, and
// every response it sends is captured with the virtual time it left.

const PEER = { transport: 'UDP' as const, address: '192.0.2.10', port: 5060, local: { address: '192.0.2.1', port: 5060 } };
const T1 = 500;
const SDP = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

interface Sent {
  at: number;
  res: SipResponse;
}

interface Harness {
  clock: VirtualClock;
  ua: SipUserAgent;
  sent: Sent[];
  sessions: ServerInviteSession[];
  /** Feed a request from the caller. */
  send(lines: string[], body?: string): void;
  /** Responses sent so far as 'status method' strings. */
  lines(): string[];
}

function harness(opts: { supported?: string[] } = {}): Harness {
  const clock = new VirtualClock();
  const sent: Sent[] = [];
  const sessions: ServerInviteSession[] = [];
  const ua = new SipUserAgent({
    clock,
    send: async (_t, data) => {
      const r = parseMessage(data);
      if (r.ok && !r.msg.isRequest) sent.push({ at: clock.now(), res: r.msg as SipResponse });
    },
    publicHost: '192.0.2.1',
    ports: { UDP: 5060 },
    T1,
    supported: opts.supported,
  });
  ua.onInvite = (s) => sessions.push(s);
  return {
    clock,
    ua,
    sent,
    sessions,
    send(lines, body = '') {
      const text = [...lines, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
      ua.receive(Buffer.from(text), { ...PEER });
    },
    lines: () => sent.map((s) => `${s.res.status} ${s.res.cseq.method}`),
  };
}

const CALL_ID = 'prack-test@192.0.2.10';

function invite(h: Harness, extra: string[], body = SDP): ServerInviteSession {
  h.send(
    [
      'INVITE sip:1000@192.0.2.1 SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-inv1',
      'Max-Forwards: 70',
      'From: <sip:alice@192.0.2.10>;tag=a1',
      'To: <sip:1000@192.0.2.1>',
      `Call-ID: ${CALL_ID}`,
      'CSeq: 1 INVITE',
      'Contact: <sip:alice@192.0.2.10:5060>',
      ...extra,
      ...(body ? ['Content-Type: application/sdp'] : []),
    ],
    body,
  );
  expect(h.sessions).toHaveLength(1);
  return h.sessions[0];
}

function inDialog(h: Harness, s: ServerInviteSession, method: string, cseq: number, extra: string[] = [], body = ''): void {
  h.send(
    [
      `${method} sip:1000@192.0.2.1 SIP/2.0`,
      `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-${method.toLowerCase()}${cseq}`,
      'Max-Forwards: 70',
      'From: <sip:alice@192.0.2.10>;tag=a1',
      `To: <sip:1000@192.0.2.1>;tag=${s.localTag}`,
      `Call-ID: ${CALL_ID}`,
      `CSeq: ${cseq} ${method}`,
      ...extra,
      ...(body ? ['Content-Type: application/sdp'] : []),
    ],
    body,
  );
}

function prack(h: Harness, s: ServerInviteSession, rseq: number | string, cseq: number, body = ''): void {
  inDialog(h, s, 'PRACK', cseq, [`RAck: ${rseq} 1 INVITE`], body);
}

/** Reliable provisionals sent so far with the given status: [time, RSeq]. */
function reliable(h: Harness, status: number): [number, string | undefined][] {
  return h.sent.filter((x) => x.res.status === status).map((x) => [x.at, x.res.getHeader('RSeq')]);
}

function rseqOf(h: Harness, status: number): number {
  const r = h.sent.find((x) => x.res.status === status)?.res.getHeader('RSeq');
  expect(r).toBeDefined();
  return Number(r);
}

describe('ServerInviteSession: reliable provisional responses (RFC 3262 §3)', () => {
  let h: Harness;
  afterEach(async () => {
    await h.ua.close();
  });

  it('lists 100rel in Supported and takes an INVITE that requires it (no 420)', () => {
    h = harness();
    expect(h.ua.supportedHeader.split(', ')).toContain('100rel');
    const s = invite(h, ['Require: 100rel']);
    expect(s.state).toBe('Incoming');
    expect(h.sent.filter((x) => x.res.status === 420)).toHaveLength(0);
  });

  it('emits answered when the 2xx leaves: at the PRACK, not at accept()', () => {
    h = harness();
    const s = invite(h, ['Require: 100rel']);
    const answered = jest.fn();
    s.on('answered', (res) => answered(res.status, h.lines().length));
    s.progress(180);
    s.accept({ body: Buffer.from(SDP), contentType: 'application/sdp' });
    h.clock.advance(T1);
    expect(answered).not.toHaveBeenCalled();
    prack(h, s, rseqOf(h, 180), 2);
    // Emitted once the 200 is on the wire (it is the last response sent).
    expect(answered).toHaveBeenCalledTimes(1);
    expect(answered).toHaveBeenCalledWith(200, h.lines().length);
    expect(h.lines().slice(-1)).toEqual(['200 INVITE']);
    inDialog(h, s, 'ACK', 1);
    expect(answered).toHaveBeenCalledTimes(1);
  });

  it('never emits answered when the held 2xx is dropped (no PRACK: 500, prack-timeout)', () => {
    h = harness();
    const s = invite(h, ['Require: 100rel']);
    const answered = jest.fn();
    s.on('answered', answered);
    s.progress(180);
    s.accept();
    h.clock.advance(64 * T1);
    expect(s.endCause).toBe('prack-timeout');
    expect(answered).not.toHaveBeenCalled();
  });

  it('emits answered synchronously from accept() when nothing waits for a PRACK', () => {
    h = harness();
    const s = invite(h, ['Supported: 100rel']);
    const answered = jest.fn();
    s.on('answered', answered);
    s.progress(180);
    s.accept();
    expect(answered).toHaveBeenCalledTimes(1);
  });

  it('answers 420 with Unsupported: 100rel when the UA is configured without it', () => {
    h = harness({ supported: ['timer'] });
    h.send([
      'INVITE sip:1000@192.0.2.1 SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-inv1',
      'Max-Forwards: 70',
      'From: <sip:alice@192.0.2.10>;tag=a1',
      'To: <sip:1000@192.0.2.1>',
      `Call-ID: ${CALL_ID}`,
      'CSeq: 1 INVITE',
      'Contact: <sip:alice@192.0.2.10:5060>',
      'Require: 100rel',
    ]);
    expect(h.sessions).toHaveLength(0);
    expect(h.sent.map((x) => x.res.status)).toEqual([420]);
    expect(h.sent[0].res.getHeader('Unsupported')).toBe('100rel');
  });

  it('Require: 100rel: the 180 carries RSeq and Require, is re-sent at T1, 2*T1, 4*T1... until its PRACK, which gets 200', () => {
    h = harness();
    const s = invite(h, ['Require: 100rel', 'Supported: 100rel']);
    s.progress(180);
    const first = h.sent.find((x) => x.res.status === 180)!.res;
    expect(first.getHeader('Require')).toBe('100rel');
    const rseq = rseqOf(h, 180);
    expect(rseq).toBeGreaterThanOrEqual(1);
    expect(rseq).toBeLessThanOrEqual(2 ** 31 - 1);
    h.clock.advance(3 * T1 + 100); // retransmissions at 500 and 1500 ms
    expect(reliable(h, 180).map(([at]) => at)).toEqual([0, T1, 3 * T1]);
    expect(reliable(h, 180).every(([, r]) => r === String(rseq))).toBe(true);
    prack(h, s, rseq, 2);
    expect(h.lines().slice(-1)).toEqual(['200 PRACK']);
    expect(s.unacknowledgedProvisionals).toBe(0);
    h.clock.advance(64 * T1);
    expect(reliable(h, 180)).toHaveLength(3);
    expect(s.state).toBe('Early');
  });

  it('holds the 2xx until the PRACK, then sends 200 to the PRACK before the 200 to the INVITE; ACK confirms', () => {
    h = harness();
    const s = invite(h, ['Require: 100rel']);
    s.progress(180);
    s.accept({ body: Buffer.from(SDP), contentType: 'application/sdp' });
    expect(s.answerPending).toBe(true);
    expect(s.state).toBe('Early');
    h.clock.advance(T1);
    expect(h.sent.filter((x) => x.res.status === 200)).toHaveLength(0);
    // A further provisional is not sent while the answer is pending.
    s.progress(183);
    expect(h.sent.filter((x) => x.res.status === 183)).toHaveLength(0);
    prack(h, s, rseqOf(h, 180), 2);
    expect(h.lines().filter((l) => l.startsWith('200'))).toEqual(['200 PRACK', '200 INVITE']);
    expect(s.answerPending).toBe(false);
    expect(s.state).toBe('Answered');
    const confirmed = jest.fn();
    s.on('confirmed', confirmed);
    inDialog(h, s, 'ACK', 1);
    expect(confirmed).toHaveBeenCalledTimes(1);
    expect(s.state).toBe('Confirmed');
    // No more 180s after the final response.
    const count = reliable(h, 180).length;
    h.clock.advance(64 * T1);
    expect(reliable(h, 180)).toHaveLength(count);
  });

  it('answers 481 to a PRACK whose RAck matches nothing (wrong RSeq, wrong CSeq, malformed) and keeps retransmitting', () => {
    h = harness();
    const s = invite(h, ['Require: 100rel']);
    s.progress(180);
    const rseq = rseqOf(h, 180);
    prack(h, s, rseq + 1, 2);
    inDialog(h, s, 'PRACK', 3, ['RAck: ' + String(rseq) + ' 7 INVITE']);
    inDialog(h, s, 'PRACK', 4, ['RAck: garbage']);
    inDialog(h, s, 'PRACK', 5);
    expect(h.lines().filter((l) => l.endsWith('PRACK'))).toEqual(['481 PRACK', '481 PRACK', '481 PRACK', '481 PRACK']);
    h.clock.advance(T1);
    expect(reliable(h, 180)).toHaveLength(2);
    prack(h, s, rseq, 6);
    expect(h.lines().slice(-1)).toEqual(['200 PRACK']);
    // The same PRACK again (a new transaction): it matches nothing now.
    inDialog(h, s, 'PRACK', 7, [`RAck: ${rseq} 1 INVITE`]);
    expect(h.lines().slice(-1)).toEqual(['481 PRACK']);
  });

  it('without a PRACK gives up after 64*T1: 500 to the INVITE, held 2xx dropped, session ends prack-timeout', () => {
    h = harness();
    const s = invite(h, ['Require: 100rel']);
    const ended = jest.fn();
    s.on('ended', ended);
    s.progress(180);
    s.accept({ body: Buffer.from(SDP), contentType: 'application/sdp' });
    h.clock.advance(64 * T1 - 1);
    // Intervals T1, 2T1, 4T1, 8T1, 16T1, 32T1: sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s (no T2 cap).
    expect(reliable(h, 180).map(([at]) => at)).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(s.isEnded).toBe(false);
    h.clock.advance(1);
    expect(h.lines().slice(-1)).toEqual(['500 INVITE']);
    expect(h.sent.filter((x) => x.res.status === 200)).toHaveLength(0);
    expect(ended).toHaveBeenCalledWith('prack-timeout', '500');
    expect(s.finalResponse?.status).toBe(500);
    h.clock.advance(64 * T1);
    expect(reliable(h, 180)).toHaveLength(7);
    // A late PRACK finds no dialog.
    prack(h, s, rseqOf(h, 180), 2);
    expect(h.lines().slice(-1)).toEqual(['481 PRACK']);
  });

  it('sends a second reliable provisional only after the first is PRACKed, with RSeq + 1', () => {
    h = harness();
    const s = invite(h, ['Require: 100rel']);
    s.progress(180);
    s.progress(183, { body: Buffer.from(SDP), contentType: 'application/sdp' });
    expect(h.sent.filter((x) => x.res.status === 183)).toHaveLength(0);
    expect(s.unacknowledgedProvisionals).toBe(2);
    const rseq = rseqOf(h, 180);
    prack(h, s, rseq, 2);
    expect(reliable(h, 183)).toEqual([[0, String(rseq + 1)]]);
    s.accept({ body: Buffer.from(SDP), contentType: 'application/sdp' });
    expect(s.answerPending).toBe(true);
    prack(h, s, rseq + 1, 3);
    expect(h.lines().slice(-2)).toEqual(['200 PRACK', '200 INVITE']);
  });

  it('Supported only: a bodiless 180 is unreliable, a 183 with SDP is reliable, and the 2xx waits for its PRACK', () => {
    h = harness();
    const s = invite(h, ['Supported: 100rel, timer']);
    s.progress(180);
    expect(reliable(h, 180)).toEqual([[0, undefined]]);
    expect(h.sent[h.sent.length - 1].res.getHeader('Require')).toBeUndefined();
    s.progress(183, { body: Buffer.from(SDP), contentType: 'application/sdp' });
    const rseq = rseqOf(h, 183);
    s.accept({ body: Buffer.from(SDP), contentType: 'application/sdp' });
    expect(h.sent.filter((x) => x.res.status === 200)).toHaveLength(0);
    prack(h, s, rseq, 2);
    expect(h.lines().slice(-2)).toEqual(['200 PRACK', '200 INVITE']);
  });

  it('Supported only: reliable: false sends the 183 unreliably and the 2xx at once', () => {
    h = harness();
    const s = invite(h, ['Supported: 100rel']);
    s.progress(183, { body: Buffer.from(SDP), contentType: 'application/sdp', reliable: false });
    expect(reliable(h, 183)).toEqual([[0, undefined]]);
    s.accept({ body: Buffer.from(SDP), contentType: 'application/sdp' });
    expect(h.lines().slice(-1)).toEqual(['200 INVITE']);
  });

  it('a caller without 100rel gets plain provisionals and an immediate 2xx', () => {
    h = harness();
    const s = invite(h, []);
    s.progress(183, { body: Buffer.from(SDP), contentType: 'application/sdp', reliable: true });
    expect(reliable(h, 183)).toEqual([[0, undefined]]);
    s.accept();
    expect(h.lines().slice(-1)).toEqual(['200 INVITE']);
    // A PRACK in the dialog matches nothing.
    prack(h, s, 1, 2);
    expect(h.lines().slice(-1)).toEqual(['481 PRACK']);
  });

  it('CANCEL while a reliable provisional is unacknowledged: 200 to CANCEL, 487 to the INVITE, retransmissions stop', () => {
    h = harness();
    const s = invite(h, ['Require: 100rel']);
    s.progress(180);
    s.accept();
    h.send([
      'CANCEL sip:1000@192.0.2.1 SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-inv1',
      'Max-Forwards: 70',
      'From: <sip:alice@192.0.2.10>;tag=a1',
      'To: <sip:1000@192.0.2.1>',
      `Call-ID: ${CALL_ID}`,
      'CSeq: 1 CANCEL',
    ]);
    expect(h.lines().slice(-2)).toEqual(['200 CANCEL', '487 INVITE']);
    expect(s.endCause).toBe('canceled');
    h.clock.advance(64 * T1);
    expect(reliable(h, 180)).toHaveLength(1);
    expect(h.sent.filter((x) => x.res.status === 200 && x.res.cseq.method === 'INVITE')).toHaveLength(0);
  });

  it('a reject while a 2xx is held sends the final at once and drops the 2xx', () => {
    h = harness();
    const s = invite(h, ['Require: 100rel']);
    s.progress(180);
    s.accept();
    s.reject(486);
    expect(h.lines().slice(-1)).toEqual(['486 INVITE']);
    expect(s.endCause).toBe('rejected');
    h.clock.advance(64 * T1);
    expect(h.sent.filter((x) => x.res.status === 200)).toHaveLength(0);
    expect(reliable(h, 180)).toHaveLength(1);
  });

  it('answers a PRACK carrying an offer 488, but it still acknowledges the provisional', () => {
    h = harness();
    const s = invite(h, ['Require: 100rel']);
    s.progress(180);
    s.accept();
    prack(h, s, rseqOf(h, 180), 2, SDP);
    expect(h.lines().slice(-2)).toEqual(['488 PRACK', '200 INVITE']);
  });

  it('a PRACK outside any dialog gets 481', () => {
    h = harness();
    h.send([
      'PRACK sip:1000@192.0.2.1 SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-lone',
      'Max-Forwards: 70',
      'From: <sip:alice@192.0.2.10>;tag=a1',
      'To: <sip:1000@192.0.2.1>',
      'Call-ID: nowhere@192.0.2.10',
      'CSeq: 2 PRACK',
      'RAck: 1 1 INVITE',
    ]);
    expect(h.lines()).toEqual(['481 PRACK']);
  });
});

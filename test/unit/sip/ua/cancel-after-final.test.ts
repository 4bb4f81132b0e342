import { parseMessage, type SipRequest, type SipResponse } from '../../../../src/sip/message';
import { SipUserAgent, type ServerInviteSession } from '../../../../src/sip/ua';
import { VirtualClock } from '../../../../src/util';

// RFC 3261 §9.2 on the UAS, in virtual time: a CANCEL that matches an INVITE server transaction is answered 200 by
// the UA itself, whether or not the INVITE already has its final response (then the CANCEL changes nothing); only a
// CANCEL matching no transaction gets 481.

const PEER = { transport: 'UDP' as const, address: '192.0.2.10', port: 5060, local: { address: '192.0.2.1', port: 5060 } };
const T1 = 500;
const SDP = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
const CALL_ID = 'cancel-after-final@192.0.2.10';

interface Harness {
  clock: VirtualClock;
  ua: SipUserAgent;
  responses: SipResponse[];
  requests: SipRequest[];
  sessions: ServerInviteSession[];
  send(lines: string[], body?: string): void;
  /** Responses sent so far as 'status method' strings. */
  lines(): string[];
}

function harness(): Harness {
  const clock = new VirtualClock();
  const responses: SipResponse[] = [];
  const requests: SipRequest[] = [];
  const sessions: ServerInviteSession[] = [];
  const ua = new SipUserAgent({
    clock,
    send: async (_t, data) => {
      const r = parseMessage(data);
      if (!r.ok) return;
      if (r.msg.isRequest) requests.push(r.msg as SipRequest);
      else responses.push(r.msg as SipResponse);
    },
    publicHost: '192.0.2.1',
    ports: { UDP: 5060 },
    T1,
  });
  ua.onInvite = (s) => sessions.push(s);
  return {
    clock,
    ua,
    responses,
    requests,
    sessions,
    send(lines, body = '') {
      const text = [...lines, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
      ua.receive(Buffer.from(text), { ...PEER });
    },
    lines: () => responses.map((r) => `${r.status} ${r.cseq.method}`),
  };
}

function invite(h: Harness, branch = 'z9hG4bK-inv1'): ServerInviteSession {
  h.send(
    [
      'INVITE sip:1000@192.0.2.1 SIP/2.0',
      `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${branch}`,
      'Max-Forwards: 70',
      'From: <sip:alice@192.0.2.10>;tag=a1',
      'To: <sip:1000@192.0.2.1>',
      `Call-ID: ${CALL_ID}`,
      'CSeq: 1 INVITE',
      'Contact: <sip:alice@192.0.2.10:5060>',
      'Content-Type: application/sdp',
    ],
    SDP,
  );
  const s = h.sessions[h.sessions.length - 1];
  expect(s).toBeDefined();
  return s;
}

/** RFC 3261 §9.1: the CANCEL copies the INVITE's Request-URI, top Via (branch), From, To (no tag), Call-ID, CSeq number. */
function cancel(h: Harness, branch = 'z9hG4bK-inv1'): void {
  h.send([
    'CANCEL sip:1000@192.0.2.1 SIP/2.0',
    `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${branch}`,
    'Max-Forwards: 70',
    'From: <sip:alice@192.0.2.10>;tag=a1',
    'To: <sip:1000@192.0.2.1>',
    `Call-ID: ${CALL_ID}`,
    'CSeq: 1 CANCEL',
  ]);
}

/** ACK for a 2xx (a new transaction inside the dialog, §13.2.2.4) or for a non-2xx (same branch, §17.1.1.3). */
function ack(h: Harness, s: ServerInviteSession, branch: string): void {
  h.send([
    'ACK sip:1000@192.0.2.1 SIP/2.0',
    `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${branch}`,
    'Max-Forwards: 70',
    'From: <sip:alice@192.0.2.10>;tag=a1',
    `To: <sip:1000@192.0.2.1>;tag=${s.localTag}`,
    `Call-ID: ${CALL_ID}`,
    'CSeq: 1 ACK',
  ]);
}

function cancelResponses(h: Harness): SipResponse[] {
  return h.responses.filter((r) => r.cseq.method === 'CANCEL');
}

describe('SipUserAgent: CANCEL after the final response (RFC 3261 §9.2)', () => {
  let h: Harness;
  afterEach(async () => {
    await h.ua.close();
  });

  it('answers 200 and the INVITE 487 when no final response was sent yet', () => {
    h = harness();
    const s = invite(h);
    s.progress(180);
    cancel(h);
    expect(h.lines()).toEqual(['180 INVITE', '200 CANCEL', '487 INVITE']);
    expect(cancelResponses(h)[0].toTag).toBe(s.localTag);
    expect(s.isEnded).toBe(true);
  });

  it('answers 200 to a CANCEL that crosses our 2xx before the ACK, and the call goes on', () => {
    h = harness();
    const s = invite(h);
    s.accept({ body: Buffer.from(SDP), contentType: 'application/sdp' });
    cancel(h);
    expect(h.lines()).toEqual(['200 INVITE', '200 CANCEL']);
    expect(cancelResponses(h)[0].toTag).toBe(s.localTag);
    ack(h, s, 'z9hG4bK-ack1');
    expect(s.state).toBe('Confirmed');
  });

  it('answers 200 to a CANCEL after the 2xx was ACKed; the confirmed call is untouched', () => {
    h = harness();
    const s = invite(h);
    s.accept({ body: Buffer.from(SDP), contentType: 'application/sdp' });
    ack(h, s, 'z9hG4bK-ack1');
    expect(s.state).toBe('Confirmed');
    h.clock.advance(T1);
    cancel(h);
    expect(h.lines()).toEqual(['200 INVITE', '200 CANCEL']);
    expect(cancelResponses(h)[0].toTag).toBe(s.localTag);
    expect(s.state).toBe('Confirmed');
    expect(s.isEnded).toBe(false);
    // Nothing else leaves: no 487, no BYE.
    expect(h.requests.map((r) => r.method)).toEqual([]);
  });

  it('answers 200 to a CANCEL after a non-2xx final, with that response’s To tag, and sends no 487', () => {
    h = harness();
    const s = invite(h);
    s.reject(486);
    expect(s.isEnded).toBe(true);
    cancel(h);
    expect(h.lines()).toEqual(['486 INVITE', '200 CANCEL']);
    const tag486 = h.responses[0].toTag;
    expect(tag486).toBeDefined();
    expect(cancelResponses(h)[0].toTag).toBe(tag486);
  });

  it('answers 200 to a CANCEL after the non-2xx final was ACKed, while the transaction lingers (Confirmed)', () => {
    h = harness();
    const s = invite(h);
    s.reject(603);
    ack(h, s, 'z9hG4bK-inv1');
    cancel(h);
    expect(h.lines()).toEqual(['603 INVITE', '200 CANCEL']);
  });

  it('answers 481 to a CANCEL that matches no INVITE transaction', () => {
    h = harness();
    invite(h);
    cancel(h, 'z9hG4bK-other');
    expect(h.lines()).toEqual(['481 CANCEL']);
  });

  it('answers 481 once the INVITE transaction is gone (Timer L after the 2xx, RFC 6026 §7.1)', () => {
    h = harness();
    const s = invite(h);
    s.accept({ body: Buffer.from(SDP), contentType: 'application/sdp' });
    ack(h, s, 'z9hG4bK-ack1');
    h.clock.advance(64 * T1 + 1000);
    cancel(h);
    expect(cancelResponses(h).map((r) => r.status)).toEqual([481]);
    expect(s.state).toBe('Confirmed');
  });
});

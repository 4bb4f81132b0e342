import { parseMessage, type SipResponse } from '../../../../src/sip/message';
import { SipUserAgent, type ServerInviteSession } from '../../../../src/sip/ua';
import { VirtualClock } from '../../../../src/util';

// Overload control in the UA core (RFC 3261 §21.5.4, §20.33), in virtual time: while the detector says overloaded, a
// new INVITE gets 503 + Retry-After statelessly (no transaction, no session); retransmissions of INVITEs admitted
// earlier stay in their transactions; in-dialog requests (ACK, BYE) are always served.

const PEER = { transport: 'UDP' as const, address: '192.0.2.10', port: 5060, local: { address: '192.0.2.1', port: 5060 } };
const SDP = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

class StubOverload {
  overloaded = false;
  /** While overloaded, admit every n-th request (0: none), as the detector admits a share. */
  admitEvery = 0;
  readonly checked: string[] = [];
  check(method: string): number | undefined {
    this.checked.push(method);
    if (!this.overloaded) return undefined;
    return this.admitEvery > 0 && this.checked.length % this.admitEvery === 0 ? undefined : 4;
  }
}

function harness() {
  const clock = new VirtualClock();
  const responses: SipResponse[] = [];
  const sessions: ServerInviteSession[] = [];
  const rejected: string[] = [];
  const overload = new StubOverload();
  const ua = new SipUserAgent({
    clock,
    send: async (_t, data) => {
      const r = parseMessage(data);
      if (r.ok && !r.msg.isRequest) responses.push(r.msg as SipResponse);
    },
    publicHost: '192.0.2.1',
    ports: { UDP: 5060 },
    overload,
    hooks: { rejected: (method, status) => rejected.push(`${status} ${method}`) },
  });
  ua.onInvite = (s) => sessions.push(s);
  const send = (lines: string[], body = ''): void => {
    const text = [...lines, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
    ua.receive(Buffer.from(text), { ...PEER });
  };
  const request = (method: string, callId: string, branch: string, cseq: number, toTag?: string, body = ''): void =>
    send(
      [
        `${method} sip:1000@192.0.2.1 SIP/2.0`,
        `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=${branch}`,
        'Max-Forwards: 70',
        'From: <sip:alice@192.0.2.10>;tag=a1',
        `To: <sip:1000@192.0.2.1>${toTag ? `;tag=${toTag}` : ''}`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} ${method}`,
        'Contact: <sip:alice@192.0.2.10:5060>',
        ...(body ? ['Content-Type: application/sdp'] : []),
      ],
      body,
    );
  return { clock, ua, responses, sessions, rejected, overload, request };
}

describe('UA overload control', () => {
  it('admits new INVITEs while not overloaded and counts each one for the detector', () => {
    const h = harness();
    h.request('INVITE', 'c1@x', 'z9hG4bK-c1', 1, undefined, SDP);
    expect(h.sessions).toHaveLength(1);
    expect(h.overload.checked).toEqual(['INVITE']);
    h.ua.close();
  });

  it('refuses a new INVITE with a stateless 503 + Retry-After and To tag; its ACK and retransmission are absorbed', async () => {
    const h = harness();
    h.overload.overloaded = true;
    h.request('INVITE', 'shed@x', 'z9hG4bK-shed', 1, undefined, SDP);
    await Promise.resolve();
    expect(h.sessions).toHaveLength(0);
    expect(h.ua.transactions.size).toBe(0);
    expect(h.responses).toHaveLength(1);
    const res = h.responses[0];
    expect(res.status).toBe(503);
    expect(res.getHeader('Retry-After')).toBe('4');
    expect(res.toTag).toBeDefined();
    expect(res.callId).toBe('shed@x');
    expect(h.rejected).toEqual(['503 INVITE']);
    // The caller's ACK for the 503 matches nothing and is dropped; nothing is sent, nothing is created.
    h.request('ACK', 'shed@x', 'z9hG4bK-shed', 1, res.toTag);
    // A retransmission of the INVITE (the 503 was lost) is refused again, still without a transaction.
    h.request('INVITE', 'shed@x', 'z9hG4bK-shed', 1, undefined, SDP);
    await Promise.resolve();
    expect(h.responses.map((r) => r.status)).toEqual([503, 503]);
    expect(h.ua.transactions.size).toBe(0);
    expect(h.sessions).toHaveLength(0);
    h.ua.close();
  });

  it('asks the detector once per new INVITE: one it admits while overloaded becomes a call', async () => {
    const h = harness();
    h.overload.overloaded = true;
    h.overload.admitEvery = 2;
    h.request('INVITE', 'one@x', 'z9hG4bK-one', 1, undefined, SDP);
    h.request('INVITE', 'two@x', 'z9hG4bK-two', 1, undefined, SDP);
    h.request('INVITE', 'three@x', 'z9hG4bK-three', 1, undefined, SDP);
    await Promise.resolve();
    expect(h.overload.checked).toEqual(['INVITE', 'INVITE', 'INVITE']);
    expect(h.sessions.map((s) => s.request.callId)).toEqual(['two@x']);
    expect(h.responses.map((r) => `${r.status} ${r.callId}`)).toEqual(['503 one@x', '503 three@x']);
    expect(h.ua.transactions.size).toBe(1);
    h.ua.close();
  });

  it('keeps serving calls admitted before the overload: INVITE retransmission, ACK, BYE', async () => {
    const h = harness();
    h.request('INVITE', 'early@x', 'z9hG4bK-early', 1, undefined, SDP);
    const s = h.sessions[0];
    s.accept({ body: Buffer.from(SDP), contentType: 'application/sdp' });
    await Promise.resolve();
    expect(h.responses.map((r) => r.status)).toEqual([200]);
    const toTag = h.responses[0].toTag as string;

    h.overload.overloaded = true;
    // The INVITE retransmitted (our 200 crossed it) goes to its transaction, never to the 503 path.
    h.request('INVITE', 'early@x', 'z9hG4bK-early', 1, undefined, SDP);
    await Promise.resolve();
    expect(h.responses.map((r) => r.status)).not.toContain(503);
    h.request('ACK', 'early@x', 'z9hG4bK-early-ack', 1, toTag);
    h.request('BYE', 'early@x', 'z9hG4bK-early-bye', 2, toTag);
    await Promise.resolve();
    const bye = h.responses.find((r) => r.cseq.method === 'BYE');
    expect(bye?.status).toBe(200);
    expect(h.rejected).toEqual([]);
    expect(h.overload.checked).toEqual(['INVITE']);
    h.ua.close();
  });

  it('answers an out-of-dialog OPTIONS 503 while overloaded (RFC 3261 §11.2: as an INVITE would be)', async () => {
    const h = harness();
    h.overload.overloaded = true;
    h.request('OPTIONS', 'probe@x', 'z9hG4bK-probe', 1);
    await Promise.resolve();
    expect(h.responses.map((r) => `${r.status} ${r.cseq.method}`)).toEqual(['503 OPTIONS']);
    expect(h.responses[0].getHeader('Retry-After')).toBe('4');
    h.ua.close();
  });
});

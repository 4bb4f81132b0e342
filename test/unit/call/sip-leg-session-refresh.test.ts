import { SipLeg } from '../../../src/call/sip-leg';
import { MediaEngine } from '../../../src/media';
import { RtpPortPool } from '../../../src/rtp';
import { createResponse, parseMessage, type SipRequest, type SipResponse } from '../../../src/sip/message';
import { SipUserAgent, type ServerInviteSession } from '../../../src/sip/ua';
import { VirtualClock } from '../../../src/util';

// RFC 4028 §10 on a SipLeg answering an INVITE, in virtual time: the caller's requests are written by hand and fed
// to a real UA core; every message the UA sends is captured. Only a 2xx to a session refresh refreshes the session,
// whichever side sent the refresh. Media runs for real on loopback (its own clock); the session timer runs on the
// virtual one.

const PEER = { transport: 'UDP' as const, address: '192.0.2.10', port: 5060, local: { address: '192.0.2.1', port: 5060 } };
const CALL_ID = 'refresh-test@192.0.2.10';
const OFFER = 'v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
/** An offer with no codec in common (G.729 only): RFC 3264 §6 / RFC 3261 §14.2 -> 488. */
const G729_ONLY = 'v=0\r\no=- 1 2 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n';
/** Session interval of these tests: the timer fires `expired` 90 - 30 = 60 s after the last refresh (§10). */
const INTERVAL = 90;
const EXPIRY_MS = (INTERVAL - 30) * 1000;
const S = 1000;

const base = 47000 + (process.pid % 300) * 40;
let engine: MediaEngine;
beforeAll(() => {
  engine = new MediaEngine({ pool: new RtpPortPool({ min: base, max: base + 39, host: '127.0.0.1' }) });
});
afterAll(async () => {
  await engine.close();
});

interface Harness {
  clock: VirtualClock;
  ua: SipUserAgent;
  responses: SipResponse[];
  requests: SipRequest[];
  leg: SipLeg;
  session: ServerInviteSession;
  timeouts: number;
  /** Feed a request from the caller. */
  send(lines: string[], body?: string): void;
  /** Feed a request of the caller's dialog. */
  inDialog(method: string, cseq: number, opts?: { extra?: string[]; body?: string; branch?: string }): void;
  /** Status lines of the responses to `method` so far. */
  answers(method: string): number[];
}

/**
 * An answered, confirmed inbound leg with a session timer of INTERVAL seconds; `refresher` as the caller asks in
 * its Session-Expires. The 2xx goes out at virtual time 0, where the timer starts (RFC 4028 §10); the ACK comes
 * `ackDelayMs` later.
 */
async function answeredLeg(refresher: 'uac' | 'uas', allow = 'INVITE, ACK, BYE, CANCEL, UPDATE', ackDelayMs = 0): Promise<Harness> {
  const clock = new VirtualClock();
  const responses: SipResponse[] = [];
  const requests: SipRequest[] = [];
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
  });
  const sessions: ServerInviteSession[] = [];
  ua.onInvite = (s) => sessions.push(s);
  const send = (lines: string[], body = ''): void => {
    const text = [...lines, ...(body ? ['Content-Type: application/sdp'] : []), `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
    ua.receive(Buffer.from(text), { ...PEER });
  };
  send(
    [
      'INVITE sip:1000@192.0.2.1 SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-inv1',
      'Max-Forwards: 70',
      'From: <sip:alice@192.0.2.10>;tag=a1',
      'To: <sip:1000@192.0.2.1>',
      `Call-ID: ${CALL_ID}`,
      'CSeq: 1 INVITE',
      'Contact: <sip:alice@192.0.2.10:5060>',
      'Supported: timer',
      `Session-Expires: ${INTERVAL};refresher=${refresher}`,
      `Allow: ${allow}`,
    ],
    OFFER,
  );
  expect(sessions).toHaveLength(1);
  const session = sessions[0];
  const leg = new SipLeg(session, 'uas', { media: engine, mediaAddress: '127.0.0.1', mediaTimeoutMs: 0, clock, sessionTimer: { minSE: 90, interval: 1800 } });
  expect(await leg.prepareInbound()).toBeUndefined();
  leg.answer();
  const ok = responses.find((r) => r.status === 200 && r.cseq.method === 'INVITE');
  expect(ok?.getHeader('Session-Expires')).toBe(`${INTERVAL};refresher=${refresher}`);
  const h: Harness = {
    clock,
    ua,
    responses,
    requests,
    leg,
    session,
    timeouts: 0,
    send,
    inDialog(method, cseq, opts = {}) {
      send(
        [
          `${method} sip:1000@192.0.2.1 SIP/2.0`,
          `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-${opts.branch ?? `${method.toLowerCase()}${cseq}`}`,
          'Max-Forwards: 70',
          'From: <sip:alice@192.0.2.10>;tag=a1',
          `To: <sip:1000@192.0.2.1>;tag=${session.localTag}`,
          `Call-ID: ${CALL_ID}`,
          `CSeq: ${cseq} ${method}`,
          'Contact: <sip:alice@192.0.2.10:5060>',
          ...(opts.extra ?? []),
        ],
        opts.body ?? '',
      );
    },
    answers: (method) => responses.filter((r) => r.cseq.method === method).map((r) => r.status),
  };
  leg.on('sessiontimeout', () => h.timeouts++);
  const confirmed = jest.fn();
  leg.on('confirmed', confirmed);
  if (ackDelayMs > 0) clock.advance(ackDelayMs);
  h.inDialog('ACK', 1, { branch: 'ack1' });
  expect(confirmed).toHaveBeenCalledTimes(1);
  return h;
}

/**
 * Answer the request the leg sent last with `status` (and an SDP answer for a 2xx to a re-INVITE), and let the leg
 * take the answer (a re-INVITE's outcome arrives through a promise). A 2xx carries `sessionExpires` (default: the
 * interval with the leg, the UAC of the refresh, still refreshing).
 */
async function answerLast(h: Harness, method: string, status: number, sessionExpires: string | null = `${INTERVAL};refresher=uac`): Promise<SipRequest> {
  const req = [...h.requests].reverse().find((r) => r.method === method);
  expect(req).toBeDefined();
  const body = method === 'INVITE' && status === 200 ? Buffer.from(OFFER) : undefined;
  const res = createResponse(req!, status, undefined, {
    toTag: 'a1',
    headers: status === 200 ? [['Contact', '<sip:alice@192.0.2.10:5060>'], ...(sessionExpires === null ? [] : ([['Session-Expires', sessionExpires]] as [string, string][]))] : [],
    body,
    contentType: body ? 'application/sdp' : undefined,
  });
  h.ua.receive(res.serialize(), { ...PEER });
  await new Promise((r) => setImmediate(r));
  return req!;
}

describe('SipLeg session refresh (RFC 4028 §10): only a 2xx refreshes', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    h?.leg.hangup();
    await h?.ua.close();
    await engine.closeAll();
    h = undefined;
  });

  it('as UAS: a refresh re-INVITE answered 400 and an UPDATE answered 488 leave the expiry where it was', async () => {
    h = await answeredLeg('uac');
    const se = [`Session-Expires: ${INTERVAL};refresher=uac`, 'Supported: timer'];
    h.clock.advance(50 * S);
    h.inDialog('INVITE', 2, { extra: se, body: 'not an sdp at all' });
    h.inDialog('ACK', 2, { branch: 'invite2' });
    h.inDialog('UPDATE', 3, { extra: se, body: G729_ONLY });
    expect(h.answers('INVITE').slice(-1)).toEqual([400]);
    expect(h.answers('UPDATE')).toEqual([488]);
    h.clock.advance(EXPIRY_MS - 50 * S - 1);
    expect(h.timeouts).toBe(0);
    h.clock.advance(1);
    expect(h.timeouts).toBe(1);
  });

  it('as UAS: a refresh answered 2xx (UPDATE, then re-INVITE) restarts the timer from the moment of the 2xx', async () => {
    h = await answeredLeg('uac');
    const se = [`Session-Expires: ${INTERVAL};refresher=uac`, 'Supported: timer'];
    h.clock.advance(50 * S);
    h.inDialog('UPDATE', 2, { extra: se });
    expect(h.answers('UPDATE')).toEqual([200]);
    expect(h.responses[h.responses.length - 1].getHeader('Session-Expires')).toBe(`${INTERVAL};refresher=uac`);
    h.clock.advance(EXPIRY_MS - 1);
    expect(h.timeouts).toBe(0);
    h.inDialog('INVITE', 3, { extra: se, body: OFFER });
    expect(h.answers('INVITE').slice(-1)).toEqual([200]);
    h.inDialog('ACK', 3, { branch: 'ack3' });
    h.clock.advance(EXPIRY_MS - 1);
    expect(h.timeouts).toBe(0);
    h.clock.advance(1);
    expect(h.timeouts).toBe(1);
  });

  it('a refresh answered non-2xx while another succeeds later: only the 2xx counts', async () => {
    h = await answeredLeg('uac');
    const se = [`Session-Expires: ${INTERVAL};refresher=uac`, 'Supported: timer'];
    h.clock.advance(10 * S);
    h.inDialog('UPDATE', 2, { extra: se });
    h.clock.advance(40 * S);
    h.inDialog('UPDATE', 3, { extra: se, body: G729_ONLY });
    expect(h.answers('UPDATE')).toEqual([200, 488]);
    // Expiry counts from the 200 at 10 s, not from the 488 at 50 s.
    h.clock.advance(EXPIRY_MS - 40 * S - 1);
    expect(h.timeouts).toBe(0);
    h.clock.advance(1);
    expect(h.timeouts).toBe(1);
  });

  describe.each([
    ['UPDATE', 'INVITE, ACK, BYE, CANCEL, UPDATE'],
    ['INVITE', 'INVITE, ACK, BYE, CANCEL'],
  ])('as refresher (UAC of the refresh), by %s', (method, allow) => {
    it.each([488, 500, 403])(`a %i to our ${method} refresh does not restart the timer: the session expires`, async (status) => {
      h = await answeredLeg('uas', allow);
      h.clock.advance(INTERVAL * S / 2);
      const sent = h.requests.filter((r) => r.method === method);
      expect(sent).toHaveLength(1);
      // RFC 4028 §7.4: refresher=uac, we being the UAC of the refresh and the refresher.
      expect(sent[0].getHeader('Session-Expires')).toBe(`${INTERVAL};refresher=uac`);
      await answerLast(h, method, status);
      expect(h.leg.isEnded).toBe(false);
      h.clock.advance(EXPIRY_MS - INTERVAL * S / 2 - 1);
      expect(h.timeouts).toBe(0);
      h.clock.advance(1);
      expect(h.timeouts).toBe(1);
    });

    it(`a 200 to our ${method} refresh restarts the timer; the next refresh goes out half an interval later`, async () => {
      h = await answeredLeg('uas', allow);
      h.clock.advance(INTERVAL * S / 2);
      await answerLast(h, method, 200);
      h.clock.advance(INTERVAL * S / 2 - 1);
      expect(h.requests.filter((r) => r.method === method)).toHaveLength(1);
      expect(h.timeouts).toBe(0);
      h.clock.advance(1);
      expect(h.requests.filter((r) => r.method === method)).toHaveLength(2);
      expect(h.timeouts).toBe(0);
    });
  });
});

describe('SipLeg session timer values (RFC 4028 §9, §10): the party may change them, and the timer starts with the 2xx', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    h?.leg.hangup();
    await h?.ua.close();
    await engine.closeAll();
    h = undefined;
  });

  const sent = (method: string): SipRequest[] => h!.requests.filter((r) => r.method === method);
  const lastAnswer = (method: string): SipResponse => {
    const res = [...h!.responses].reverse().find((r) => r.cseq.method === method);
    expect(res).toBeDefined();
    return res!;
  };

  it('a refresh asking a longer interval: our 2xx takes it up and the session expires by it', async () => {
    h = await answeredLeg('uac');
    h.clock.advance(50 * S);
    h.inDialog('UPDATE', 2, { extra: ['Session-Expires: 120;refresher=uac', 'Supported: timer'] });
    const ok = lastAnswer('UPDATE');
    expect(ok.status).toBe(200);
    expect(ok.getHeader('Session-Expires')).toBe('120;refresher=uac');
    expect(ok.getHeader('Require')).toBe('timer');
    // §10: 120 - min(32, 120/3) = 88 s after the 2xx, where a 90 s interval would have expired after 60 s.
    h.clock.advance(88 * S - 1);
    expect(h.timeouts).toBe(0);
    h.clock.advance(1);
    expect(h.timeouts).toBe(1);
  });

  it('a refresh asking a shorter interval (still above our Min-SE) is taken up too', async () => {
    h = await answeredLeg('uac');
    h.inDialog('UPDATE', 2, { extra: ['Session-Expires: 3600;refresher=uac', 'Supported: timer'] });
    // Capped at our policy interval (1800), which the 2xx says (§9: the UAS may lower it).
    expect(lastAnswer('UPDATE').getHeader('Session-Expires')).toBe('1800;refresher=uac');
    h.clock.advance(10 * S);
    h.inDialog('INVITE', 3, { extra: ['Session-Expires: 100;refresher=uac', 'Supported: timer'], body: OFFER });
    expect(lastAnswer('INVITE').getHeader('Session-Expires')).toBe('100;refresher=uac');
    h.inDialog('ACK', 3, { branch: 'ack3' });
    // 100 - 32 = 68 s after that 2xx.
    h.clock.advance(68 * S - 1);
    expect(h.timeouts).toBe(0);
    h.clock.advance(1);
    expect(h.timeouts).toBe(1);
  });

  it('a refresh below our Min-SE gets 422 with Min-SE and changes nothing', async () => {
    h = await answeredLeg('uac');
    h.clock.advance(20 * S);
    h.inDialog('UPDATE', 2, { extra: ['Session-Expires: 60;refresher=uac', 'Supported: timer'] });
    const refused = lastAnswer('UPDATE');
    expect(refused.status).toBe(422);
    expect(refused.getHeader('Min-SE')).toBe('90');
    h.clock.advance(EXPIRY_MS - 20 * S - 1);
    expect(h.timeouts).toBe(0);
    h.clock.advance(1);
    expect(h.timeouts).toBe(1);
  });

  it('a refresh handing us the refresher role (refresher=uas): we refresh half an interval after our 2xx', async () => {
    h = await answeredLeg('uac');
    h.clock.advance(30 * S);
    h.inDialog('UPDATE', 2, { extra: ['Session-Expires: 100;refresher=uas', 'Supported: timer'] });
    const ok = lastAnswer('UPDATE');
    expect(ok.getHeader('Session-Expires')).toBe('100;refresher=uas');
    expect(ok.getHeader('Require')).toBeUndefined();
    h.clock.advance(50 * S - 1);
    expect(sent('UPDATE')).toHaveLength(0);
    h.clock.advance(1);
    expect(sent('UPDATE')).toHaveLength(1);
    // §7.4: in our refresh we are the UAC and the refresher.
    expect(sent('UPDATE')[0].getHeader('Session-Expires')).toBe('100;refresher=uac');
  });

  it('a refresh taking the refresher role from us (refresher=uac): we stop refreshing and expect its refreshes', async () => {
    h = await answeredLeg('uas');
    h.clock.advance(10 * S);
    h.inDialog('INVITE', 2, { extra: ['Session-Expires: 90;refresher=uac', 'Supported: timer'], body: OFFER });
    expect(lastAnswer('INVITE').getHeader('Session-Expires')).toBe('90;refresher=uac');
    h.inDialog('ACK', 2, { branch: 'ack2' });
    // Our own refresh was due at 45 s; it never goes out, and the session expires 60 s after the 2xx at 10 s.
    h.clock.advance(EXPIRY_MS - 1);
    expect(sent('UPDATE')).toHaveLength(0);
    expect(sent('INVITE')).toHaveLength(0);
    expect(h.timeouts).toBe(0);
    h.clock.advance(1);
    expect(h.timeouts).toBe(1);
  });

  it('a refresh naming no refresher leaves the role where it is', async () => {
    h = await answeredLeg('uas');
    h.clock.advance(10 * S);
    h.inDialog('UPDATE', 2, { extra: ['Session-Expires: 90', 'Supported: timer'] });
    expect(lastAnswer('UPDATE').getHeader('Session-Expires')).toBe('90;refresher=uas');
    h.clock.advance(45 * S);
    expect(sent('UPDATE')).toHaveLength(1);
  });

  it('a 2xx to our refresh naming the party as refresher hands the role over, with its interval', async () => {
    h = await answeredLeg('uas');
    h.clock.advance(INTERVAL * S / 2);
    expect(sent('UPDATE')).toHaveLength(1);
    await answerLast(h, 'UPDATE', 200, '120;refresher=uas');
    // §7.4: roles of our refresh, so uas is the party; 120 - 32 = 88 s until the BYE, no refresh of ours.
    h.clock.advance(88 * S - 1);
    expect(sent('UPDATE')).toHaveLength(1);
    expect(h.timeouts).toBe(0);
    h.clock.advance(1);
    expect(h.timeouts).toBe(1);
  });

  it('as UAS, the session timer starts when our 2xx goes out, not at the ACK', async () => {
    h = await answeredLeg('uac', undefined, 20 * S);
    // The 2xx left at 0 and the ACK came at 20 s: the session expires at 60 s, not 80 s.
    h.clock.advance(EXPIRY_MS - 20 * S - 1);
    expect(h.timeouts).toBe(0);
    h.clock.advance(1);
    expect(h.timeouts).toBe(1);
  });

  it('as UAS and refresher, the first refresh goes out half an interval after our 2xx, not after the ACK', async () => {
    h = await answeredLeg('uas', undefined, 20 * S);
    h.clock.advance(INTERVAL * S / 2 - 20 * S - 1);
    expect(sent('UPDATE')).toHaveLength(0);
    h.clock.advance(1);
    expect(sent('UPDATE')).toHaveLength(1);
  });
});

import { SipTransportLayer } from '../../../src/sip/transport';
import { SipUserAgent, type ClientInviteSession, type InviteFailure, type ReferProgress } from '../../../src/sip/ua';
import type { SipResponse } from '../../../src/sip/message';
import { systemClock } from '../../../src/util';
import { scenarioPath, startSipp, type SippResult } from '../../helpers/sipp';

// Our UAC (SipUserAgent on the real UDP transport) against SIPp UAS scenarios in sipp/uas-*.xml.

const OFFER = Buffer.from(
  ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', ''].join('\r\n'),
);

let transport: SipTransportLayer;
let ua: SipUserAgent;

beforeAll(async () => {
  const holder: { ua?: SipUserAgent } = {};
  transport = new SipTransportLayer({ host: '127.0.0.1', udp: { port: 0 }, tcp: false, onMessage: (data, source) => holder.ua?.receive(data, source) });
  await transport.start();
  ua = new SipUserAgent({
    clock: systemClock,
    send: (target, data) => transport.send(target, data),
    publicHost: '127.0.0.1',
    ports: { UDP: transport.ports.udp! },
  });
  holder.ua = ua;
});

afterAll(async () => {
  await ua?.close();
  await transport?.close();
});

type Sipp = Awaited<ReturnType<typeof startSipp>>;
const running: Sipp[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

async function uas(name: string): Promise<Sipp> {
  const s = await startSipp({ scenario: scenarioPath(name), calls: 1, timeoutS: 25 });
  running.push(s);
  return s;
}

function once<T>(session: ClientInviteSession, event: 'answered' | 'failed' | 'ended'): Promise<T> {
  return new Promise<T>((resolve) => session.once(event, ((arg: T) => resolve(arg)) as never));
}

async function finished(s: Sipp): Promise<SippResult> {
  const r = await s.done;
  running.splice(running.indexOf(s), 1);
  return r;
}

function call(port: number, extra: Partial<Parameters<SipUserAgent['invite']>[0]> = {}): ClientInviteSession {
  return ua.invite({ to: `sip:service@127.0.0.1:${port}`, from: { uri: 'sip:caller@127.0.0.1', displayName: 'Caller' }, body: OFFER, ...extra });
}

describe('outbound calls against SIPp', () => {
  it('is answered (180 then 200, ACK sent) and hung up from our side with BYE', async () => {
    const sipp = await uas('uas-answer');
    const session = call(sipp.port);
    const statuses: number[] = [];
    session.on('provisional', (p) => statuses.push(p.status));
    const answered = await once<SipResponse>(session, 'answered');
    expect(answered.status).toBe(200);
    expect(statuses).toContain(180);
    expect(session.state).toBe('Confirmed');
    expect(session.dialog?.state).toBe('Confirmed');
    const ended = once<string>(session, 'ended');
    session.bye();
    expect(await ended).toBe('local-bye');
    const r = await finished(sipp);
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
    expect(r.failed).toBe(0);
  });

  it('puts the call on hold with a re-INVITE (sendonly) and gets the recvonly answer', async () => {
    const sipp = await uas('uas-answer');
    const session = call(sipp.port);
    await once(session, 'answered');
    const hold = Buffer.from(OFFER.toString().replace('a=sendrecv', 'a=sendonly'));
    const res = await session.reinvite({ body: hold });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain('a=recvonly');
    expect(session.dialog?.state).toBe('Confirmed');
    session.bye();
    const r = await finished(sipp);
    expect(r.successful).toBe(1);
    expect(r.failed).toBe(0);
  });

  it('answers the 401 challenge with digest credentials and is then answered', async () => {
    const sipp = await uas('uas-auth');
    const session = call(sipp.port, { credentials: { username: 'alice', password: 'secret' } });
    const failed = jest.fn();
    session.on('failed', failed);
    const res = await once<SipResponse>(session, 'answered');
    expect(res.status).toBe(200);
    expect(failed).not.toHaveBeenCalled();
    // RFC 3261 §22.2: same Call-ID and From tag, a higher CSeq, and credentials on the retried INVITE.
    expect(session.request?.getHeader('Authorization')).toMatch(/^Digest username="alice", realm="sipp.test"/);
    expect(session.request?.callId).toBe(session.callId);
    session.bye();
    const r = await finished(sipp);
    expect(r.successful).toBe(1);
  });

  it('reports busy for 486 Busy Here', async () => {
    const sipp = await uas('uas-busy');
    const session = call(sipp.port);
    const failure = await once<InviteFailure>(session, 'failed');
    expect(failure).toMatchObject({ status: 486, outcome: 'busy' });
    expect(session.isEnded).toBe(true);
    expect(session.endCause).toBe('failed');
    const r = await finished(sipp);
    expect(r.successful).toBe(1);
  });

  it('cancels when the no-answer timer fires after ringing: CANCEL, 487, no-answer outcome', async () => {
    const sipp = await uas('uas-noanswer');
    const session = call(sipp.port, { timeoutMs: 1000 });
    const ringing = new Promise<void>((resolve) => session.once('provisional', () => resolve()));
    const failure = await once<InviteFailure>(session, 'failed');
    await ringing;
    expect(failure).toMatchObject({ status: 487, outcome: 'no-answer' });
    expect(session.endCause).toBe('canceled');
    const r = await finished(sipp);
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
  });

  it('cancels on request after ringing: canceled outcome', async () => {
    const sipp = await uas('uas-noanswer');
    const session = call(sipp.port);
    session.once('provisional', () => session.cancel());
    const failure = await once<InviteFailure>(session, 'failed');
    expect(failure).toMatchObject({ status: 487, outcome: 'canceled' });
    const r = await finished(sipp);
    expect(r.successful).toBe(1);
  });

  it('sends REFER and reports the NOTIFY sipfrag progress until the subscription terminates', async () => {
    const sipp = await uas('uas-refer');
    const session = call(sipp.port);
    await once(session, 'answered');
    const progress: ReferProgress[] = [];
    const done = new Promise<void>((resolve) =>
      session.on('referprogress', (p) => {
        progress.push(p);
        if (p.final) resolve();
      }),
    );
    const res = await session.refer('sip:transfer-target@127.0.0.1');
    expect(res.status).toBe(202);
    await done;
    expect(progress.map((p) => [p.status, p.final])).toEqual([
      [100, false],
      [200, true],
    ]);
    session.bye();
    const r = await finished(sipp);
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
  });

  it('leaves no session behind', () => {
    expect(ua.sessionCount).toBe(0);
  });
});

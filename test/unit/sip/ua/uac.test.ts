import { parseMessage, type SipRequest } from '../../../../src/sip/message';
import { SipRequestError, SipUserAgent } from '../../../../src/sip/ua';
import { VirtualClock } from '../../../../src/util';

// ua.request(): out-of-dialog requests with digest retry, in virtual time with a captured wire.

const SOURCE = { transport: 'UDP' as const, address: '192.0.2.10', port: 5060, local: { address: '192.0.2.1', port: 5060 } };

function setup(): { clock: VirtualClock; ua: SipUserAgent; sent: SipRequest[]; reply(req: SipRequest, status: number, extra?: string[]): void } {
  const clock = new VirtualClock();
  const sent: SipRequest[] = [];
  const ua = new SipUserAgent({
    clock,
    send: async (_t, data) => {
      const r = parseMessage(data);
      if (r.ok && r.msg.isRequest) sent.push(r.msg as SipRequest);
    },
    publicHost: '192.0.2.1',
    ports: { UDP: 5060 },
  });
  const reply = (req: SipRequest, status: number, extra: string[] = []): void => {
    const text = [
      `SIP/2.0 ${status} X`,
      ...req.getHeaders('Via').map((v) => `Via: ${v}`),
      `From: ${req.getHeader('From')}`,
      `To: ${req.getHeader('To')};tag=srv`,
      `Call-ID: ${req.callId}`,
      `CSeq: ${req.getHeader('CSeq')}`,
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    ua.receive(Buffer.from(text), { ...SOURCE });
  };
  return { clock, ua, sent, reply };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('SipUserAgent.request', () => {
  it('REGISTER answered 401 is retried with credentials, a new CSeq and the same Call-ID, then resolves with 200', async () => {
    const { ua, sent, reply } = setup();
    const p = ua.request('REGISTER', 'sip:192.0.2.10', {
      from: '<sip:alice@example.com>',
      to: '<sip:alice@example.com>',
      headers: [['Contact', '<sip:alice@192.0.2.1:5060>'], ['Expires', '300']],
      credentials: { username: 'alice', password: 'pw' },
    });
    await flush();
    expect(sent).toHaveLength(1);
    reply(sent[0], 401, ['WWW-Authenticate: Digest realm="example.com", nonce="abc", qop="auth"']);
    expect(sent).toHaveLength(2);
    expect(sent[1].callId).toBe(sent[0].callId);
    expect(sent[1].cseq.seq).toBe(sent[0].cseq.seq + 1);
    expect(sent[1].getHeader('Authorization')).toMatch(/uri="sip:192.0.2.10".*qop=auth, nc=00000001$/);
    reply(sent[1], 200);
    expect((await p).status).toBe(200);
    await ua.close();
  });

  it('resolves with the 401 when there are no credentials, and rejects with SIP_REQUEST_TIMEOUT without an answer', async () => {
    const { clock, ua, sent, reply } = setup();
    const challenged = ua.request('OPTIONS', 'sip:192.0.2.10');
    await flush();
    reply(sent[0], 401, ['WWW-Authenticate: Digest realm="r", nonce="n"']);
    expect((await challenged).status).toBe(401);
    const silent = ua.request('MESSAGE', 'sip:bob@192.0.2.10', { body: Buffer.from('hi'), contentType: 'text/plain' });
    await flush();
    clock.advance(64 * 500 + 1000);
    await expect(silent).rejects.toBeInstanceOf(SipRequestError);
    await expect(silent).rejects.toMatchObject({ code: 'SIP_REQUEST_TIMEOUT', status: 408 });
    await ua.close();
  });

  it('refuses INVITE, CANCEL and ACK (they belong to invite())', async () => {
    const { ua } = setup();
    await expect(ua.request('INVITE', 'sip:bob@192.0.2.10')).rejects.toBeInstanceOf(TypeError);
    await ua.close();
  });
});

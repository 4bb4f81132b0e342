import { parseMessage, type SipRequest } from '../../../../src/sip/message';
import { SipUserAgent, type ClientInviteSession, type InviteFailure } from '../../../../src/sip/ua';
import { VirtualClock } from '../../../../src/util';

// The UAC session in virtual time: the UA's wire output is captured, the peer's responses are written by hand.

const PEER = { transport: 'UDP' as const, address: '192.0.2.10', port: 5060, local: { address: '192.0.2.1', port: 5060 } };

interface Harness {
  clock: VirtualClock;
  ua: SipUserAgent;
  sent: SipRequest[];
  respond(req: SipRequest, status: number, opts?: { toTag?: string; reason?: string; contact?: boolean; extra?: string[] }): void;
  methods(): string[];
}

function harness(): Harness {
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
  return {
    clock,
    ua,
    sent,
    methods: () => sent.map((r) => r.method),
    respond(req, status, opts = {}) {
      const to = req.getHeader('To')! + (opts.toTag && !/;tag=/.test(req.getHeader('To')!) ? `;tag=${opts.toTag}` : '');
      const lines = [
        `SIP/2.0 ${status} ${opts.reason ?? 'X'}`,
        ...req.getHeaders('Via').map((v) => `Via: ${v}`),
        `From: ${req.getHeader('From')}`,
        `To: ${to}`,
        `Call-ID: ${req.callId}`,
        `CSeq: ${req.getHeader('CSeq')}`,
        ...(opts.contact ? [`Contact: <sip:peer-${opts.toTag ?? 'x'}@192.0.2.10:5060>`] : []),
        ...(opts.extra ?? []),
        'Content-Length: 0',
        '',
        '',
      ];
      ua.receive(Buffer.from(lines.join('\r\n')), { ...PEER });
    },
  };
}

async function started(h: Harness, timeoutMs?: number): Promise<ClientInviteSession> {
  const s = h.ua.invite({ to: 'sip:bob@192.0.2.10', from: 'sip:alice@192.0.2.1', body: Buffer.from('v=0\r\n'), timeoutMs });
  await Promise.resolve();
  await Promise.resolve();
  return s;
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('ClientInviteSession', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(async () => {
    await h.ua.close();
  });

  it('sends no CANCEL before a provisional response (RFC 3261 §9.1), then sends it when one arrives', async () => {
    const s = await started(h);
    const invite = h.sent[0];
    expect(invite.method).toBe('INVITE');
    expect(invite.getHeader('Supported')).toContain('100rel');
    s.cancel();
    expect(h.methods()).toEqual(['INVITE']);
    h.respond(invite, 100, { reason: 'Trying' });
    expect(h.methods()).toEqual(['INVITE', 'CANCEL']);
    const cancel = h.sent[1];
    expect(cancel.branch).toBe(invite.branch);
    const failed = new Promise<InviteFailure>((r) => s.once('failed', r));
    h.respond(invite, 487, { toTag: 'b1' });
    expect(await failed).toMatchObject({ status: 487, outcome: 'canceled' });
  });

  it('the no-answer timer CANCELs a ringing call; without a 487 the INVITE is given up after 64*T1', async () => {
    const s = await started(h, 5000);
    const invite = h.sent[0];
    h.respond(invite, 180, { toTag: 'b1', contact: true });
    expect(s.state).toBe('Early');
    h.clock.advance(5000);
    expect(h.methods()).toContain('CANCEL');
    const failures: InviteFailure[] = [];
    s.on('failed', (f) => failures.push(f));
    h.clock.advance(64 * 500);
    expect(failures).toMatchObject([{ outcome: 'no-answer' }]);
    expect(s.isEnded).toBe(true);
    expect(h.ua.dialogs.size).toBe(0);
  });

  it('ACKs the 2xx, re-ACKs its retransmission, and ACKs then BYEs a second fork (RFC 3261 §13.2.2.4)', async () => {
    const s = await started(h);
    const invite = h.sent[0];
    const answered = jest.fn();
    s.on('answered', answered);
    h.respond(invite, 200, { toTag: 'fork1', contact: true });
    await flush();
    expect(answered).toHaveBeenCalledTimes(1);
    expect(h.methods()).toEqual(['INVITE', 'ACK']);
    const ack = h.sent[1];
    expect(ack.uri.user).toBe('peer-fork1');
    expect(ack.cseq).toEqual({ seq: invite.cseq.seq, method: 'ACK' });
    // Retransmission while the transaction is Accepted: the same ACK again.
    h.respond(invite, 200, { toTag: 'fork1', contact: true });
    expect(h.methods()).toEqual(['INVITE', 'ACK', 'ACK']);
    expect(h.sent[2].branch).toBe(ack.branch);
    // A second fork answers: ACK it and hang it up.
    h.respond(invite, 200, { toTag: 'fork2', contact: true });
    expect(h.methods()).toEqual(['INVITE', 'ACK', 'ACK', 'ACK', 'BYE']);
    expect(h.sent[4].uri.user).toBe('peer-fork2');
    expect(answered).toHaveBeenCalledTimes(1);
    expect(s.dialog?.id.remoteTag).toBe('fork1');
    // Once the INVITE transaction is gone, a retransmitted 2xx is a stray response: the UA core re-ACKs it.
    h.ua.transactions.findClientTransaction(invite.branch!, 'INVITE')!.terminate();
    const acksBefore = h.sent.filter((r) => r.method === 'ACK').length;
    h.respond(invite, 200, { toTag: 'fork1', contact: true });
    const acks = h.sent.filter((r) => r.method === 'ACK');
    expect(acks).toHaveLength(acksBefore + 1);
    expect(acks[acks.length - 1].branch).toBe(ack.branch);
  });

  it('PRACKs a reliable provisional once (RFC 3262)', async () => {
    const s = await started(h);
    const invite = h.sent[0];
    const provisional = jest.fn();
    s.on('provisional', provisional);
    h.respond(invite, 183, { toTag: 'b1', contact: true, extra: ['Require: 100rel', 'RSeq: 7'] });
    await flush();
    h.respond(invite, 183, { toTag: 'b1', contact: true, extra: ['Require: 100rel', 'RSeq: 7'] });
    await flush();
    const pracks = h.sent.filter((r) => r.method === 'PRACK');
    expect(pracks).toHaveLength(1);
    expect(pracks[0].getHeader('RAck')).toBe(`7 ${invite.cseq.seq} INVITE`);
    expect(provisional).toHaveBeenCalledTimes(1);
    expect(provisional.mock.calls[0][0]).toMatchObject({ status: 183, reliable: true });
  });

  it('gives up on a second challenge for the same realm without stale=true', async () => {
    const s = h.ua.invite({ to: 'sip:bob@192.0.2.10', from: 'sip:alice@192.0.2.1', credentials: { username: 'alice', password: 'wrong' } });
    await flush();
    const failed = new Promise<InviteFailure>((r) => s.once('failed', r));
    const challenge = ['WWW-Authenticate: Digest realm="r", nonce="n1"'];
    h.respond(h.sent[0], 401, { toTag: 'u1', extra: challenge });
    const retry = h.sent.filter((r) => r.method === 'INVITE')[1];
    expect(retry.cseq.seq).toBe(h.sent[0].cseq.seq + 1);
    expect(retry.fromTag).toBe(h.sent[0].fromTag);
    expect(retry.getHeader('Authorization')).toContain('username="alice"');
    h.respond(retry, 401, { toTag: 'u2', extra: challenge });
    expect(await failed).toMatchObject({ status: 401, outcome: 'rejected' });
    expect(h.methods().filter((m) => m === 'INVITE')).toHaveLength(2);
  });
});

import { SipResponse } from '../../../src/sip/message';
import { SipRequestError, type OutOfDialogRequestOptions } from '../../../src/sip/ua';
import { TrunkRegistration, grantedExpires, type RegistrationParams, type TrunkAttemptResult, type TrunkRequester } from '../../../src/trunks';
import { VirtualClock } from '../../../src/util';

interface Sent {
  method: string;
  uri: string;
  opts: OutOfDialogRequestOptions;
  at: number;
  header(name: string): string | undefined;
}

/** A requester whose answers the test scripts; every request is recorded with the virtual time it left. */
function fakeRequester(clock: VirtualClock, answer: (req: Sent) => SipResponse | Error): TrunkRequester & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    publicHost: '192.0.2.10',
    contactFor: () => '<sip:192.0.2.10:5060>',
    request: (method, uri, opts = {}) => {
      const req: Sent = { method, uri: String(uri), opts, at: clock.now(), header: (n) => opts.headers?.find(([k]) => k === n)?.[1] };
      sent.push(req);
      const a = answer(req);
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
  };
}

function response(status: number, req: Sent, headers: [string, string][] = []): SipResponse {
  return new SipResponse(status, 'X', [['CSeq', `${req.opts.cseq ?? 1} REGISTER`], ...headers]);
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

async function advance(clock: VirtualClock, ms: number): Promise<void> {
  // Fire timers in small steps so the async attempts they start complete between steps.
  let left = ms;
  do {
    const step = Math.min(250, left);
    clock.advance(step);
    await flush();
    left -= step;
  } while (left > 0);
}

const PARAMS: RegistrationParams = {
  registrarUri: 'sip:provider.example',
  aor: 'sip:acct@provider.example',
  contact: '<sip:acct@192.0.2.10:5060>',
  resolveTarget: async () => ({ transport: 'UDP', address: '198.51.100.1', port: 5060 }),
  credentials: { username: 'acct', password: 'pw' },
  expiresS: 3600,
};

describe('TrunkRegistration', () => {
  it('registers, then refreshes before the granted interval runs out with the same Call-ID and a higher CSeq', async () => {
    const clock = new VirtualClock();
    const ua = fakeRequester(clock, (req) => response(200, req, [['Contact', '<sip:acct@192.0.2.10:5060>;expires=120']]));
    const reg = new TrunkRegistration(PARAMS, { clock, requester: ua, random: () => 0.5 });
    reg.start();
    await advance(clock, 0);
    expect(reg.state).toBe('registered');
    expect(reg.snapshot()).toMatchObject({ grantedExpiresS: 120, lastCode: 200, failures: 0 });
    expect(ua.sent[0]).toMatchObject({ method: 'REGISTER', uri: 'sip:provider.example' });
    expect(ua.sent[0].opts).toMatchObject({ from: '<sip:acct@provider.example>', to: '<sip:acct@provider.example>', target: { address: '198.51.100.1' } });
    expect(ua.sent[0].header('Expires')).toBe('3600');
    expect(ua.sent[0].header('Contact')).toBe('<sip:acct@192.0.2.10:5060>');
    // 120 s granted: refresh at max(120/2, 120-60) = 60 s.
    await advance(clock, 59_000);
    expect(ua.sent).toHaveLength(1);
    await advance(clock, 1_500);
    expect(ua.sent).toHaveLength(2);
    expect(ua.sent[1].at - ua.sent[0].at).toBe(60_000);
    expect(ua.sent[1].opts.callId).toBe(ua.sent[0].opts.callId);
    expect(ua.sent[1].opts.cseq).toBeGreaterThan(ua.sent[0].opts.cseq!);
    // The same DigestClient travels with every refresh (nonce reuse with growing nonce counts).
    expect(ua.sent[1].opts.digest).toBe(ua.sent[0].opts.digest);
  });

  it('refreshes a long registration a margin before it expires', async () => {
    const clock = new VirtualClock();
    const ua = fakeRequester(clock, (req) => response(200, req, [['Expires', '3600']]));
    const reg = new TrunkRegistration(PARAMS, { clock, requester: ua });
    reg.start();
    await advance(clock, 0);
    expect(reg.snapshot().nextAttemptAt! - clock.wallNow()).toBe(3_540_000);
  });

  it('fails on 403 and retries with exponential backoff, reporting every result', async () => {
    const clock = new VirtualClock();
    const results: TrunkAttemptResult[] = [];
    const ua = fakeRequester(clock, (req) => response(403, req));
    const reg = new TrunkRegistration(PARAMS, { clock, requester: ua, random: () => 0.5, retryBaseMs: 5_000, retryMaxMs: 15_000, onResult: (r) => results.push(r) });
    reg.start();
    await advance(clock, 60_000);
    expect(reg.state).toBe('failed');
    expect(reg.snapshot().lastCode).toBe(403);
    // Gaps of 5 s, 10 s, then capped at 15 s.
    const at = ua.sent.slice(0, 5).map((s) => s.at);
    expect(at.slice(1).map((t, i) => t - at[i])).toEqual([5_000, 10_000, 15_000, 15_000]);
    expect(results.slice(0, 3)).toEqual([403, 403, 403]);
  });

  it('recovers after failures and resets the failure count', async () => {
    const clock = new VirtualClock();
    let n = 0;
    const ua = fakeRequester(clock, (req) => (++n < 3 ? new SipRequestError('SIP_REQUEST_TIMEOUT', 'no answer', 408) : response(200, req)));
    const results: TrunkAttemptResult[] = [];
    const reg = new TrunkRegistration(PARAMS, { clock, requester: ua, random: () => 0.5, retryBaseMs: 1_000, onResult: (r) => results.push(r) });
    reg.start();
    await advance(clock, 0);
    expect(reg.state).toBe('failed');
    expect(reg.snapshot().lastCode).toBe(408);
    await advance(clock, 5_000);
    expect(reg.state).toBe('registered');
    expect(reg.snapshot().failures).toBe(0);
    expect(results).toEqual(['timeout', 'timeout', 200]);
  });

  it('follows 423 Interval Too Brief with the Min-Expires at once', async () => {
    const clock = new VirtualClock();
    const ua = fakeRequester(clock, (req) => (req.header('Expires') === '60' ? response(423, req, [['Min-Expires', '600']]) : response(200, req)));
    const reg = new TrunkRegistration({ ...PARAMS, expiresS: 60 }, { clock, requester: ua });
    reg.start();
    await advance(clock, 0);
    expect(ua.sent.map((s) => s.header('Expires'))).toEqual(['60', '600']);
    expect(reg.state).toBe('registered');
    expect(reg.snapshot().grantedExpiresS).toBe(600);
  });

  it('waits at least Retry-After after a 503', async () => {
    const clock = new VirtualClock();
    const ua = fakeRequester(clock, (req) => response(503, req, [['Retry-After', '40']]));
    const reg = new TrunkRegistration(PARAMS, { clock, requester: ua, random: () => 0.5 });
    reg.start();
    await advance(clock, 0);
    expect(reg.snapshot().nextAttemptAt! - clock.wallNow()).toBe(40_000);
  });

  it('de-registers with Expires: 0 when stopped while registered, and stops refreshing', async () => {
    const clock = new VirtualClock();
    const ua = fakeRequester(clock, (req) => response(200, req, [['Expires', '300']]));
    const reg = new TrunkRegistration(PARAMS, { clock, requester: ua });
    reg.start();
    await advance(clock, 0);
    await reg.stop({ deregister: true });
    expect(reg.state).toBe('unregistered');
    const last = ua.sent[ua.sent.length - 1];
    expect(last.header('Expires')).toBe('0');
    expect(last.header('Contact')).toBe('<sip:acct@192.0.2.10:5060>;expires=0');
    expect(last.opts.callId).toBe(ua.sent[0].opts.callId);
    const count = ua.sent.length;
    await advance(clock, 1_000_000);
    expect(ua.sent).toHaveLength(count);
  });

  it('sends nothing on stop when it never registered', async () => {
    const clock = new VirtualClock();
    const ua = fakeRequester(clock, (req) => response(403, req));
    const reg = new TrunkRegistration(PARAMS, { clock, requester: ua, random: () => 0.5 });
    reg.start();
    await advance(clock, 0);
    await reg.stop({ deregister: true });
    expect(ua.sent).toHaveLength(1);
  });
});

describe('grantedExpires', () => {
  const contact = '<sip:acct@192.0.2.10:5060>';
  it('prefers our Contact expires, then Expires, then the request', () => {
    const both = new SipResponse(200, 'OK', [
      ['Contact', '<sip:other@192.0.2.99>;expires=10, <sip:acct@192.0.2.10:5060;ob>;expires=90'],
      ['Expires', '3600'],
    ]);
    expect(grantedExpires(both, contact, 1800)).toBe(90);
    expect(grantedExpires(new SipResponse(200, 'OK', [['Expires', '120']]), contact, 1800)).toBe(120);
    expect(grantedExpires(new SipResponse(200, 'OK', []), contact, 1800)).toBe(1800);
  });
});

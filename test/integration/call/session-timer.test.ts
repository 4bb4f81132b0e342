import { createSocket } from 'node:dgram';
import { runSipp, scenarioPath } from '../../helpers/sipp';
import { startTestServer, type TestServer } from '../../helpers/server';
import { endedCdr, removeScratch } from './call-kit';

// RFC 4028 session timers end to end over UDP: SIPp callers ask for an 8 s session interval with themselves as the
// refresher (the server runs with SESSION_MIN_SE=4 so such short intervals are accepted). One refreshes with a
// re-INVITE and UPDATEs and keeps the call up past the interval; the other never refreshes and gets our BYE.

let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer({ DEFAULT_ROUTE: 'answer', SIP_TRANSPORTS: 'udp', SESSION_MIN_SE: '4' });
});

afterAll(async () => {
  await srv?.stop();
  removeScratch();
});

describe('session timer (RFC 4028) against SIPp', () => {
  it('a caller that refreshes (re-INVITE, then UPDATE) keeps the call up past the interval and hangs up itself', async () => {
    const r = await runSipp({ scenario: scenarioPath('uac-session-timer-refresh'), target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 60 });
    expect(r.errors).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.successful).toBe(1);
    const row = await endedCdr(srv.server.db, 'from_number = $1', ['st-refresh']);
    expect(row).toMatchObject({ status: 'completed', hangup_side: 'caller', hangup_cause: 'normal-clearing' });
  }, 90_000);

  it('a caller that never refreshes gets our BYE with Reason, and the CDR says session-timeout', async () => {
    const r = await runSipp({ scenario: scenarioPath('uac-session-timer-silent'), target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 60 });
    expect(r.errors).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.successful).toBe(1);
    const row = await endedCdr(srv.server.db, 'from_number = $1', ['st-silent']);
    expect(row).toMatchObject({ status: 'completed', hangup_side: 'system', hangup_cause: 'session-timeout' });
  }, 90_000);

  it('refuses a Session-Expires below SESSION_MIN_SE with 422 and Min-SE (RFC 4028 §6)', async () => {
    const sock = createSocket('udp4');
    try {
      await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
      const me = `127.0.0.1:${sock.address().port}`;
      const got = new Promise<string>((res) => sock.on('message', (m) => {
        const text = m.toString('latin1');
        if (!text.startsWith('SIP/2.0 1')) res(text);
      }));
      const invite = [
        `INVITE sip:1000@${srv.udpTarget} SIP/2.0`,
        `Via: SIP/2.0/UDP ${me};branch=z9hG4bK-st422`,
        'Max-Forwards: 70',
        `From: <sip:st-small@${me}>;tag=s1`,
        `To: <sip:1000@${srv.udpTarget}>`,
        'Call-ID: st-422@127.0.0.1',
        'CSeq: 1 INVITE',
        `Contact: <sip:st-small@${me}>`,
        'Supported: timer',
        'Session-Expires: 2;refresher=uac',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      sock.send(Buffer.from(invite), Number(srv.udpTarget.split(':')[1]), '127.0.0.1');
      const res = await got;
      expect(res).toMatch(/^SIP\/2\.0 422 /);
      expect(res).toMatch(/\r\nMin-SE: 4\r\n/i);
    } finally {
      sock.close();
    }
  }, 30_000);
});

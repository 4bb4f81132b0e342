import { RawSipSocket } from '../../helpers/raw-sip';
import { scenarioPath } from '../../helpers/sipp';
import { startTestServer, type TestServer } from '../../helpers/server';
import { endedCdr, removeScratch, runSippCleanly } from './call-kit';

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
    await runSippCleanly({ scenario: scenarioPath('uac-session-timer-refresh'), target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 60 });
    const row = await endedCdr(srv.server.db, 'from_number = $1', ['st-refresh']);
    expect(row).toMatchObject({ status: 'completed', hangup_side: 'caller', hangup_cause: 'normal-clearing' });
  }, 90_000);

  it('a caller that never refreshes gets our BYE with Reason, and the CDR says session-timeout', async () => {
    await runSippCleanly({ scenario: scenarioPath('uac-session-timer-silent'), target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 60 });
    const row = await endedCdr(srv.server.db, 'from_number = $1', ['st-silent']);
    expect(row).toMatchObject({ status: 'completed', hangup_side: 'system', hangup_cause: 'session-timeout' });
  }, 90_000);

  it('refuses a Session-Expires below SESSION_MIN_SE with 422 and Min-SE (RFC 4028 §6)', async () => {
    const sock = await RawSipSocket.open();
    try {
      const caller = { user: 'st-small', tag: 's1', callId: 'st-422@127.0.0.1' };
      sock.send(sock.request(srv.udpTarget, caller, 'INVITE', 1, { branch: 'st422', extra: ['Supported: timer', 'Session-Expires: 2;refresher=uac'] }), srv.udpTarget);
      const res = await sock.find((m) => !m.startsWith('SIP/2.0 1'), 'the final response');
      expect(res).toMatch(/^SIP\/2\.0 422 /);
      expect(res).toMatch(/\r\nMin-SE: 4\r\n/i);
    } finally {
      await sock.close();
    }
  }, 30_000);
});

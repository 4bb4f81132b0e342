import { startTestServer, type TestServer } from '../../helpers/server';
import { endedCdr, events, injection, removeScratch, runSippCleanly, scenario } from './call-kit';

// The media timeout end to end over UDP with RTP_TIMEOUT_S=2: a SIPp caller that sends no RTP after the answer is
// hung up by us; one that plays a 7 s pcap stays up until it hangs up; one that holds us (a=sendonly or a=inactive,
// RFC 3264 §8.4) and then falls silent for longer than the timeout stays up too (no timeout while on hold). The
// timeout counts from the answer: a call ringing longer than the timeout (no early media) is answered, not dropped.

let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer({ DEFAULT_ROUTE: 'answer', SIP_TRANSPORTS: 'udp', RTP_TIMEOUT_S: '2' });
});

afterAll(async () => {
  await srv?.stop();
  removeScratch();
});

describe('RTP timeout (RTP_TIMEOUT_S) against SIPp', () => {
  it('hangs up a call that sends no RTP with BYE and Reason, CDR cause media-timeout', async () => {
    await runSippCleanly({ scenario: scenario('uac-rtp-timeout-silent'), target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 40 });
    const row = await endedCdr(srv.server.db, 'from_number = $1', ['rtp-silent']);
    expect(row).toMatchObject({ status: 'completed', hangup_side: 'system', hangup_cause: 'media-timeout' });
    expect(Number(row['rtp_packets_received'])).toBe(0);
  }, 60_000);

  it('keeps a call that sends RTP all along until the caller hangs up', async () => {
    await runSippCleanly({ scenario: scenario('uac-rtp-timeout-pcap'), target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 40 });
    const row = await endedCdr(srv.server.db, 'from_number = $1', ['rtp-pcap']);
    expect(row).toMatchObject({ status: 'completed', hangup_side: 'caller', hangup_cause: 'normal-clearing' });
    // g711a.pcap holds 236 packets; all of them crossed loopback.
    expect(Number(row['rtp_packets_received'])).toBeGreaterThan(200);
  }, 60_000);

  it.each(['sendonly', 'inactive'])('does not time out a call held with a=%s, silent for longer than the timeout', async (hold) => {
    const caller = `rtp-hold-${hold}`;
    await runSippCleanly({
      scenario: scenario('uac-rtp-timeout-hold'),
      target: srv.udpTarget,
      calls: 1,
      service: '1000',
      timeoutS: 60,
      keys: { hold },
      extra: injection([[caller]]),
    });
    const row = await endedCdr(srv.server.db, 'from_number = $1', [caller]);
    expect(row).toMatchObject({ status: 'completed', hangup_side: 'caller', hangup_cause: 'normal-clearing' });
    expect(await events(srv.server.db, String(row['call_id']))).toContain('held');
  }, 90_000);

  it('counts from the answer: a call that rings longer than the timeout is answered, then timed out', async () => {
    const ringing = await startTestServer({ DEFAULT_ROUTE: 'answer', SIP_TRANSPORTS: 'udp', RTP_TIMEOUT_S: '1', SIP_ANSWER_DELAY_MS: '3500' });
    try {
      await runSippCleanly({ scenario: scenario('uac-rtp-timeout-silent'), target: ringing.udpTarget, calls: 1, service: '1000', timeoutS: 40 });
      const row = await endedCdr(ringing.server.db, 'from_number = $1', ['rtp-silent']);
      expect(row).toMatchObject({ status: 'completed', hangup_side: 'system', hangup_cause: 'media-timeout' });
      expect(row['answered_at']).not.toBeNull();
      // The answer came after the ring time, which is longer than the timeout (the server's own timestamps).
      expect(new Date(String(row['answered_at'])).getTime() - new Date(String(row['started_at'])).getTime()).toBeGreaterThanOrEqual(3000);
    } finally {
      await ringing.stop();
    }
  }, 60_000);
});

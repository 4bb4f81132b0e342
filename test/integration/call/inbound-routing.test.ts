import { createRepositories, type Repositories } from '../../../src/store';
import type { TestBackend } from '../../helpers/db';
import { startTestServer, type TestServer } from '../../helpers/server';
import { runSipp, startSipp } from '../../helpers/sipp';
import { endedCdr, events, injection, removeScratch, scenario, until } from './call-kit';

// Inbound calls through the real server (SIPp over UDP, CDRs in PGlite and in the real PostgreSQL): the echo route
// with RTP, hang-up from either side, blocked callers, and the per-number concurrent call limit.

describe.each<TestBackend>(['pglite', 'pg'])('inbound routing with CDRs (%s)', (backend) => {
  let srv: TestServer;
  let repos: Repositories;

  beforeAll(async () => {
    srv = await startTestServer({ DEFAULT_ROUTE: 'echo', SIP_TRANSPORTS: 'udp' }, backend);
    repos = createRepositories(srv.server.db);
  });

  afterAll(async () => {
    await srv?.stop();
    removeScratch();
  });

  it('echoes the caller’s audio and writes a complete CDR when the caller hangs up', async () => {
    const caller = `+1555${backend === 'pg' ? 1 : 2}230001`;
    const run = runSipp({ scenario: scenario('call-uac-pcap-bye'), target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 40, extra: injection([[caller]]) });
    // While the call is up the echo sends the caller's own audio back (frames of audio, not idle silence).
    const call = await until(() => srv.server.calls.list().find((c) => c.from === caller && c.state === 'answered'), 'the answered call');
    await until(() => {
      const stats = srv.server.calls.call(call.callId)?.a.mediaStats();
      return stats !== undefined && stats.framesSent > 50;
    }, 'echoed audio frames');
    const r = await run;
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);

    const row = await endedCdr(srv.server.db, 'from_number = $1', [caller]);
    expect(row).toMatchObject({
      call_id: call.callId,
      direction: 'inbound',
      to_number: '1000',
      status: 'completed',
      sip_code: 200,
      hangup_cause: 'normal-clearing',
      hangup_side: 'caller',
      codec: 'PCMA',
    });
    expect(row['answered_at']).not.toBeNull();
    expect(Number(row['duration_s'])).toBeGreaterThan(0);
    expect(Number(row['billable_s'])).toBeGreaterThanOrEqual(1);
    expect(Number(row['rtp_packets_received'])).toBeGreaterThan(100);
    expect(Number(row['rtp_packets_sent'])).toBeGreaterThan(100);
    expect(await events(srv.server.db, call.callId)).toEqual(expect.arrayContaining(['initiated', 'routed', 'ringing', 'answered', 'completed']));
    expect(srv.server.calls.size).toBe(0);
  }, 60_000);

  it('hangs up from our side with BYE and records the side as api', async () => {
    const caller = `+1555${backend === 'pg' ? 1 : 2}230002`;
    const run = runSipp({ scenario: scenario('call-uac-hangup'), target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 40, extra: injection([[caller]]) });
    const call = await until(() => srv.server.calls.list().find((c) => c.from === caller && c.state === 'answered'), 'the answered call');
    expect(srv.server.calls.hangup(call.callId)).toBe(true);
    const r = await run;
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
    const row = await endedCdr(srv.server.db, 'call_id = $1', [call.callId]);
    expect(row).toMatchObject({ status: 'completed', hangup_side: 'api', hangup_cause: 'api-hangup', sip_code: 200 });
  }, 60_000);

  it('declines a blocked caller with 603 and records cause blocked', async () => {
    const caller = `+1555${backend === 'pg' ? 1 : 2}236666`;
    await repos.blockedNumbers.block(caller, { reason: 'spam' });
    const r = await runSipp({ scenario: scenario('call-uac-decline'), target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 20, extra: injection([[caller]]) });
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
    const row = await endedCdr(srv.server.db, 'from_number = $1', [caller]);
    expect(row).toMatchObject({ status: 'rejected', sip_code: 603, hangup_cause: 'blocked', hangup_side: 'system' });
    expect(row['answered_at']).toBeNull();
    expect(Number(row['billable_s'])).toBe(0);
  }, 30_000);

  it('answers the N+1th concurrent call to a number limited to N with 486', async () => {
    await repos.numbers.upsert('2000', { route: 'echo', maxConcurrentCalls: 1 });
    const first = `+1555${backend === 'pg' ? 1 : 2}230010`;
    const second = `+1555${backend === 'pg' ? 1 : 2}230011`;
    const holder = await startSipp({ scenario: scenario('call-uac-hangup'), target: srv.udpTarget, calls: 1, service: '2000', timeoutS: 40, extra: injection([[first]]) });
    try {
      const call = await until(() => srv.server.calls.list().find((c) => c.from === first && c.state === 'answered'), 'the first call');
      const r = await runSipp({ scenario: scenario('call-uac-busy'), target: srv.udpTarget, calls: 1, service: '2000', timeoutS: 20, extra: injection([[second]]) });
      expect(r.errors).toBe('');
      expect(r.successful).toBe(1);
      const row = await endedCdr(srv.server.db, 'from_number = $1', [second]);
      expect(row).toMatchObject({ status: 'busy', sip_code: 486, hangup_cause: 'max-concurrent-calls' });
      srv.server.calls.hangup(call.callId);
      const done = await holder.done;
      expect(done.successful).toBe(1);
    } finally {
      await holder.stop();
    }
  }, 60_000);
});

import { startTestServer, type TestServer } from '../../helpers/server';
import { header, isResponse, PCMU_OFFER, RawSipSocket, toTagOf, type RawCaller } from '../../helpers/raw-sip';
import { until } from '../../helpers/wait';

// Overload control on the real server over UDP: while the event loop lags past OVERLOAD_LAG_MS (here a busy loop in a
// timer keeps it blocked), a new INVITE and an out-of-dialog OPTIONS get 503 with Retry-After, a BYE of a call in
// progress still gets 200; once the lag is gone, new INVITEs are answered again.

const LAG_MS = 100;
const BLOCK_MS = 300;

describe('overload control', () => {
  let srv: TestServer;
  let sock: RawSipSocket;
  let blocker: NodeJS.Timeout | undefined;
  const blocks: number[] = [];

  beforeAll(async () => {
    srv = await startTestServer({ OVERLOAD_LAG_MS: String(LAG_MS), OVERLOAD_RETRY_AFTER_S: '3', DEFAULT_ROUTE: 'answer' });
    sock = await RawSipSocket.open();
  });
  afterAll(async () => {
    if (blocker) clearInterval(blocker);
    await sock?.close();
    await srv?.stop();
  });

  /** INVITE -> 200 -> ACK; returns the To tag of the call. */
  async function call(caller: RawCaller): Promise<string> {
    const target = srv.udpTarget;
    sock.send(sock.request(target, caller, 'INVITE', 1, { branch: `${caller.user}i`, body: PCMU_OFFER }), target);
    const ok = await sock.find((m) => isResponse(m, 200, 'INVITE') && m.includes(`Call-ID: ${caller.user}@`), `200 to ${caller.user}'s INVITE`, 300);
    const toTag = toTagOf(ok);
    sock.send(sock.request(target, caller, 'ACK', 1, { branch: `${caller.user}a`, toTag }), target);
    return toTag;
  }

  async function bye(caller: RawCaller, toTag: string): Promise<void> {
    const target = srv.udpTarget;
    sock.send(sock.request(target, caller, 'BYE', 2, { branch: `${caller.user}b`, toTag }), target);
    await sock.find((m) => isResponse(m, 200, 'BYE') && m.includes(`Call-ID: ${caller.user}@`), `200 to ${caller.user}'s BYE`, 300);
  }

  it('refuses new calls with 503 + Retry-After while the event loop lags, finishes calls in progress, and recovers', async () => {
    const target = srv.udpTarget;
    const early: RawCaller = { user: 'early' };
    const earlyTag = await call(early);
    expect(srv.server.overload.overloaded).toBe(false);

    // Keep the loop busy: every timer turn spins for BLOCK_MS, so the detector's sampling timer fires that late.
    blocker = setInterval(() => {
      const t0 = performance.now();
      while (performance.now() - t0 < BLOCK_MS) {
        // busy: the event loop is blocked
      }
      blocks.push(performance.now() - t0);
    }, 10);
    await until(() => srv.server.overload.overloaded, 'the detector to report overload', 300);
    // The only timing this test relies on: each block lasted longer than the threshold.
    expect(blocks.length).toBeGreaterThan(0);
    expect(Math.min(...blocks)).toBeGreaterThan(LAG_MS);

    const shed: RawCaller = { user: 'shed' };
    sock.send(sock.request(target, shed, 'INVITE', 1, { branch: 'shedi', body: PCMU_OFFER }), target);
    const refused = await sock.find((m) => m.includes('Call-ID: shed@') && m.startsWith('SIP/2.0 5'), '503 to the new INVITE', 300);
    expect(isResponse(refused, 503, 'INVITE')).toBe(true);
    expect(header(refused, 'Retry-After')).toBe('3');
    toTagOf(refused); // RFC 3261 §8.2.6.2: the final response carries a To tag
    // The 503 is acknowledged like any non-2xx final response (RFC 3261 §17.1.1.3); the transaction absorbs the ACK.
    sock.send(sock.request(target, shed, 'ACK', 1, { branch: 'shedi', toTag: toTagOf(refused) }), target);

    const probe: RawCaller = { user: 'probe' };
    sock.send(sock.request(target, probe, 'OPTIONS', 1, { branch: 'probeo' }), target);
    const options = await sock.find((m) => m.includes('Call-ID: probe@') && m.startsWith('SIP/2.0 '), 'answer to OPTIONS', 300);
    expect(isResponse(options, 503, 'OPTIONS')).toBe(true);
    expect(header(options, 'Retry-After')).toBe('3');

    // A call in progress is finished as usual: its BYE gets 200 while new calls are refused.
    expect(srv.server.overload.overloaded).toBe(true);
    await bye(early, earlyTag);
    expect(sock.inbox.some((m) => m.includes('Call-ID: shed@') && m.startsWith('SIP/2.0 200'))).toBe(false);

    const status = srv.server.overload.status();
    expect(status.rejected).toBeGreaterThanOrEqual(2);
    expect(status.episodes).toBeGreaterThanOrEqual(1);

    // The load goes away: the lag decays below half the threshold and new calls are served again.
    clearInterval(blocker);
    blocker = undefined;
    await until(() => !srv.server.overload.overloaded, 'the detector to leave overload', 300);
    const late: RawCaller = { user: 'late' };
    const lateTag = await call(late);
    await bye(late, lateTag);

    const metrics = await (await fetch(`http://127.0.0.1:${srv.server.apiPort}/metrics`)).text();
    expect(metrics).toMatch(/^sip_overload_rejected_total\{method="INVITE"\} [1-9]/m);
    expect(metrics).toMatch(/^sip_overload_rejected_total\{method="OPTIONS"\} [1-9]/m);
    expect(metrics).toMatch(/^sip_overloaded 0$/m);
  });
});

import { EntryPointHarness } from '../../helpers/entry-point';
import { PCMU_OFFER, RawSipSocket, toTagOf } from '../../helpers/raw-sip';
import { until } from '../../helpers/wait';

// Crash recovery of the real entry point (src/main.ts) on the real PostgreSQL: a call is up, the process is killed
// with SIGKILL (no shutdown code runs), and the next start of the same instance closes the CDR it left open with
// cause `server-restart`. The server gets its own role whose search_path is a fresh schema, so it shares nothing.

let harness: EntryPointHarness;
let sock: RawSipSocket | undefined;

beforeAll(async () => {
  harness = await EntryPointHarness.create('call_restart');
});

afterAll(async () => {
  await sock?.close();
  await harness?.close();
});

// Each start binds new SIP and API ports (see EntryPointHarness.start): the call is cut by the kill, and the second
// run only has to find its CDR in the database, so nothing here needs the first run's ports again.
async function start(): ReturnType<EntryPointHarness['start']> {
  return harness.start({
    DEFAULT_ROUTE: 'echo',
    // Calls come from 127.0.0.1, which is no trunk.
    OPEN_INBOUND: 'true',
  });
}

async function row(callId: string): Promise<Record<string, unknown> | undefined> {
  const res = await harness.admin.query(`SELECT * FROM ${harness.schema}.calls WHERE call_id = $1`, [callId]);
  return res.rows[0] as Record<string, unknown> | undefined;
}

it('closes the CDR of a call cut by SIGKILL with cause server-restart on the next start', async () => {
  const first = await start();

  sock = await RawSipSocket.open();
  const target = `127.0.0.1:${first.sipPort}`;
  const caller = { user: '+15550009999', callId: `restart-${harness.instanceId}` };
  sock.send(sock.request(target, caller, 'INVITE', 1, { branch: 'rs1', body: PCMU_OFFER }), target);
  const ok = await sock.find((m) => m.startsWith('SIP/2.0 200'), 'the 200 OK', 200);
  sock.send(sock.request(target, caller, 'ACK', 1, { branch: 'rs2', toTag: toTagOf(ok) }), target);
  // The CDR says answered and open before the crash.
  const before = await until(async () => {
    const r = await row(caller.callId);
    return r && r['status'] === 'answered' ? r : undefined;
  }, 'the answered CDR', 200);
  expect(before['ended_at']).toBeNull();

  await first.kill();
  expect((await row(caller.callId))?.['ended_at']).toBeNull();

  const second = await start();
  const after = await until(async () => {
    const r = await row(caller.callId);
    return r && r['ended_at'] !== null ? r : undefined;
  }, 'the closed CDR', 200);
  expect(after).toMatchObject({ status: 'completed', hangup_cause: 'server-restart', hangup_side: 'system' });
  expect(Number(after['duration_s'])).toBeGreaterThanOrEqual(0);
  expect(second.output()).toContain('closed calls left open by a previous run');
  expect(await second.stop()).toBe(0);
}, 120_000);

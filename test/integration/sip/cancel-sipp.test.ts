import { runSipp, scenarioPath } from '../../helpers/sipp';
import { startTestServer, type TestServer } from '../../helpers/server';

// RFC 3261 §9.2: CANCEL before the answer gets 200, the INVITE 487, and our 487 is ACKed (SIPp sipp/cancel.xml).

let srv: TestServer;

beforeAll(async () => {
  // The answer route rings for 5 s before answering, so the CANCEL always arrives first.
  srv = await startTestServer({ DEFAULT_ROUTE: 'answer', SIP_ANSWER_DELAY_MS: '5000' });
});

afterAll(async () => {
  await srv?.stop();
});

it('answers CANCEL with 200 and the INVITE with 487, over UDP', async () => {
  const r = await runSipp({ scenario: scenarioPath('cancel'), target: srv.udpTarget, calls: 10, rate: 10, service: '1000', timeoutS: 30 });
  expect(r.errors).toBe('');
  expect(r.exitCode).toBe(0);
  expect(r.successful).toBe(10);
  // Nothing is left ringing on our side.
  for (let i = 0; i < 20 && srv.server.ua.sessionCount > 0; i++) await new Promise((res) => setTimeout(res, 100));
  expect(srv.server.ua.sessionCount).toBe(0);
});

it('answers CANCEL over TCP', async () => {
  const r = await runSipp({ scenario: scenarioPath('cancel'), target: srv.tcpTarget, transport: 't1', calls: 5, rate: 10, service: '1000', timeoutS: 30 });
  expect(r.exitCode).toBe(0);
  expect(r.successful).toBe(5);
});

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MachineDetectionService, WebhookNotifier, type CallApp, type MachineDetectionOutcome } from '../../../src/call';
import { loadWavAs8kMono } from '../../../src/dsp';
import { createRepositories } from '../../../src/store';
import { startTestServer, type TestServer } from '../../helpers/server';
import { WebhookSink } from '../../helpers/webhook-sink';
import { endedCdr, until } from './call-kit';
import { SipPeer } from './ivr-queue-kit';

// Answering-machine detection on outbound calls over real sockets: we originate to a Node UAS that answers and
// plays one of the committed fixtures (test/fixtures/audio/amd). A long greeting and a beep is a machine (and, when
// asked, the app starts only after the beep); a short "hello" and silence is a human. The verdict is in the CDR's
// metadata.amd, a call event and the status webhook.

const FIXTURES = resolve(__dirname, '../../fixtures/audio/amd');
let srv: TestServer;
let amd: MachineDetectionService;
const webhooks = new WebhookNotifier({ maxAttempts: 1 });
let hooks: WebhookSink;

beforeAll(async () => {
  hooks = await WebhookSink.start();
  srv = await startTestServer({ SIP_TRANSPORTS: 'udp', DEFAULT_ROUTE: 'reject' });
  amd = new MachineDetectionService({ calls: srv.server.calls, cdr: createRepositories(srv.server.db).calls, webhooks });
}, 60_000);

afterAll(async () => {
  webhooks.close();
  await srv?.stop();
  await hooks?.close();
});

/** Originate to a UAS that answers and plays `fixture`; returns the call id and the verdict. */
async function detect(fixture: string, route: string, waitForBeep: boolean): Promise<{ callId: string; outcome: MachineDetectionOutcome; peer: SipPeer }> {
  const peer = await SipPeer.open({ user: 'uas' });
  const answered = peer.answer(15_000);
  const info = await srv.server.calls.originate({ from: '+15550001000', to: `sip:uas@127.0.0.1:${peer.sipPort}`, route, timeoutS: 10, webhookUrl: hooks.url });
  expect(amd.request(info.callId, { waitForBeep })).toBe(true);
  await answered;
  void peer.sendPcm(loadWavAs8kMono(readFileSync(resolve(FIXTURES, fixture))));
  const outcome = await amd.wait(info.callId);
  if (!outcome) throw new Error('no verdict');
  return { callId: info.callId, outcome, peer };
}

describe('answering-machine detection on originate', () => {
  it('classifies a long greeting followed by a beep as a machine and waits for the beep before the app starts', async () => {
    let startedWith: MachineDetectionOutcome | undefined;
    const app: CallApp = {
      start(ctx) {
        startedWith = amd.resultOf(ctx.callId);
      },
    };
    srv.server.calls.registerApp('ai', amd.wrap(app));
    const { callId, outcome, peer } = await detect('machine-greeting-beep.wav', 'ai', true);
    try {
      expect(outcome.result).toBe('machine');
      expect(outcome.beep).not.toBeNull();
      expect(outcome.beep?.frequencyHz).toBeGreaterThan(900);
      expect(outcome.beep?.frequencyHz).toBeLessThan(1100);
      await until(() => startedWith !== undefined, 'the app to start');
      expect(startedWith?.result).toBe('machine');
      expect(amd.customParameters(callId)).toMatchObject({ amd_result: 'machine' });
      srv.server.calls.hangup(callId);
      await peer.waitBye(5000).catch(() => undefined);
      const cdr = await endedCdr(srv.server.db, 'call_id = $1', [callId]);
      const meta = cdr['metadata'] as { amd?: { result: string; beep: unknown } };
      expect(meta.amd?.result).toBe('machine');
      expect(meta.amd?.beep).not.toBeNull();
      const hook = await hooks.find('machine_detection', callId, 'the AMD webhook');
      expect(hook['amd']).toMatchObject({ result: 'machine' });
      const events = await srv.server.db.query<{ data: Record<string, unknown> }>(`SELECT data FROM call_events WHERE call_id = $1 AND type = 'amd'`, [callId]);
      expect(events.rows[0]?.data['result']).toBe('machine');
    } finally {
      await peer.close();
    }
  }, 60_000);

  it('classifies a short hello followed by silence as a human', async () => {
    const { callId, outcome, peer } = await detect('human-hello.wav', 'answer', false);
    try {
      expect(outcome.result).toBe('human');
      expect(outcome.reason).toBe('short-greeting');
      srv.server.calls.hangup(callId);
      await peer.waitBye(5000).catch(() => undefined);
      const cdr = await endedCdr(srv.server.db, 'call_id = $1', [callId]);
      expect((cdr['metadata'] as { amd?: { result: string } }).amd?.result).toBe('human');
    } finally {
      await peer.close();
    }
  }, 60_000);
});

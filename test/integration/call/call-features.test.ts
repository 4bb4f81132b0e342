import type { CallState } from '../../../src/call';
import { createRepositories, type Repositories } from '../../../src/store';
import { startTestServer, type TestServer } from '../../helpers/server';
import { runSipp, scenarioPath, startSipp } from '../../helpers/sipp';
import { WebhookSink } from '../../helpers/webhook-sink';
import { endedCdr, events, injection, mohDir, removeScratch, scenario, until } from './call-kit';

// Call control features against SIPp peers over real sockets, CDRs in the real PostgreSQL: outbound originate
// (digest challenge, busy, no answer), hold/resume both ways with music on hold, blind transfer by REFER, REFER from
// the caller, and forwarding on busy and on no answer.

let srv: TestServer;
let repos: Repositories;
let hooks: WebhookSink<{ event: string; call_id: string; sip_code?: number }>;

beforeAll(async () => {
  hooks = await WebhookSink.start();
  srv = await startTestServer({
    DEFAULT_ROUTE: 'echo',
    SIP_TRANSPORTS: 'udp',
    MOH_DIR: mohDir(),
    // Requests to 127.0.0.1 answer challenges with the trunk's credentials (sipp/uas-auth.xml: alice / secret).
    OUTBOUND_PROXY: '127.0.0.1:5999',
    OUTBOUND_USERNAME: 'alice',
    OUTBOUND_PASSWORD: 'secret',
  });
  repos = createRepositories(srv.server.db);
});

afterAll(async () => {
  await srv?.stop();
  await hooks?.close();
  removeScratch();
});

const uas = (name: string, calls = 1): ReturnType<typeof startSipp> => startSipp({ scenario: scenarioPath(name), calls, timeoutS: 40 });

describe('outbound originate', () => {
  it('answers the digest challenge, is answered, and is hung up from our side; webhooks follow the call', async () => {
    const peer = await uas('uas-auth');
    try {
      const info = await srv.server.calls.originate({ from: '+15550001000', to: `sip:bob@127.0.0.1:${peer.port}`, route: 'echo', timeoutS: 10, webhookUrl: hooks.url });
      expect(info.direction).toBe('outbound');
      await until(() => srv.server.calls.get(info.callId)?.state === 'answered', 'the answer');
      expect(srv.server.calls.hangup(info.callId)).toBe(true);
      const r = await peer.done;
      expect(r.errors).toBe('');
      expect(r.successful).toBe(1);
      const row = await endedCdr(srv.server.db, 'call_id = $1', [info.callId]);
      expect(row).toMatchObject({ direction: 'outbound', from_number: '+15550001000', to_number: 'bob', status: 'completed', sip_code: 200, hangup_side: 'api' });
      const seen = await until(() => {
        const mine = hooks.events.filter((e) => e.call_id === info.callId).map((e) => e.event);
        return mine.includes('completed') ? mine : undefined;
      }, 'the completed webhook');
      expect(seen).toEqual(['initiated', 'answered', 'completed']);
    } finally {
      await peer.stop();
    }
  }, 60_000);

  it('ends busy on 486', async () => {
    const peer = await uas('uas-busy');
    try {
      const info = await srv.server.calls.originate({ from: '+15550001000', to: `sip:busy@127.0.0.1:${peer.port}`, route: 'echo', timeoutS: 10 });
      const row = await endedCdr(srv.server.db, 'call_id = $1', [info.callId]);
      expect(row).toMatchObject({ status: 'busy', sip_code: 486, hangup_cause: 'busy', hangup_side: 'callee' });
      expect((await peer.done).successful).toBe(1);
    } finally {
      await peer.stop();
    }
  }, 60_000);

  it('cancels after its timeout and ends no-answer with 487', async () => {
    const peer = await uas('uas-noanswer');
    try {
      const info = await srv.server.calls.originate({ from: '+15550001000', to: `sip:late@127.0.0.1:${peer.port}`, route: 'echo', timeoutS: 1 });
      const row = await endedCdr(srv.server.db, 'call_id = $1', [info.callId]);
      expect(row).toMatchObject({ status: 'no_answer', sip_code: 487, hangup_cause: 'no-answer' });
      expect(await events(srv.server.db, info.callId)).toEqual(expect.arrayContaining(['initiated', 'ringing', 'no-answer']));
      expect((await peer.done).successful).toBe(1);
    } finally {
      await peer.stop();
    }
  }, 60_000);
});

describe('mid-call', () => {
  it('holds and resumes by re-INVITE in both directions, with music on hold flowing while held', async () => {
    const run = runSipp({ scenario: scenario('call-uac-hold'), target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 40 });
    const info = await until(() => srv.server.calls.list().find((c) => c.from === 'holder'), 'the call');
    const call = srv.server.calls.call(info.callId)!;
    const states: CallState[] = [call.state];
    call.on('statechange', (_from, to) => states.push(to));
    // The caller holds us and resumes: held, then answered again.
    await until(() => states.includes('held') && states.lastIndexOf('answered') > states.indexOf('held'), 'the caller’s hold and resume');
    expect(await srv.server.calls.hold(info.callId)).toBe(true);
    expect(srv.server.calls.get(info.callId)?.state).toBe('held');
    const before = call.a.mediaStats()!.framesSent;
    await until(() => call.a.mediaStats()!.framesSent > before + 25, 'music on hold frames');
    expect(await srv.server.calls.resume(info.callId)).toBe(true);
    const r = await run;
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
    const row = await endedCdr(srv.server.db, 'call_id = $1', [info.callId]);
    expect(row).toMatchObject({ status: 'completed', hangup_side: 'caller' });
    expect((await events(srv.server.db, info.callId)).filter((t) => t === 'held')).toHaveLength(2);
  }, 60_000);

  it('transfers blind with REFER and ends the call once the NOTIFY reports 200', async () => {
    const peer = await uas('uas-refer');
    try {
      const info = await srv.server.calls.originate({ from: '+15550001000', to: `sip:transferee@127.0.0.1:${peer.port}`, route: 'echo', timeoutS: 10 });
      await until(() => srv.server.calls.get(info.callId)?.state === 'answered', 'the answer');
      const result = await srv.server.calls.transfer(info.callId, { target: 'sip:carol@127.0.0.1:5999' });
      expect(result).toEqual({ ok: true, method: 'refer', status: 200 });
      const r = await peer.done;
      expect(r.errors).toBe('');
      expect(r.successful).toBe(1);
      const row = await endedCdr(srv.server.db, 'call_id = $1', [info.callId]);
      expect(row).toMatchObject({ status: 'completed', hangup_cause: 'transferred' });
      expect(await events(srv.server.db, info.callId)).toEqual(expect.arrayContaining(['transferring', 'transfer-progress']));
    } finally {
      await peer.stop();
    }
  }, 60_000);

  it('follows a REFER from the caller: calls the target as a child call and reports progress in NOTIFYs', async () => {
    const target = await uas('uas-answer');
    try {
      const caller = '+15550002222';
      const r = await runSipp({ scenario: scenario('call-uac-refer'), target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 40, extra: injection([[caller, String(target.port)]]) });
      expect(r.errors).toBe('');
      expect(r.successful).toBe(1);
      const parent = await endedCdr(srv.server.db, 'from_number = $1', [caller]);
      expect(parent).toMatchObject({ status: 'completed', hangup_side: 'caller' });
      const child = await until(() => srv.server.calls.list().find((c) => c.parentCallId === parent['call_id'] && c.state === 'answered'), 'the referred call');
      expect(child.direction).toBe('outbound');
      srv.server.calls.hangup(child.callId);
      expect((await target.done).successful).toBe(1);
      const row = await endedCdr(srv.server.db, 'call_id = $1', [child.callId]);
      expect(row).toMatchObject({ parent_call_id: parent['call_id'], status: 'completed', hangup_side: 'api' });
    } finally {
      await target.stop();
    }
  }, 60_000);
});

describe('forwarding', () => {
  it.each([
    ['busy', 'uas-busy', { when: 'busy' }],
    ['no answer', 'uas-noanswer', { when: 'no_answer', timeoutS: 1 }],
  ])('forwards on %s to the second destination', async (_name, first, rule) => {
    const a = await uas(first);
    const b = await uas('uas-answer');
    try {
      const number = first === 'uas-busy' ? '3001' : '3002';
      await repos.numbers.upsert(number, {
        route: 'forward',
        forwardRules: [
          { when: 'always', target: `sip:first@127.0.0.1:${a.port}` },
          { ...rule, target: `sip:second@127.0.0.1:${b.port}` },
        ],
      });
      const r = await runSipp({ scenario: 'uac', target: srv.udpTarget, calls: 1, service: number, timeoutS: 30 });
      expect(r.successful).toBe(1);
      expect((await a.done).successful).toBe(1);
      expect((await b.done).successful).toBe(1);
      const row = await endedCdr(srv.server.db, 'to_number = $1', [number]);
      expect(row).toMatchObject({ status: 'completed', sip_code: 200, hangup_side: 'caller' });
      expect(await events(srv.server.db, String(row['call_id']))).toEqual(expect.arrayContaining(['forward-dial', 'forward', 'answered']));
    } finally {
      await a.stop();
      await b.stop();
    }
  }, 60_000);
});

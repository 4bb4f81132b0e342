import type { CallApp, CallAppContext } from '../../../src/call';
import { createRepositories, type Repositories } from '../../../src/store';
import type { TestServer } from '../../helpers/server';
import { call, startApiServer } from '../api/api-client';
import { endedCdr, mohDir, removeScratch, until } from './call-kit';
import { rms, SipPeer, toneSamples, toneShare } from './ivr-queue-kit';

// Priority queue over real sockets and the real PostgreSQL: five Node SIP callers with different priorities (rules
// by caller number) wait in a queue with no target while music on hold flows to them; one hangs up and leaves the
// line at once; then an AI target is added (AI_MAX_SESSIONS=1) and, as the AI frees its single slot call after call,
// it takes the callers in priority order (FIFO within a priority).

let srv: TestServer;
let repos: Repositories;
const taken: string[] = [];
const live = new Map<string, CallAppContext>();

/** Stands in for the AI platform: takes the call, and hangs up when the test says so. */
const fakeAi: CallApp = {
  side: 'ai',
  start(ctx) {
    taken.push(ctx.from);
    live.set(ctx.from, ctx);
  },
};

beforeAll(async () => {
  srv = await startApiServer({ SIP_TRANSPORTS: 'udp', MOH_DIR: mohDir(), AI_MAX_SESSIONS: '1', DEFAULT_ROUTE: 'reject' });
  srv.server.calls.registerApp('ai', fakeAi);
  repos = createRepositories(srv.server.db);
}, 60_000);

afterAll(async () => {
  await srv?.stop();
  removeScratch();
});

const PRIORITY: Record<string, number> = { c1: 1, c2: 5, c3: 3, c4: 5, c5: 9 };

describe('queue route', () => {
  it('serves callers in priority order as targets free, removes a caller who hangs up, and plays music meanwhile', async () => {
    const created = await call(srv, 'POST', '/api/queues', {
      body: {
        name: 'support',
        strategy: 'ring-all',
        targets: [],
        priorityRules: Object.entries(PRIORITY).map(([caller, priority]) => ({ match: 'caller', values: [caller], priority })),
      },
    });
    expect(created.status).toBe(201);
    const queueId = (created.body as { id: string }).id;
    await repos.numbers.upsert('6000', { route: 'queue', queueId });

    const peers = new Map<string, SipPeer>();
    const keepAlive: Promise<void>[] = [];
    try {
      for (const user of ['c1', 'c2', 'c3', 'c4', 'c5']) {
        const peer = await SipPeer.open({ user });
        peers.set(user, peer);
        await peer.call(srv.server.sipPorts.udp as number, '6000');
        keepAlive.push(peer.sendSilence(40_000));
        // Arrival order is the order of the inserts: wait for each caller to be in line before the next calls.
        await until(async () => (await repos.queues.position(peer.callId)) !== undefined, `${user} in line`);
      }
      const line = await call(srv, 'GET', `/api/queues/${queueId}`);
      const waiting = (line.body as { waiting: { call_id: string; position: number; priority: number }[] }).waiting;
      const order = waiting.map((w) => [...peers.entries()].find(([, p]) => p.callId === w.call_id)?.[0]);
      expect(order).toEqual(['c5', 'c2', 'c4', 'c3', 'c1']);
      expect(waiting.map((w) => w.priority)).toEqual([9, 5, 5, 3, 1]);

      // Music on hold reaches every waiting caller (audio, not idle silence), and the server is playing it.
      for (const [user, peer] of peers) {
        await until(() => peer.packetsReceived > 50 && rms(peer.receivedPcm()) > 100, `music on hold to ${user}`);
        expect(srv.server.calls.call(peer.callId)?.a.media?.isPlaying).toBe(true);
      }

      // c3 hangs up while waiting: out of the line at once.
      const c3 = peers.get('c3') as SipPeer;
      expect(await c3.hangup()).toBe(200);
      const left = await until(async () => {
        const res = await srv.server.db.query<{ status: string }>('SELECT status FROM queue_entries WHERE call_id = $1', [c3.callId]);
        return res.rows[0]?.status === 'abandoned' ? res.rows[0] : undefined;
      }, 'c3 to leave the queue');
      expect(left.status).toBe('abandoned');
      expect((await repos.queues.positions(queueId)).map((p) => p.entry.callId)).not.toContain(c3.callId);

      // A target frees: the AI (one slot). Each time the AI hangs up, its slot frees and the next caller is taken.
      const put = await call(srv, 'PUT', `/api/queues/${queueId}`, {
        body: {
          strategy: 'ring-all',
          targets: [{ kind: 'ai', id: 'bot' }],
          priorityRules: Object.entries(PRIORITY).map(([caller, priority]) => ({ match: 'caller', values: [caller], priority })),
        },
      });
      expect(put.status).toBe(200);
      for (const expected of ['c5', 'c2', 'c4', 'c1']) {
        await until(() => taken.includes(expected), `${expected} to be taken`);
        // One slot: nobody else is taken while this call runs.
        expect(taken[taken.length - 1]).toBe(expected);
        const peer = peers.get(expected) as SipPeer;
        const ctx = live.get(expected) as CallAppContext;
        expect(ctx.media.isPlaying).toBe(false);
        ctx.hangup('ai-done');
        await peer.waitBye(10_000);
      }
      expect(taken).toEqual(['c5', 'c2', 'c4', 'c1']);
      const entries = await srv.server.db.query<{ call_id: string; status: string; agent: string | null }>('SELECT call_id, status, agent FROM queue_entries WHERE queue_id = $1', [queueId]);
      for (const user of ['c1', 'c2', 'c4', 'c5']) {
        expect(entries.rows.find((r) => r.call_id === peers.get(user)?.callId)).toMatchObject({ status: 'connected', agent: 'bot' });
      }
      const cdr = await endedCdr(srv.server.db, 'call_id = $1', [(peers.get('c5') as SipPeer).callId]);
      expect(cdr['hangup_cause']).toBe('ai-done');
      const events = await srv.server.db.query<{ type: string }>('SELECT type FROM call_events WHERE call_id = $1 ORDER BY id', [(peers.get('c1') as SipPeer).callId]);
      expect(events.rows.map((r) => r.type)).toEqual(expect.arrayContaining(['queue.join', 'queue.connected']));
    } finally {
      for (const p of peers.values()) await p.hangup().catch(() => 0);
      await Promise.all(keepAlive.map((k) => k.catch(() => undefined)));
      for (const p of peers.values()) await p.close();
    }
  }, 120_000);

  it('refuses a caller when the queue is full, taking its full action', async () => {
    const created = await call(srv, 'POST', '/api/queues', { body: { name: 'tiny', capacity: 1, onFull: { type: 'hangup' } } });
    expect(created.status).toBe(201);
    const queueId = (created.body as { id: string }).id;
    await repos.numbers.upsert('6001', { route: 'queue', queueId });
    const first = await SipPeer.open({ user: 'f1' });
    const second = await SipPeer.open({ user: 'f2' });
    try {
      await first.call(srv.server.sipPorts.udp as number, '6001');
      const keep = first.sendSilence(8000);
      await until(async () => (await repos.queues.position(first.callId)) !== undefined, 'the first caller in line');
      await second.call(srv.server.sipPorts.udp as number, '6001');
      await second.waitBye(10_000);
      const cdr = await endedCdr(srv.server.db, 'call_id = $1', [second.callId]);
      expect(cdr['hangup_cause']).toBe('queue-full');
      expect(await first.hangup()).toBe(200);
      await keep;
    } finally {
      await first.close();
      await second.close();
    }
  }, 60_000);

  it('rings a SIP target by originate and bridges it to the caller; the target hanging up ends the call', async () => {
    const agent = await SipPeer.open({ user: 'agent' });
    const caller = await SipPeer.open({ user: 'q1' });
    try {
      const created = await call(srv, 'POST', '/api/queues', {
        body: { name: 'agents', strategy: 'round-robin', targets: [{ kind: 'sip', id: 'desk1', uri: `sip:agent@127.0.0.1:${agent.sipPort}` }] },
      });
      expect(created.status).toBe(201);
      const queueId = (created.body as { id: string }).id;
      await repos.numbers.upsert('6002', { route: 'queue', queueId });
      const answered = agent.answer(20_000);
      await caller.call(srv.server.sipPorts.udp as number, '6002');
      await answered;
      // The caller's 1 kHz tone reaches the agent through the bridge.
      const agentTalk = agent.sendSilence(3000);
      await caller.sendPcm(toneSamples({ segments: [{ frequencies: [1000], levelsDbm0: [-12], durationMs: 2000 }], repeat: false }, 2000));
      await until(() => {
        const pcm = agent.receivedPcm();
        return pcm.length > 8000 && toneShare(pcm.subarray(pcm.length - 4000), 1000) > 0.5;
      }, 'the caller tone at the agent');
      const ev = await srv.server.db.query<{ data: Record<string, unknown> }>(`SELECT data FROM call_events WHERE call_id = $1 AND type = 'queue.connected'`, [caller.callId]);
      expect(ev.rows[0]?.data).toMatchObject({ target: 'desk1', kind: 'sip' });
      expect(await agent.hangup()).toBe(200);
      await caller.waitBye(10_000);
      await agentTalk;
      const cdr = await endedCdr(srv.server.db, 'call_id = $1', [caller.callId]);
      expect(cdr['hangup_cause']).toBe('queue-target-hangup');
    } finally {
      await caller.hangup().catch(() => 0);
      await agent.close();
      await caller.close();
    }
  }, 60_000);
});

import { randomUUID } from 'node:crypto';
import {
  BlockedNumberRepository,
  CallEventRepository,
  CallRepository,
  InstanceRepository,
  InvalidCursorError,
  NumberRepository,
  createRepositories,
  isForeignKeyViolation,
  isUniqueViolation,
  type CallRecord,
  type NewCall,
} from '../../../src/store';
import { TEST_BACKENDS, createTestDatabase, type TestDatabase } from '../../helpers/db';

let seq = 0;
/** A fresh Call-ID per test, so tests sharing one database never see each other's rows. */
function uniqueCallId(): string {
  return `${randomUUID()}-${++seq}@test`;
}

describe.each(TEST_BACKENDS)('repositories on %s', (backend) => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await createTestDatabase(backend);
  }, 60_000);
  afterAll(async () => {
    await t?.destroy();
  });

  describe('CallRepository', () => {
    let calls: CallRepository;
    beforeAll(() => {
      calls = new CallRepository(t.db);
    });

    const newCall = (over: Partial<NewCall> = {}): NewCall => ({
      callId: uniqueCallId(),
      instanceId: 'inst-a',
      direction: 'inbound',
      fromNumber: '+15550000001',
      toNumber: '+15550000002',
      ...over,
    });

    it('creates a CDR with defaults and reads it back by Call-ID and id', async () => {
      const input = newCall({ fromDisplay: 'Alice', metadata: { campaign: 'x' }, webhookUrl: 'https://hooks.example/cdr' });
      const created = await calls.create(input);
      expect(created).toMatchObject({
        callId: input.callId,
        instanceId: 'inst-a',
        direction: 'inbound',
        fromNumber: '+15550000001',
        toNumber: '+15550000002',
        fromDisplay: 'Alice',
        status: 'initiated',
        answeredAt: null,
        endedAt: null,
        durationS: null,
        dtmfDigits: '',
        rtpPacketsSent: 0,
        metadata: { campaign: 'x' },
        webhookUrl: 'https://hooks.example/cdr',
      });
      expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.startedAt).toBeInstanceOf(Date);
      expect(await calls.getByCallId(input.callId)).toEqual(created);
      expect(await calls.getById(created.id)).toEqual(created);
      expect(await calls.getByCallId('missing@test')).toBeUndefined();
      expect(await calls.getById('not-a-uuid')).toBeUndefined();
    });

    it('rejects a duplicate Call-ID with a unique violation', async () => {
      const input = newCall();
      await calls.create(input);
      const err = await calls.create(input).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isUniqueViolation(err)).toBe(true);
    });

    it('updates fields, merges metadata and bumps updated_at', async () => {
      const created = await calls.create(newCall({ metadata: { a: 1, keep: true } }));
      const updated = await calls.update(created.callId, {
        status: 'ringing',
        codec: 'PCMU',
        remoteAddress: '203.0.113.5:5060',
        rtpPacketsSent: 1500,
        rtpPacketsReceived: 1490,
        rtpBytesSent: 240_000,
        rtpBytesReceived: 238_400,
        rtpPacketsLost: 10,
        rtpJitterMs: 12.5,
        mos: 4.2,
        sipCode: 180,
        metadata: { a: 2, b: 'new' },
      });
      expect(updated).toMatchObject({
        status: 'ringing',
        codec: 'PCMU',
        remoteAddress: '203.0.113.5:5060',
        rtpPacketsSent: 1500,
        rtpPacketsReceived: 1490,
        rtpBytesSent: 240_000,
        rtpBytesReceived: 238_400,
        rtpPacketsLost: 10,
        rtpJitterMs: 12.5,
        sipCode: 180,
        metadata: { a: 2, b: 'new', keep: true },
      });
      expect(updated!.mos).toBeCloseTo(4.2, 5);
      expect(updated!.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
      expect(await calls.update('missing@test', { status: 'ringing' })).toBeUndefined();
      // An empty patch changes nothing and returns the row.
      expect((await calls.update(created.callId, {}))!.status).toBe('ringing');
    });

    it('answers and ends a call, computing duration and billable seconds once', async () => {
      const started = new Date('2026-03-01T10:00:00.000Z');
      const created = await calls.create(newCall({ startedAt: started }));
      const answered = await calls.answer(created.callId, new Date('2026-03-01T10:00:04.000Z'));
      expect(answered).toMatchObject({ status: 'answered' });
      expect(answered!.answeredAt!.toISOString()).toBe('2026-03-01T10:00:04.000Z');

      const ended = await calls.end(created.callId, {
        status: 'completed',
        endedAt: new Date('2026-03-01T10:01:05.200Z'),
        hangupCause: 'normal_clearing',
        hangupSide: 'caller',
        sipCode: 200,
      });
      expect(ended).toMatchObject({ status: 'completed', hangupCause: 'normal_clearing', hangupSide: 'caller', sipCode: 200, billableS: 62 });
      expect(ended!.durationS).toBeCloseTo(65.2, 3);
      expect(ended!.endedAt!.toISOString()).toBe('2026-03-01T10:01:05.200Z');

      // A second end (BYE racing a timeout) keeps the first.
      const again = await calls.end(created.callId, { status: 'failed', hangupCause: 'rtp_timeout' });
      expect(again).toMatchObject({ status: 'completed', hangupCause: 'normal_clearing', billableS: 62 });
      // Answering an ended call changes nothing.
      expect((await calls.answer(created.callId))!.status).toBe('completed');
      expect(await calls.end('missing@test', { status: 'failed' })).toBeUndefined();
    });

    it('bills nothing for a call that was never answered', async () => {
      const created = await calls.create(newCall());
      const ended = await calls.end(created.callId, { status: 'no_answer', sipCode: 408 });
      expect(ended).toMatchObject({ status: 'no_answer', billableS: 0, sipCode: 408 });
      expect(ended!.durationS).toBeGreaterThanOrEqual(0);
    });

    it('appends DTMF digits atomically', async () => {
      const created = await calls.create(newCall());
      await Promise.all(['1', '2', '3', '#'].map((d) => calls.appendDtmf(created.callId, d)));
      const digits = (await calls.getByCallId(created.callId))!.dtmfDigits;
      expect([...digits].sort()).toEqual(['#', '1', '2', '3']);
      expect(await calls.appendDtmf('missing@test', '5')).toBeUndefined();
    });

    it('closes the open calls of one instance only, with the cause', async () => {
      const crashed = `crashed-${randomUUID()}`;
      const open1 = await calls.create(newCall({ instanceId: crashed }));
      const open2 = await calls.create(newCall({ instanceId: crashed }));
      await calls.answer(open2.callId);
      const done = await calls.create(newCall({ instanceId: crashed }));
      await calls.end(done.callId, { status: 'busy', sipCode: 486 });
      const other = await calls.create(newCall({ instanceId: 'healthy' }));

      expect(await calls.closeOpenCalls(crashed, 'instance_restart')).toBe(2);
      expect(await calls.getByCallId(open1.callId)).toMatchObject({ status: 'failed', hangupCause: 'instance_restart', hangupSide: 'system', billableS: 0 });
      const answered = await calls.getByCallId(open2.callId);
      expect(answered).toMatchObject({ status: 'completed', hangupCause: 'instance_restart' });
      expect(answered!.endedAt).not.toBeNull();
      expect(answered!.durationS).not.toBeNull();
      expect(await calls.getByCallId(done.callId)).toMatchObject({ status: 'busy', sipCode: 486 });
      expect(await calls.getByCallId(other.callId)).toMatchObject({ status: 'initiated', endedAt: null });
      expect(await calls.closeOpenCalls(crashed, 'again')).toBe(0);
    });

    describe('list', () => {
      const inst = `list-${randomUUID()}`;
      const base = Date.parse('2026-05-01T00:00:00.000Z');
      let created: CallRecord[];

      beforeAll(async () => {
        created = [];
        // 12 calls, one second apart, plus two sharing the same timestamp to exercise the id tie-break.
        for (let i = 0; i < 12; i++) {
          created.push(
            await calls.create(
              newCall({
                instanceId: inst,
                direction: i % 3 === 0 ? 'outbound' : 'inbound',
                fromNumber: i % 2 === 0 ? '+15551110000' : '+15552220000',
                toNumber: '+15553330000',
                startedAt: new Date(base + i * 1000),
              }),
            ),
          );
        }
        const same = new Date(base + 20_000);
        created.push(await calls.create(newCall({ instanceId: inst, startedAt: same })));
        created.push(await calls.create(newCall({ instanceId: inst, startedAt: same })));
        await calls.end(created[0].callId, { status: 'completed' });
        await calls.end(created[1].callId, { status: 'failed' });
      });

      it('returns newest first with filters by instance, direction, status and number', async () => {
        const all = await calls.list({ instanceId: inst, limit: 100 });
        expect(all.items).toHaveLength(14);
        expect(all.nextCursor).toBeNull();
        const times = all.items.map((c) => c.startedAt.getTime());
        expect([...times].sort((a, b) => b - a)).toEqual(times);

        const outbound = await calls.list({ instanceId: inst, direction: 'outbound', limit: 100 });
        expect(outbound.items.map((c) => c.callId).sort()).toEqual([0, 3, 6, 9].map((i) => created[i].callId).sort());

        const ended = await calls.list({ instanceId: inst, status: ['completed', 'failed'] });
        expect(ended.items.map((c) => c.callId).sort()).toEqual([created[0].callId, created[1].callId].sort());
        expect((await calls.list({ instanceId: inst, status: 'completed' })).items.map((c) => c.callId)).toEqual([created[0].callId]);

        const byFrom = await calls.list({ instanceId: inst, number: '+15552220000', limit: 100 });
        expect(byFrom.items).toHaveLength(6);
        const byTo = await calls.list({ instanceId: inst, number: '+15553330000', limit: 100 });
        expect(byTo.items).toHaveLength(12);
      });

      it('filters by time range [from, to)', async () => {
        const page = await calls.list({ instanceId: inst, from: new Date(base + 2000), to: new Date(base + 5000), limit: 100 });
        expect(page.items.map((c) => c.callId)).toEqual([4, 3, 2].map((i) => created[i].callId));
      });

      it('paginates with a cursor without skipping or repeating rows, ties included', async () => {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await calls.list({ instanceId: inst, limit: 4, cursor });
          seen.push(...page.items.map((c) => c.callId));
          cursor = page.nextCursor ?? undefined;
          pages++;
        } while (cursor !== undefined && pages < 10);
        expect(pages).toBe(4);
        expect(seen).toHaveLength(14);
        expect(new Set(seen).size).toBe(14);
        expect(new Set(seen)).toEqual(new Set(created.map((c) => c.callId)));
      });

      it('rejects a forged cursor', async () => {
        await expect(calls.list({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidCursorError);
        const forged = Buffer.from(JSON.stringify(["2026-01-01'; DROP TABLE calls; --", 'x'])).toString('base64url');
        await expect(calls.list({ cursor: forged })).rejects.toBeInstanceOf(InvalidCursorError);
      });

      it('clamps the page size', async () => {
        const one = await calls.list({ instanceId: inst, limit: 0 });
        expect(one.items).toHaveLength(1);
        expect(one.nextCursor).not.toBeNull();
      });
    });
  });

  describe('CallEventRepository', () => {
    let events: CallEventRepository;
    let calls: CallRepository;
    beforeAll(() => {
      events = new CallEventRepository(t.db);
      calls = new CallRepository(t.db);
    });

    it('appends events and lists them in order, with paging', async () => {
      const call = await calls.create({ callId: uniqueCallId(), instanceId: 'i', direction: 'inbound', fromNumber: '1', toNumber: '2' });
      const at = new Date('2026-04-01T12:00:00.000Z');
      const e1 = await events.append(call.callId, 'ringing', {}, at);
      const e2 = await events.append(call.callId, 'dtmf', { digit: '5', source: 'rfc4733' });
      const e3 = await events.append(call.callId, 'hangup', { side: 'caller' });
      expect(e1).toMatchObject({ callId: call.callId, type: 'ringing', data: {} });
      expect(e1.at.toISOString()).toBe(at.toISOString());
      expect(e2.id).toBeGreaterThan(e1.id);

      const listed = await events.listByCall(call.callId);
      expect(listed.map((e) => e.type)).toEqual(['ringing', 'dtmf', 'hangup']);
      expect(listed[1].data).toEqual({ digit: '5', source: 'rfc4733' });
      expect(await events.listByCall(call.callId, { limit: 1, afterId: e1.id })).toEqual([e2]);
      expect(await events.listByCall(call.callId, { afterId: e3.id })).toEqual([]);
      expect(await events.listByCall('missing@test')).toEqual([]);
    });

    it('refuses an event for an unknown call', async () => {
      const err = await events.append('missing@test', 'x').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isForeignKeyViolation(err)).toBe(true);
    });
  });

  describe('NumberRepository', () => {
    let numbers: NumberRepository;
    beforeAll(() => {
      numbers = new NumberRepository(t.db);
    });

    it('creates with column defaults, updates only given fields, reads back', async () => {
      const created = await numbers.upsert('+15557770001');
      expect(created).toMatchObject({
        number: '+15557770001',
        route: 'ai',
        enabled: true,
        maxConcurrentCalls: null,
        forwardRules: [],
        aiSettings: {},
        recordingEnabled: false,
      });

      const updated = await numbers.upsert('+15557770001', {
        route: 'forward',
        maxConcurrentCalls: 5,
        forwardRules: [{ target: '+15550009999', when: 'no_answer', timeoutS: 20 }],
        statusCallback: 'https://hooks.example/status',
        aiSettings: { agent: 'sales', language: 'en' },
        recordingEnabled: true,
        description: 'Sales line',
      });
      expect(updated).toMatchObject({
        route: 'forward',
        maxConcurrentCalls: 5,
        forwardRules: [{ target: '+15550009999', when: 'no_answer', timeoutS: 20 }],
        statusCallback: 'https://hooks.example/status',
        aiSettings: { agent: 'sales', language: 'en' },
        recordingEnabled: true,
        description: 'Sales line',
      });

      // A partial upsert keeps the other fields; null clears a nullable one.
      const partial = await numbers.upsert('+15557770001', { enabled: false, maxConcurrentCalls: null });
      expect(partial).toMatchObject({ enabled: false, maxConcurrentCalls: null, route: 'forward', recordingEnabled: true });
      expect(partial.createdAt.getTime()).toBe(created.createdAt.getTime());
      expect(await numbers.get('+15557770001')).toEqual(partial);
      expect(await numbers.get('+19999999999')).toBeUndefined();
    });

    it('lists in order with keyset paging and deletes', async () => {
      for (const n of ['+15558880003', '+15558880001', '+15558880002']) await numbers.upsert(n, { route: 'echo' });
      const first = await numbers.list({ after: '+15558880000', limit: 2 });
      expect(first.map((n) => n.number)).toEqual(['+15558880001', '+15558880002']);
      const next = await numbers.list({ after: first[first.length - 1].number, limit: 2 });
      expect(next[0].number).toBe('+15558880003');
      expect(await numbers.delete('+15558880002')).toBe(true);
      expect(await numbers.delete('+15558880002')).toBe(false);
      expect(await numbers.get('+15558880002')).toBeUndefined();
    });

    it('refuses a route outside the allowed set', async () => {
      await expect(numbers.upsert('+15557770002', { route: 'bogus' as 'ai' })).rejects.toThrow();
    });
  });

  describe('BlockedNumberRepository', () => {
    let blocked: BlockedNumberRepository;
    beforeAll(() => {
      blocked = new BlockedNumberRepository(t.db);
    });

    it('blocks, re-blocks, checks and unblocks', async () => {
      expect(await blocked.isBlocked('+15556660001')).toBe(false);
      const b = await blocked.block('+15556660001', { reason: 'Spam caller' });
      expect(b).toMatchObject({ number: '+15556660001', reason: 'Spam caller', expiresAt: null });
      expect(await blocked.isBlocked('+15556660001')).toBe(true);
      expect(await blocked.get('+15556660001')).toMatchObject({ reason: 'Spam caller' });

      const again = await blocked.block('+15556660001', { reason: 'Robocall' });
      expect(again.reason).toBe('Robocall');

      expect(await blocked.unblock('+15556660001')).toBe(true);
      expect(await blocked.unblock('+15556660001')).toBe(false);
      expect(await blocked.isBlocked('+15556660001')).toBe(false);
      expect(await blocked.get('+15556660001')).toBeUndefined();
    });

    it('treats expired blocks as absent and purges them', async () => {
      await blocked.block('+15556660002', { reason: 'temporary', expiresAt: new Date(Date.now() - 60_000) });
      await blocked.block('+15556660003', { reason: 'later', expiresAt: new Date(Date.now() + 3_600_000) });
      expect(await blocked.isBlocked('+15556660002')).toBe(false);
      expect(await blocked.isBlocked('+15556660003')).toBe(true);
      const listed = await blocked.list({ limit: 1000 });
      const nums = listed.items.map((b) => b.number);
      expect(nums).toContain('+15556660003');
      expect(nums).not.toContain('+15556660002');
      expect(listed.total).toBe(listed.items.length);
      expect(await blocked.purgeExpired()).toBeGreaterThanOrEqual(1);
      expect(await blocked.unblock('+15556660002')).toBe(false);
    });

    it('pages the list', async () => {
      for (const n of ['+15556669001', '+15556669002', '+15556669003']) await blocked.block(n);
      const all = await blocked.list({ limit: 1000 });
      const page = await blocked.list({ limit: 2, offset: 1 });
      expect(page.items).toHaveLength(2);
      expect(page.items).toEqual(all.items.slice(1, 3));
      expect(page.total).toBe(all.total);
    });
  });

  describe('InstanceRepository', () => {
    let instances: InstanceRepository;
    beforeAll(() => {
      instances = new InstanceRepository(t.db);
    });

    it('registers, heartbeats, lists live instances and tracks status', async () => {
      const id = `node-${randomUUID()}`;
      const reg = await instances.register({ instanceId: id, sipAddress: '10.0.0.5', sipPort: 5060, version: '0.1.0' });
      expect(reg).toMatchObject({ instanceId: id, sipAddress: '10.0.0.5', sipPort: 5060, status: 'running', activeCalls: 0, version: '0.1.0' });

      const hb = await instances.heartbeat({ instanceId: id, sipAddress: '10.0.0.5', sipPort: 5060, activeCalls: 7, metadata: { zone: 'a' } });
      expect(hb).toMatchObject({ activeCalls: 7, metadata: { zone: 'a' } });
      expect(hb.startedAt.getTime()).toBe(reg.startedAt.getTime());
      expect(hb.lastHeartbeatAt.getTime()).toBeGreaterThanOrEqual(reg.lastHeartbeatAt.getTime());
      expect((await instances.listLive(60)).map((i) => i.instanceId)).toContain(id);

      expect(await instances.setStatus(id, 'draining')).toBe(true);
      expect((await instances.get(id))!.status).toBe('draining');
      expect((await instances.listLive(60)).map((i) => i.instanceId)).toContain(id);
      expect(await instances.setStatus(id, 'stopped')).toBe(true);
      expect((await instances.listLive(60)).map((i) => i.instanceId)).not.toContain(id);
      expect(await instances.setStatus('missing', 'stopped')).toBe(false);
      expect(await instances.get('missing')).toBeUndefined();
    });

    it('judges liveness and staleness by the heartbeat age', async () => {
      const id = `stale-${randomUUID()}`;
      await instances.register({ instanceId: id, sipAddress: '10.0.0.6', sipPort: 5060 });
      // Age the heartbeat directly: the repository uses the database clock, so tests move the row, not time.
      await t.db.query("UPDATE instances SET last_heartbeat_at = now() - interval '1 hour' WHERE instance_id = $1", [id]);
      expect((await instances.listLive(30)).map((i) => i.instanceId)).not.toContain(id);
      expect(await instances.deleteStale(600)).toBeGreaterThanOrEqual(1);
      expect(await instances.get(id)).toBeUndefined();
    });
  });

  describe('createRepositories in a transaction', () => {
    it('writes a CDR and its first event atomically', async () => {
      const callId = uniqueCallId();
      await expect(
        t.db.transaction(async (tx) => {
          const repos = createRepositories(tx);
          await repos.calls.create({ callId, instanceId: 'i', direction: 'outbound', fromNumber: '1', toNumber: '2' });
          await repos.callEvents.append(callId, 'initiated');
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      const repos = createRepositories(t.db);
      expect(await repos.calls.getByCallId(callId)).toBeUndefined();
    });
  });
});

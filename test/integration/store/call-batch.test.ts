import { randomUUID } from 'node:crypto';
import { CallStorePg, CdrWriter } from '../../../src/call';
import { createRepositories, onRoutingDataChange, type Repositories, type RoutingTable } from '../../../src/store';
import { TEST_BACKENDS, createTestDatabase, type TestDatabase } from '../../helpers/db';

// Batched CDR writes and the routing snapshots, on PGlite and the real PostgreSQL.

const T0 = new Date('2024-03-01T10:00:00.000Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const newId = (): string => `${randomUUID()}@batch`;

describe.each(TEST_BACKENDS)('batched call writes on %s', (backend) => {
  let t: TestDatabase;
  let repos: Repositories;

  beforeAll(async () => {
    t = await createTestDatabase(backend);
    repos = createRepositories(t.db);
  }, 60_000);
  afterAll(async () => {
    await t?.destroy();
  });

  const create = (callId: string): { callId: string; instanceId: string; direction: 'inbound'; fromNumber: string; toNumber: string; startedAt: Date; metadata: { route: string } } => ({
    callId,
    instanceId: 'batch-1',
    direction: 'inbound',
    fromNumber: '+15550001',
    toNumber: '1000',
    startedAt: T0,
    metadata: { route: 'echo' },
  });

  it('inserts a call with its changes, digits, end and events folded in, computing the durations', async () => {
    const id = newId();
    await repos.calls.writeBatch([
      {
        callId: id,
        create: create(id),
        update: { status: 'answered', answeredAt: at(1000), sipCode: 200, codec: 'PCMA', rtpPacketsSent: 250, metadata: { b_leg: 'x' } },
        appendDtmf: '12#',
        end: { status: 'completed', endedAt: at(6500), hangupCause: 'normal-clearing', hangupSide: 'caller' },
        events: [{ type: 'initiated', data: { n: 1 }, at: T0 }, { type: 'answered', at: at(1000) }, { type: 'completed', at: at(6500) }],
      },
    ]);
    const row = await repos.calls.getByCallId(id);
    expect(row).toMatchObject({
      status: 'completed',
      sipCode: 200,
      codec: 'PCMA',
      rtpPacketsSent: 250,
      rtpPacketsReceived: 0,
      dtmfDigits: '12#',
      hangupCause: 'normal-clearing',
      hangupSide: 'caller',
      durationS: 6.5,
      billableS: 6,
      metadata: { route: 'echo', b_leg: 'x' },
    });
    expect(row?.answeredAt).toEqual(at(1000));
    expect(row?.endedAt).toEqual(at(6500));
    const events = await repos.callEvents.listByCall(id);
    expect(events.map((e) => e.type)).toEqual(['initiated', 'answered', 'completed']);
    expect(events[0]).toMatchObject({ data: { n: 1 }, at: T0 });
  });

  it('updates existing calls in one statement: patches apply, the first end wins, digits append', async () => {
    const a = newId();
    const b = newId();
    await repos.calls.writeBatch([
      { callId: a, create: create(a), events: [{ type: 'initiated' }] },
      { callId: b, create: create(b), appendDtmf: '1', events: [{ type: 'initiated' }] },
    ]);
    await repos.calls.writeBatch([
      { callId: a, update: { status: 'ringing' }, events: [{ type: 'ringing' }] },
      { callId: b, update: { status: 'answered', answeredAt: at(2000), sipCode: 200 }, appendDtmf: '2', events: [{ type: 'answered' }] },
    ]);
    await repos.calls.writeBatch([
      { callId: a, end: { status: 'cancelled', endedAt: at(3000), sipCode: 487, hangupCause: 'caller-cancel', hangupSide: 'caller' }, events: [{ type: 'canceled' }] },
      { callId: b, update: { rtpPacketsReceived: 99 }, end: { status: 'completed', endedAt: at(4200), hangupCause: 'normal-clearing', hangupSide: 'callee' } },
    ]);
    // A second end (a late timeout) changes nothing.
    await repos.calls.writeBatch([{ callId: b, end: { status: 'failed', endedAt: at(9000), sipCode: 408, hangupCause: 'media-timeout', hangupSide: 'system' } }]);
    expect(await repos.calls.getByCallId(a)).toMatchObject({ status: 'cancelled', sipCode: 487, durationS: 3, billableS: 0, hangupSide: 'caller' });
    expect(await repos.calls.getByCallId(b)).toMatchObject({
      status: 'completed',
      sipCode: 200,
      dtmfDigits: '12',
      rtpPacketsReceived: 99,
      durationS: 4.2,
      billableS: 3,
      hangupCause: 'normal-clearing',
      hangupSide: 'callee',
    });
    expect((await repos.callEvents.listByCall(a)).map((e) => e.type)).toEqual(['initiated', 'ringing', 'canceled']);
  });

  it('is atomic: a batch with a bad entry writes nothing', async () => {
    const good = newId();
    await expect(
      repos.calls.writeBatch([
        { callId: good, create: create(good), events: [{ type: 'initiated' }] },
        { callId: newId(), events: [{ type: 'orphan' }] },
      ]),
    ).rejects.toThrow();
    expect(await repos.calls.getByCallId(good)).toBeUndefined();
  });

  it('CallStorePg through CdrWriter: many calls, few statements, complete rows', async () => {
    const store = new CallStorePg(repos, t.db, { routingCache: false });
    const writer = new CdrWriter({ warn: () => undefined });
    const ids = Array.from({ length: 40 }, () => newId());
    for (const id of ids) {
      writer.submit(store, id, { kind: 'create', start: create(id) });
      writer.submit(store, id, { kind: 'event', event: { type: 'initiated', data: {}, at: T0 } });
      writer.submit(store, id, { kind: 'update', patch: { status: 'answered', answeredAt: at(500), sipCode: 200 } });
    }
    await writer.flushAll();
    for (const id of ids) writer.submit(store, id, { kind: 'end', end: { status: 'completed', endedAt: at(2500), hangupCause: 'normal-clearing', hangupSide: 'caller' } });
    await writer.flushAll();
    expect(writer.failures).toBe(0);
    expect(writer.batches).toBeLessThanOrEqual(4);
    const res = await t.db.query<{ n: unknown }>("SELECT count(*) AS n FROM calls WHERE call_id = ANY($1::text[]) AND status = 'completed' AND billable_s = 2", [ids]);
    expect(Number(res.rows[0].n)).toBe(40);
  });

  it('routing snapshots and fingerprints follow the writes, and every write notifies this process', async () => {
    const seen: RoutingTable[] = [];
    const stop = onRoutingDataChange((table) => seen.push(table));
    try {
      const fp0 = `${await repos.blockedNumbers.fingerprint()}|${await repos.numbers.fingerprint()}`;
      await repos.blockedNumbers.block('+15559990001');
      await repos.blockedNumbers.block('+15559990002', { expiresAt: new Date(Date.now() - 1000) });
      await repos.numbers.upsert('3000', { route: 'echo', maxConcurrentCalls: 2 });
      const fp1 = `${await repos.blockedNumbers.fingerprint()}|${await repos.numbers.fingerprint()}`;
      expect(fp1).not.toBe(fp0);
      const blocked = await repos.blockedNumbers.activeSnapshot(1000);
      expect(blocked.map((b) => b.number)).toContain('+15559990001');
      expect(blocked.map((b) => b.number)).not.toContain('+15559990002');
      const rows = await repos.numbers.snapshotRows(1000);
      expect(rows.find((r) => r['number'] === '3000')).toMatchObject({ route: 'echo', max_concurrent_calls: 2 });
      await repos.numbers.delete('3000');
      await repos.blockedNumbers.unblock('+15559990001');
      expect(seen).toEqual(['blocked_numbers', 'blocked_numbers', 'numbers', 'numbers', 'blocked_numbers']);

      // The store's cache sees those writes on the next lookup.
      const store = new CallStorePg(repos, t.db, { routingCache: { refreshMs: 0 } });
      try {
        await store.warm();
        expect(await store.isBlocked('+15559990003')).toBe(false);
        await repos.blockedNumbers.block('+15559990003');
        expect(await store.isBlocked('+15559990003')).toBe(true);
        await repos.numbers.upsert('3001', { route: 'answer', enabled: false });
        expect(await store.numberRouting('3001')).toMatchObject({ route: 'answer', enabled: false });
      } finally {
        await store.close();
      }
    } finally {
      stop();
    }
  });
});

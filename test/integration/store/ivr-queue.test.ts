import { randomUUID } from 'node:crypto';
import { IvrMenuSet, ivrMenuSetFromRecords, ivrMenuToRecord } from '../../../src/call/ivr';
import { QueueService, type StoredQueue } from '../../../src/call/queue';
import { IvrMenuRepository, QueueRepository, createRepositories, type Database } from '../../../src/store';
import { VirtualClock } from '../../../src/util';
import { TEST_BACKENDS, createTestDatabase, type TestDatabase } from '../../helpers/db';

let seq = 0;
const callId = (tag: string): string => `${tag}-${randomUUID()}-${++seq}@test`;
const uniqueName = (tag: string): string => `${tag}-${randomUUID().slice(0, 8)}`;

describe.each(TEST_BACKENDS)('IVR menus and queues on %s', (backend) => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await createTestDatabase(backend);
  }, 60_000);
  afterAll(async () => {
    await t?.destroy();
  });

  describe('IvrMenuRepository', () => {
    it('stores a menu set and loads it back as the same validated set', async () => {
      const repo = new IvrMenuRepository(t.db);
      const main = uniqueName('main');
      const sub = uniqueName('sub');
      const set = IvrMenuSet.from([
        {
          name: main,
          prompt: 'welcome.wav',
          invalidPrompt: { text: 'Sorry, that is not an option.' },
          timeoutS: 4,
          options: { '1': { type: 'menu', menu: sub }, '0': { type: 'queue', queue: 'support', priority: 7 } },
          defaultAction: { type: 'ai' },
          timeoutAction: { type: 'hangup' },
        },
        { name: sub, prompt: { file: 'sub.wav' }, options: { '101': { type: 'extension', extension: '101' }, '*': { type: 'back' } } },
      ]);
      const saved = [];
      for (const name of set.names) saved.push(await repo.save(ivrMenuToRecord(set.get(name)!)));
      expect(saved[1].maxDigits).toBe(3);
      expect(saved[0].prompt).toBe('welcome.wav');

      const rows = (await repo.list()).filter((r) => r.name === main || r.name === sub);
      const loaded = ivrMenuSetFromRecords(rows, main);
      expect(loaded.ok).toBe(true);
      if (!loaded.ok) return;
      expect(loaded.set.get(main)).toEqual(set.get(main));
      expect(loaded.set.get(sub)).toEqual(set.get(sub));

      // Saving again replaces by name and keeps the id.
      const again = await repo.save({ ...ivrMenuToRecord(set.get(sub)!), maxRetries: 1 });
      expect(again.id).toBe(saved[1].id);
      expect((await repo.getByName(sub))?.maxRetries).toBe(1);
      expect(await repo.get(saved[0].id)).toMatchObject({ name: main, timeoutAction: { type: 'hangup' } });
      expect(await repo.get('not-a-uuid')).toBeUndefined();
      expect(await repo.delete(saved[1].id)).toBe(true);
      expect(await repo.getByName(sub)).toBeUndefined();
    });

    it('is reachable through createRepositories', () => {
      const repos = createRepositories(t.db);
      expect(repos.ivrMenus).toBeInstanceOf(IvrMenuRepository);
      expect(repos.queues).toBeInstanceOf(QueueRepository);
    });
  });

  describe('QueueService over QueueRepository', () => {
    let clock: VirtualClock;
    let service: QueueService;
    let queue: StoredQueue;

    beforeEach(async () => {
      clock = new VirtualClock();
      service = new QueueService({ store: new QueueRepository(t.db), instanceId: 'inst-a', clock });
      queue = await service.define({
        name: uniqueName('sales'),
        strategy: 'least-recent',
        capacity: 10,
        maxWaitS: 300,
        targets: [
          { kind: 'ai', id: 'ai-1' },
          { kind: 'sip', id: 'alice', uri: 'sip:alice@pbx.example' },
        ],
        priorityRules: [
          { match: 'caller', values: ['+15550001'], priority: 10 },
          { match: 'did', values: ['+18005550100'], priority: 5 },
          { match: 'trunk', values: ['trunk-vip'], priority: 3 },
        ],
        onFull: { type: 'forward', number: '+15559999' },
      });
    });
    afterEach(() => {
      service.close();
    });

    it('serves five callers by priority, FIFO within a priority, and skips one who left', async () => {
      const ids = {
        plain1: callId('plain1'),
        vipTrunk: callId('trunk'),
        vipCaller: callId('vip'),
        plain2: callId('plain2'),
        hotline: callId('did'),
      };
      const joins = [
        await service.enqueue(queue.id, { callId: ids.plain1, from: '+15551111', to: '+15552222' }),
        await service.enqueue(queue.name, { callId: ids.vipTrunk, from: '+15553333', trunkId: 'trunk-vip' }),
        await service.enqueue(queue.id, { callId: ids.vipCaller, from: '+15550001' }),
        await service.enqueue(queue.id, { callId: ids.plain2, from: '+15554444' }),
        await service.enqueue(queue.id, { callId: ids.hotline, to: '+18005550100' }),
      ];
      expect(joins.map((j) => j.ok && j.position)).toEqual([1, 1, 1, 4, 2]);
      expect(joins.map((j) => j.ok && [j.entry.priority, j.entry.prioritySource])).toEqual([
        [0, 'default'],
        [3, 'rule:2'],
        [10, 'rule:0'],
        [0, 'default'],
        [5, 'rule:1'],
      ]);
      const line = await service.positions(queue.id);
      expect(line.map((p) => [p.position, p.entry.callId])).toEqual([
        [1, ids.vipCaller],
        [2, ids.hotline],
        [3, ids.vipTrunk],
        [4, ids.plain1],
        [5, ids.plain2],
      ]);

      // The trunk VIP hangs up while waiting.
      expect((await service.leave(ids.vipTrunk))?.status).toBe('abandoned');
      expect(await service.leave(ids.vipTrunk)).toBeUndefined();
      expect((await service.position(ids.plain1))?.position).toBe(3);

      // Targets free one after the other: least recent first, callers in priority order.
      const first = await service.takeNext(queue.id);
      expect(first?.entry.callId).toBe(ids.vipCaller);
      expect(first?.plan.targets.map((x) => x.id)).toEqual(['ai-1', 'alice']);
      expect(first?.entry).toMatchObject({ status: 'connected', agent: 'ai-1,alice' });
      // The AI took it; alice was only planned: release her.
      service.release(queue.id, 'alice');
      clock.advance(1000);
      const second = await service.takeNext(queue.id);
      expect(second?.entry.callId).toBe(ids.hotline);
      expect(second?.plan.targets.map((x) => x.id)).toEqual(['alice']);
      // Nobody free now.
      expect(await service.takeNext(queue.id)).toBeUndefined();
      // The AI slot frees: it takes the next caller.
      service.release(queue.id, 'ai-1');
      const third = await service.takeNext(queue.id, 'ai-1');
      expect(third?.entry).toMatchObject({ callId: ids.plain1, agent: 'ai-1' });
      service.release(queue.id, 'ai-1');
      service.release(queue.id, 'alice');
      const fourth = await service.takeNext(queue.id);
      expect(fourth?.entry.callId).toBe(ids.plain2);
      // Both free; ai-1 was released first (longest idle) and leads the plan.
      expect(fourth?.plan.targets.map((x) => x.id)).toEqual(['ai-1', 'alice']);
      expect(await service.positions(queue.id)).toEqual([]);
    });

    it('moves a caller by changePriority, pulls one to a target, and requeues at the original place', async () => {
      const a = callId('a');
      const b = callId('b');
      const c = callId('c');
      for (const id of [a, b, c]) await service.enqueue(queue.id, { callId: id });
      expect((await service.changePriority(c, 1))?.position).toBe(1);
      const pulled = await service.pullTo(b, 'supervisor');
      expect(pulled).toMatchObject({ callId: b, status: 'connected', agent: 'supervisor' });
      const taken = await service.takeNext(queue.id, 'alice');
      expect(taken?.entry.callId).toBe(c);
      // alice did not answer: c goes back in front (priority 1), a stays second.
      expect((await service.requeue(taken!.entry))?.status).toBe('waiting');
      service.release(queue.id, 'alice');
      expect((await service.positions(queue.id)).map((p) => p.entry.callId)).toEqual([c, a]);
      expect(() => service.changePriority(a, 1.5)).toThrow(TypeError);
      await service.leave(a);
      await service.leave(c);
    });

    it('refuses a caller when full (with the onFull action) and a second wait of the same call', async () => {
      const small = await service.define({ name: uniqueName('small'), capacity: 2, onFull: { type: 'ai' } });
      const x = callId('x');
      expect((await service.enqueue(small.id, { callId: x })).ok).toBe(true);
      expect(await service.enqueue(small.id, { callId: x })).toMatchObject({ ok: false, reason: 'already_waiting' });
      expect((await service.enqueue(small.id, { callId: callId('y') })).ok).toBe(true);
      expect(await service.enqueue(small.id, { callId: callId('z') })).toMatchObject({ ok: false, reason: 'full', action: { type: 'ai' } });
      expect(await service.enqueue(randomUUID(), { callId: callId('q') })).toEqual({ ok: false, reason: 'no_queue' });
    });

    it('announces positions on the clock and times a caller out with the onTimeout action', async () => {
      const timed = await service.define({
        name: uniqueName('timed'),
        maxWaitS: 90,
        announcePosition: true,
        announceIntervalS: 30,
        onTimeout: { type: 'hangup', message: 'queue-closed.wav' },
      });
      const first = callId('first');
      const me = callId('me');
      await service.enqueue(timed.id, { callId: first });
      const join = await service.enqueue(timed.id, { callId: me });
      expect(join.ok).toBe(true);
      const announcements: number[] = [];
      const timeouts: unknown[] = [];
      service.watch(timed, me, { announce: (a) => announcements.push(a.position), timeout: (action, entry) => timeouts.push([action, entry.status]) });
      // The timers fire in virtual time; the database answers in real time: wait for it, whatever it takes.
      const until = async (done: () => boolean): Promise<void> => {
        while (!done()) await new Promise((r) => setTimeout(r, 5));
      };
      clock.advance(30_000);
      await until(() => announcements.length === 1);
      expect(announcements).toEqual([2]);
      await service.leave(first);
      clock.advance(30_000);
      await until(() => announcements.length === 2);
      expect(announcements).toEqual([2, 1]);
      clock.advance(30_000);
      await until(() => timeouts.length === 1);
      expect(announcements).toEqual([2, 1]);
      expect(timeouts).toEqual([[{ type: 'hangup', message: 'queue-closed.wav' }, 'timeout']]);
      expect(await service.position(me)).toBeUndefined();
      expect(service.watching).toBe(0);
      expect(clock.pending()).toBe(0);
    });
  });

  // PGlite is one process with one handle: concurrency between instances needs the real server.
  if (backend === 'pg') describe('two instances', () => {
    let other: Database;
    beforeAll(() => {
      other = t.openAnother();
    });

    it('keeps exact arrival order under concurrent enqueues and never hands one caller out twice', async () => {
      const repoA = new QueueRepository(t.db);
      const repoB = new QueueRepository(other);
      const a = new QueueService({ store: repoA, instanceId: 'inst-a' });
      const b = new QueueService({ store: repoB, instanceId: 'inst-b' });
      const q = await a.define({ name: uniqueName('shared'), capacity: 30, targets: [{ kind: 'ai', id: 'slot' }] });
      // 40 arrivals, alternating instances, all at once: exactly 30 get in.
      const arrivals = Array.from({ length: 40 }, (_, i) => ({ svc: i % 2 === 0 ? a : b, id: callId(`c${i}`) }));
      const results = await Promise.all(arrivals.map(({ svc, id }) => svc.enqueue(q.id, { callId: id })));
      const admitted = results.filter((r) => r.ok);
      expect(admitted).toHaveLength(30);
      expect(results.filter((r) => !r.ok && r.reason === 'full')).toHaveLength(10);
      // Arrival numbers follow the order the inserts happened: the line is sorted by them, no gaps in positions.
      const line = await b.positions(q.id);
      expect(line.map((p) => p.position)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      const arrivalIds = line.map((p) => p.entry.id);
      expect([...arrivalIds].sort((x, y) => x - y)).toEqual(arrivalIds);
      // Every admitted caller saw a position equal to the line length at its arrival.
      const seen = admitted.map((r) => (r.ok ? r.position : 0)).sort((x, y) => x - y);
      expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));

      // Both instances take concurrently: SKIP LOCKED gives each caller to exactly one.
      const takes = await Promise.all(Array.from({ length: 34 }, (_, i) => (i % 2 === 0 ? repoA : repoB).takeNext(q.id, `t${i}`)));
      const taken = takes.filter((x) => x !== undefined).map((x) => x.callId);
      expect(new Set(taken).size).toBe(taken.length);
      // Whatever was not taken in the race is still waiting; together they are the 30 admitted.
      const left = (await a.positions(q.id)).map((p) => p.entry.callId);
      expect(new Set([...taken, ...left]).size).toBe(30);
      expect(taken.length + left.length).toBe(30);
    });
  });
});

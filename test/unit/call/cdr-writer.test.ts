import { CdrWriter, type CallStore, type CdrOp, type CdrWriteSet } from '../../../src/call';
import { VirtualClock } from '../../../src/util';

const log = { warnings: [] as object[], warn(obj: object) { this.warnings.push(obj); } };

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('CdrWriter', () => {
  it('runs the writes of one call in order, one at a time, while other calls proceed', async () => {
    const w = new CdrWriter(log);
    const order: string[] = [];
    const first = deferred();
    void w.enqueue('a', 'create', async () => {
      order.push('a1 start');
      await first.promise;
      order.push('a1 end');
    }, true);
    void w.enqueue('a', 'update', async () => {
      order.push('a2');
    });
    await w.enqueue('b', 'create', async () => {
      order.push('b1');
    });
    expect(order).toEqual(['a1 start', 'b1']);
    first.resolve();
    await w.flush('a');
    expect(order).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
    expect(w.busyCalls).toBe(0);
    expect(w.writes).toBe(3);
  });

  it('drops the later writes of a call whose CDR insert failed, and never throws', async () => {
    const w = new CdrWriter(log);
    let later = 0;
    await expect(w.enqueue('c', 'create', () => Promise.reject(new Error('db down')), true)).resolves.toBeUndefined();
    await w.enqueue('c', 'update', async () => {
      later++;
    });
    expect(later).toBe(0);
    expect(w.failures).toBe(1);
  });

  it('keeps going after a failed update (not the insert)', async () => {
    const w = new CdrWriter(log);
    let later = 0;
    await w.enqueue('d', 'create', async () => undefined, true);
    await w.enqueue('d', 'update', () => Promise.reject(new Error('timeout')));
    await w.enqueue('d', 'end', async () => {
      later++;
    });
    expect(later).toBe(1);
  });

  it('flushAll waits for every queued write', async () => {
    const w = new CdrWriter(log);
    const gate = deferred();
    let done = false;
    void w.enqueue('e', 'x', async () => {
      await gate.promise;
      done = true;
    });
    const flushed = w.flushAll();
    gate.resolve();
    await flushed;
    expect(done).toBe(true);
  });
});

/** A store that takes batches, recording each one; `fail` decides per batch whether it throws. */
class BatchStore implements CallStore {
  readonly batches: CdrWriteSet[][] = [];
  readonly singles: string[] = [];
  gate: Promise<void> | undefined;
  fail: (sets: readonly CdrWriteSet[]) => Error | undefined = () => undefined;
  async writeCdrBatch(sets: readonly CdrWriteSet[]): Promise<void> {
    this.batches.push([...sets]);
    if (this.gate) await this.gate;
    const err = this.fail(sets);
    if (err) throw err;
  }
  async createCdr(): Promise<void> {
    this.singles.push('create');
  }
  async updateCdr(): Promise<void> {
    this.singles.push('update');
  }
  async endCdr(): Promise<void> {
    this.singles.push('end');
  }
  async appendEvent(): Promise<void> {
    this.singles.push('event');
  }
  async appendDtmf(): Promise<void> {
    this.singles.push('dtmf');
  }
  async closeOpenCalls(): Promise<number> {
    return 0;
  }
  async isBlocked(): Promise<boolean> {
    return false;
  }
  async numberRouting(): Promise<undefined> {
    return undefined;
  }
}

const start = (callId: string): CdrOp => ({
  kind: 'create',
  start: { callId, instanceId: 'i1', direction: 'inbound', fromNumber: '+1555', toNumber: '1000', startedAt: new Date(1_700_000_000_000) },
});
const event = (type: string): CdrOp => ({ kind: 'event', event: { type, data: {}, at: new Date(1_700_000_000_000) } });

describe('CdrWriter batching', () => {
  it('folds the writes of many calls made in one turn into one batch, one set per call', async () => {
    const store = new BatchStore();
    const w = new CdrWriter(log);
    for (const id of ['a', 'b', 'c']) {
      w.submit(store, id, start(id));
      w.submit(store, id, event('initiated'));
      w.submit(store, id, { kind: 'update', patch: { status: 'ringing', metadata: { x: 1 } } });
      w.submit(store, id, { kind: 'update', patch: { status: 'answered', sipCode: 200, metadata: { y: 2 } } });
      w.submit(store, id, { kind: 'dtmf', digits: '1' });
      w.submit(store, id, { kind: 'dtmf', digits: '2' });
      w.submit(store, id, { kind: 'end', end: { status: 'completed', endedAt: new Date(1_700_000_005_000), hangupCause: 'normal-clearing', hangupSide: 'caller' } });
      w.submit(store, id, { kind: 'end', end: { status: 'failed', endedAt: new Date(1_700_000_009_000), hangupCause: 'late', hangupSide: 'system' } });
      w.submit(store, id, event('completed'));
    }
    await w.flushAll();
    expect(store.batches).toHaveLength(1);
    const sets = store.batches[0];
    expect(sets.map((s) => s.callId)).toEqual(['a', 'b', 'c']);
    expect(sets[1]).toMatchObject({
      create: { callId: 'b' },
      patch: { status: 'answered', sipCode: 200, metadata: { x: 1, y: 2 } },
      dtmf: '12',
      end: { status: 'completed', hangupCause: 'normal-clearing' },
    });
    expect(sets[1].events.map((e) => e.type)).toEqual(['initiated', 'completed']);
    expect(store.singles).toEqual([]);
    expect(w.writes).toBe(27);
    expect(w.batches).toBe(1);
    expect(w.busyCalls).toBe(0);
  });

  it('never lets a call’s later writes overtake its batch in flight; they leave together in the next one', async () => {
    const store = new BatchStore();
    const w = new CdrWriter(log, { maxConcurrent: 1 });
    let release!: () => void;
    store.gate = new Promise<void>((r) => (release = r));
    const done: string[] = [];
    w.submit(store, 'a', start('a'), () => done.push('a create'));
    await new Promise((r) => setImmediate(r));
    expect(store.batches).toHaveLength(1);
    w.submit(store, 'a', event('ringing'), () => done.push('a ringing'));
    w.submit(store, 'b', start('b'), () => done.push('b create'));
    w.submit(store, 'a', event('answered'), () => done.push('a answered'));
    await new Promise((r) => setImmediate(r));
    // One batch in flight at most: nothing else has left yet.
    expect(store.batches).toHaveLength(1);
    store.gate = undefined;
    release();
    await w.flushAll();
    expect(store.batches).toHaveLength(2);
    const second = store.batches[1].map((s) => [s.callId, s.create !== undefined, s.events.map((e) => e.type)]);
    expect(second).toHaveLength(2);
    expect(second).toEqual(expect.arrayContaining([['a', false, ['ringing', 'answered']], ['b', true, []]]));
    expect(done.filter((d) => d.startsWith('a '))).toEqual(['a create', 'a ringing', 'a answered']);
    expect(done).toContain('b create');
  });

  it('isolates a call whose writes fail so the other calls of the batch still commit', async () => {
    const store = new BatchStore();
    const w = new CdrWriter(log);
    const dup = Object.assign(new Error('duplicate key'), { code: '23505' });
    store.fail = (sets) => (sets.some((s) => s.callId === 'bad') ? dup : undefined);
    const outcome = new Map<string, boolean>();
    for (const id of ['ok1', 'bad', 'ok2']) w.submit(store, id, start(id), (ok) => outcome.set(id, ok));
    await w.flushAll();
    expect(Object.fromEntries(outcome)).toEqual({ ok1: true, bad: false, ok2: true });
    expect(w.failures).toBe(1);
    // The failed insert breaks the call: its later writes are skipped, not sent to fail one by one.
    const before = store.batches.length;
    let later: boolean | undefined;
    w.submit(store, 'bad', event('answered'), (ok) => (later = ok));
    await w.flushAll();
    expect(later).toBe(false);
    expect(store.batches).toHaveLength(before);
  });

  it('retries a batch that failed for a transient reason, then commits it', async () => {
    const store = new BatchStore();
    const clock = new VirtualClock();
    const w = new CdrWriter(log, { clock, retryDelayMs: 100 });
    let failures = 2;
    store.fail = () => (failures-- > 0 ? new Error('Connection terminated unexpectedly') : undefined);
    let committed: boolean | undefined;
    w.submit(store, 'a', start('a'), (ok) => (committed = ok));
    const flushed = w.flushAll();
    for (let i = 0; i < 10 && committed === undefined; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(1000);
    }
    await flushed;
    expect(committed).toBe(true);
    expect(store.batches).toHaveLength(3);
    expect(w.failures).toBe(0);
  });

  it('writes one by one, in order, to a store without batches', async () => {
    const store = new BatchStore();
    const plain: CallStore = {
      createCdr: () => store.createCdr(),
      updateCdr: () => store.updateCdr(),
      endCdr: () => store.endCdr(),
      appendEvent: () => store.appendEvent(),
      appendDtmf: () => store.appendDtmf(),
      closeOpenCalls: () => store.closeOpenCalls(),
      isBlocked: () => store.isBlocked(),
      numberRouting: () => store.numberRouting(),
    };
    const w = new CdrWriter(log);
    w.submit(plain, 'a', start('a'));
    w.submit(plain, 'a', event('x'));
    w.submit(plain, 'a', { kind: 'dtmf', digits: '5' });
    w.submit(plain, 'a', { kind: 'end', end: { status: 'completed', endedAt: new Date(), hangupCause: 'normal-clearing', hangupSide: 'caller' } });
    await w.flush('a');
    expect(store.singles).toEqual(['create', 'event', 'dtmf', 'end']);
    expect(store.batches).toEqual([]);
  });
});

import { CdrWriter } from '../../../src/call';

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

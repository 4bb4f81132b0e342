import { WriteBatcher } from '../../../src/sms/write-batcher';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('WriteBatcher', () => {
  it('flushes a lone item at once and groups items that arrive while flushes are busy', async () => {
    const flushes: number[][] = [];
    const gates: ReturnType<typeof deferred<void>>[] = [];
    const b = new WriteBatcher<number, number>(
      async (items) => {
        flushes.push(items);
        const g = deferred<void>();
        gates.push(g);
        await g.promise;
        return items.map((i) => i * 10);
      },
      3,
      1,
    );
    const first = b.add(1);
    expect(flushes).toEqual([[1]]);
    const rest = [2, 3, 4, 5].map((i) => b.add(i));
    expect(b.pending).toBe(4);
    gates[0].resolve();
    expect(await first).toBe(10);
    await Promise.resolve();
    expect(flushes[1]).toEqual([2, 3, 4]);
    gates[1].resolve();
    await new Promise((r) => setImmediate(r));
    expect(flushes[2]).toEqual([5]);
    gates[2].resolve();
    expect(await Promise.all(rest)).toEqual([20, 30, 40, 50]);
  });

  it('rejects every item of a failed flush and keeps working', async () => {
    let fail = true;
    const b = new WriteBatcher<string, string>(async (items) => {
      if (fail) throw new Error('db down');
      return items.map((s) => s.toUpperCase());
    });
    await expect(b.add('x')).rejects.toThrow('db down');
    fail = false;
    expect(await b.add('y')).toBe('Y');
  });
});

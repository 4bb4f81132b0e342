import { RoutingCache, type NumberRouting, type RoutingSource } from '../../../src/call';
import { VirtualClock } from '../../../src/util';

function routing(number: string, route = 'echo'): NumberRouting {
  return { number, route, enabled: true, maxConcurrentCalls: null, forwardRules: [], statusCallback: null, ringMode: undefined, recordingEnabled: false };
}

/** Tables in memory, counting every read the cache makes. */
class FakeSource implements RoutingSource {
  blocked = new Map<string, Date | null>();
  numbers = new Map<string, NumberRouting>();
  version = 0;
  snapshots = 0;
  fingerprints = 0;
  singleReads = 0;
  failing = false;
  private listener: (() => void) | undefined;

  async loadBlocked(limit: number): Promise<{ number: string; expiresAt: Date | null }[]> {
    if (this.failing) throw new Error('db down');
    this.snapshots++;
    return [...this.blocked].slice(0, limit).map(([number, expiresAt]) => ({ number, expiresAt }));
  }
  async loadNumbers(limit: number): Promise<NumberRouting[]> {
    if (this.failing) throw new Error('db down');
    return [...this.numbers.values()].slice(0, limit);
  }
  async fingerprint(): Promise<string> {
    if (this.failing) throw new Error('db down');
    this.fingerprints++;
    return String(this.version);
  }
  async isBlocked(number: string): Promise<boolean> {
    this.singleReads++;
    const exp = this.blocked.get(number);
    return exp !== undefined && (exp === null || exp.getTime() > Date.now());
  }
  async numberRouting(number: string): Promise<NumberRouting | undefined> {
    this.singleReads++;
    return this.numbers.get(number);
  }
  subscribe(listener: () => void): () => void {
    this.listener = listener;
    return () => {
      this.listener = undefined;
    };
  }
  /** A write through this process's repositories. */
  writeHere(fn: () => void): void {
    fn();
    this.version++;
    this.listener?.();
  }
  get subscribed(): boolean {
    return this.listener !== undefined;
  }
}

/** Let pending promise chains run (the fake source answers in microtasks). */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('RoutingCache', () => {
  let clock: VirtualClock;
  let source: FakeSource;
  let cache: RoutingCache;

  beforeEach(() => {
    clock = new VirtualClock();
    source = new FakeSource();
    source.blocked.set('+1666', null);
    source.numbers.set('2000', routing('2000', 'answer'));
    cache = new RoutingCache(source, { clock, refreshMs: 1000, maxAgeMs: 60_000, retryMs: 500 });
  });
  afterEach(() => cache.close());

  it('answers every lookup from one snapshot: no query per call', async () => {
    await cache.warm();
    for (let i = 0; i < 50; i++) {
      expect(await cache.isBlocked('+1666')).toBe(true);
      expect(await cache.isBlocked(`+1555${i}`)).toBe(false);
      expect((await cache.numberRouting('2000'))?.route).toBe('answer');
      expect(await cache.numberRouting('2001')).toBeUndefined();
    }
    expect(source.snapshots).toBe(1);
    expect(source.singleReads).toBe(0);
  });

  it('sees a write made in this process on the very next lookup', async () => {
    await cache.warm();
    expect(await cache.isBlocked('+1777')).toBe(false);
    source.writeHere(() => source.blocked.set('+1777', null));
    expect(await cache.isBlocked('+1777')).toBe(true);
    source.writeHere(() => source.numbers.set('2000', routing('2000', 'echo')));
    expect((await cache.numberRouting('2000'))?.route).toBe('echo');
    source.writeHere(() => source.blocked.delete('+1666'));
    expect(await cache.isBlocked('+1666')).toBe(false);
    expect(source.snapshots).toBe(4);
  });

  it('judges block expiry on each lookup', async () => {
    source.blocked.set('+1888', new Date(clock.wallNow() + 5000));
    await cache.warm();
    expect(await cache.isBlocked('+1888')).toBe(true);
    clock.advance(5000);
    expect(await cache.isBlocked('+1888')).toBe(false);
  });

  it('picks up changes made elsewhere through the fingerprint, without blocking lookups', async () => {
    await cache.warm();
    // Another instance blocks a number: nothing tells this process.
    source.blocked.set('+1999', null);
    source.version++;
    expect(await cache.isBlocked('+1999')).toBe(false);
    clock.advance(1000);
    await settle();
    expect(await cache.isBlocked('+1999')).toBe(true);
    expect(source.snapshots).toBe(2);
    // Unchanged fingerprint: no reload.
    clock.advance(1000);
    await settle();
    expect(source.snapshots).toBe(2);
    expect(source.fingerprints).toBeGreaterThanOrEqual(3);
  });

  it('reloads unconditionally once the snapshot reaches maxAgeMs', async () => {
    await cache.warm();
    for (let i = 0; i < 60; i++) {
      clock.advance(1000);
      await settle();
    }
    expect(source.snapshots).toBe(2);
  });

  it('falls back to single reads while the database cannot be snapshotted, and keeps a snapshot it has', async () => {
    source.failing = true;
    expect(await cache.isBlocked('+1666')).toBe(true);
    expect(source.singleReads).toBe(1);
    source.failing = false;
    clock.advance(500);
    expect(await cache.isBlocked('+1666')).toBe(true);
    expect(source.snapshots).toBe(1);
    // Failing again after an invalidation: the last snapshot still answers.
    source.failing = true;
    cache.invalidate();
    expect((await cache.numberRouting('2000'))?.route).toBe('answer');
    expect(source.singleReads).toBe(1);
  });

  it('reads a table too large to hold row by row', async () => {
    const small = new RoutingCache(source, { clock, maxEntries: 1, refreshMs: 0 });
    source.blocked.set('+1667', null);
    try {
      expect(await small.isBlocked('+1667')).toBe(true);
      expect(await small.isBlocked('+1668')).toBe(false);
      expect(source.singleReads).toBe(2);
      expect((await small.numberRouting('2000'))?.route).toBe('answer');
      expect(source.singleReads).toBe(2);
    } finally {
      small.close();
    }
  });

  it('close() stops listening and polling', async () => {
    await cache.warm();
    expect(source.subscribed).toBe(true);
    cache.close();
    expect(source.subscribed).toBe(false);
    const fingerprints = source.fingerprints;
    clock.advance(10_000);
    await settle();
    expect(source.fingerprints).toBe(fingerprints);
  });
});

import { systemClock, type Clock, type TimerHandle } from '../util';
import type { NumberRouting } from './call-store';

/** Where the cache loads from: whole-table snapshots, cheap change fingerprints, and single-row reads. */
export interface RoutingSource {
  /** Up to `limit` active blocks (more rows than `limit - 1` means "too many to hold": look them up one by one). */
  loadBlocked(limit: number): Promise<readonly { number: string; expiresAt: Date | null }[]>;
  /** Up to `limit` numbers with their settings. */
  loadNumbers(limit: number): Promise<readonly NumberRouting[]>;
  /** A short text that changes whenever either table changes (polled to pick up writes of other instances). */
  fingerprint(): Promise<string>;
  /** Single reads, used when a table is too large to hold or no snapshot could be loaded yet. */
  isBlocked(number: string): Promise<boolean>;
  numberRouting(number: string): Promise<NumberRouting | undefined>;
  /** Writes in this process, reported at once; returns the unsubscribe function. */
  subscribe?(listener: () => void): () => void;
}

/** Where load failures are reported (the observability logger satisfies it). */
export interface RoutingCacheLogger {
  warn(obj: object, msg?: string): void;
}

export interface RoutingCacheOptions {
  /** How often the fingerprint is checked for changes made elsewhere, ms (default 2000; 0 = never). */
  refreshMs?: number;
  /** Reload unconditionally after this long, ms (default 60000): catches what the fingerprint cannot see. */
  maxAgeMs?: number;
  /** Rows held per table at most (default 200000); a larger table is read row by row instead. */
  maxEntries?: number;
  /** After a failed load, lookups fall back to single reads for this long before the next attempt, ms (default 1000). */
  retryMs?: number;
  clock?: Clock;
  logger?: RoutingCacheLogger;
}

interface Snapshot {
  /** Blocked number -> expiry (wall ms), or Infinity for permanent; undefined = too many, read one by one. */
  blocked: Map<string, number> | undefined;
  numbers: Map<string, NumberRouting> | undefined;
  fingerprint: string;
  loadedAt: number;
}

/**
 * The routing lookups of every inbound INVITE (is the caller blocked? what are the called number's settings?)
 * answered from memory, so call setup never waits for the database (nor behind queued CDR writes in its pool).
 *
 * Both tables are held whole. Freshness: a write through the repositories of this process invalidates at once
 * (the next lookup waits for the reload, so an API change applies to the very next call); writes made elsewhere
 * (another instance, psql) are seen within `refreshMs` through a change fingerprint, with a full reload every
 * `maxAgeMs` as a backstop. Block expiry is judged on each lookup. When the database cannot be read, lookups use
 * the last snapshot, or single reads when there is none.
 */
export class RoutingCache {
  private snapshot: Snapshot | undefined;
  /** Bumped by invalidate(); a snapshot is current when it was loaded at the current generation. */
  private generation = 0;
  private loadedGeneration = -1;
  private loading: Promise<boolean> | undefined;
  private failedUntil = -Infinity;
  private timer: TimerHandle | undefined;
  private closed = false;
  private readonly unsubscribe: (() => void) | undefined;
  private readonly refreshMs: number;
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;
  private readonly retryMs: number;
  private readonly clock: Clock;
  private loadsValue = 0;
  private oversizeReported = false;

  constructor(
    private readonly source: RoutingSource,
    private readonly options: RoutingCacheOptions = {},
  ) {
    this.refreshMs = Math.max(0, options.refreshMs ?? 2000);
    this.maxAgeMs = Math.max(1000, options.maxAgeMs ?? 60_000);
    this.maxEntries = Math.max(1, options.maxEntries ?? 200_000);
    this.retryMs = Math.max(0, options.retryMs ?? 1000);
    this.clock = options.clock ?? systemClock;
    this.unsubscribe = source.subscribe?.(() => this.invalidate());
  }

  /** Snapshots loaded since start (tests, diagnostics). */
  get loads(): number {
    return this.loadsValue;
  }

  /** Forget what is held: the next lookup waits for a fresh snapshot. Call after changing the tables directly. */
  invalidate(): void {
    this.generation++;
  }

  /** Load the first snapshot (start-up) and start watching for changes. Never throws. */
  async warm(): Promise<void> {
    await this.current();
  }

  async isBlocked(number: string): Promise<boolean> {
    const snap = await this.current();
    const blocked = snap?.blocked;
    if (blocked === undefined) return this.source.isBlocked(number);
    const until = blocked.get(number);
    // Expired blocks stay in the table until purged; they no longer block (blocked_numbers.expires_at).
    return until !== undefined && until > this.clock.wallNow();
  }

  async numberRouting(number: string): Promise<NumberRouting | undefined> {
    const snap = await this.current();
    const numbers = snap?.numbers;
    if (numbers === undefined) return this.source.numberRouting(number);
    return numbers.get(number);
  }

  /** Stop polling and listening. Lookups still work (from single reads). */
  close(): void {
    this.closed = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.snapshot = undefined;
  }

  /** The snapshot to answer from: the held one when current, else after a reload; undefined = read directly. */
  private async current(): Promise<Snapshot | undefined> {
    if (this.closed) return undefined;
    // A few rounds at most: writes arriving during a reload make it stale again, and lookups must not spin.
    for (let round = 0; round < 3 && this.loadedGeneration !== this.generation; round++) {
      if (this.clock.now() < this.failedUntil) break;
      if (!(await this.load())) break;
    }
    return this.snapshot;
  }

  /** One load at a time; concurrent callers share it. Resolves false when it failed. */
  private load(): Promise<boolean> {
    this.loading ??= this.reload().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async reload(): Promise<boolean> {
    const generation = this.generation;
    try {
      // The fingerprint first: a change landing between it and the tables only causes one more reload later.
      const fingerprint = await this.source.fingerprint();
      const [blockedRows, numberRows] = await Promise.all([this.source.loadBlocked(this.maxEntries + 1), this.source.loadNumbers(this.maxEntries + 1)]);
      let blocked: Map<string, number> | undefined;
      if (blockedRows.length <= this.maxEntries) {
        blocked = new Map();
        for (const row of blockedRows) blocked.set(row.number, row.expiresAt === null ? Infinity : row.expiresAt.getTime());
      }
      let numbers: Map<string, NumberRouting> | undefined;
      if (numberRows.length <= this.maxEntries) {
        numbers = new Map();
        for (const row of numberRows) numbers.set(row.number, row);
      }
      if (this.closed) return false;
      const oversize = blocked === undefined || numbers === undefined;
      if (oversize && !this.oversizeReported) {
        this.options.logger?.warn({ maxEntries: this.maxEntries, blocked: blocked === undefined, numbers: numbers === undefined }, 'routing table too large to cache; reading it per call');
      }
      this.oversizeReported = oversize;
      this.snapshot = { blocked, numbers, fingerprint, loadedAt: this.clock.now() };
      this.loadedGeneration = generation;
      this.loadsValue++;
      this.arm();
      return true;
    } catch (err) {
      this.failedUntil = this.clock.now() + this.retryMs;
      this.options.logger?.warn({ err }, 'routing cache load failed; using the last snapshot or single reads');
      this.arm();
      return false;
    }
  }

  private arm(): void {
    if (this.closed || this.refreshMs === 0 || this.timer !== undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, this.refreshMs);
  }

  /** Background check: reload when the fingerprint moved or the snapshot is old; lookups keep using the old one meanwhile. */
  private async poll(): Promise<void> {
    if (this.closed) return;
    try {
      const snap = this.snapshot;
      const stale = snap === undefined || this.clock.now() - snap.loadedAt >= this.maxAgeMs || (await this.source.fingerprint()) !== snap.fingerprint;
      if (stale && !this.closed) await this.load();
    } catch (err) {
      this.options.logger?.warn({ err }, 'routing cache change check failed');
    } finally {
      this.arm();
    }
  }
}

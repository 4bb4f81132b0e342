import { onRoutingDataChange, type CallBatchEntry, type Queryable, type Repositories } from '../store';
import type { CallStore, CdrEnd, CdrPatch, CdrStart, CdrWriteSet, NumberRouting, RingMode } from './call-store';
import type { JsonObject } from './json';
import { RoutingCache, type RoutingCacheOptions, type RoutingSource } from './routing-cache';

export interface CallStorePgOptions {
  /** Routing lookups from memory (default on); false reads the tables on every INVITE. */
  routingCache?: RoutingCacheOptions | false;
}

/**
 * {@link CallStore} over the PostgreSQL / PGlite repositories of src/store. Writes resolve once committed (a kill -9
 * loses nothing acknowledged); `writeCdrBatch` commits the writes of many calls in one statement. Routing lookups
 * come from a {@link RoutingCache} kept current by the repositories' change notifications and by polling.
 */
export class CallStorePg implements CallStore {
  private readonly cache: RoutingCache | undefined;

  constructor(
    private readonly repos: Pick<Repositories, 'calls' | 'callEvents' | 'blockedNumbers' | 'numbers'>,
    private readonly db: Queryable,
    options: CallStorePgOptions = {},
  ) {
    if (options.routingCache !== false) this.cache = new RoutingCache(this.routingSource(), options.routingCache ?? {});
  }

  async createCdr(s: CdrStart): Promise<void> {
    await this.repos.calls.create({ ...startRow(s), status: 'initiated' });
  }

  async updateCdr(callId: string, patch: CdrPatch): Promise<void> {
    await this.repos.calls.update(callId, patch);
  }

  async endCdr(callId: string, end: CdrEnd): Promise<void> {
    await this.repos.calls.end(callId, end);
  }

  async appendEvent(callId: string, type: string, data: JsonObject, at: Date): Promise<void> {
    await this.repos.callEvents.append(callId, type, data, at);
  }

  async appendDtmf(callId: string, digits: string): Promise<void> {
    await this.repos.calls.appendDtmf(callId, digits);
  }

  async writeCdrBatch(sets: readonly CdrWriteSet[]): Promise<void> {
    const entries: CallBatchEntry[] = new Array<CallBatchEntry>(sets.length);
    for (let i = 0; i < sets.length; i++) {
      const s = sets[i];
      entries[i] = {
        callId: s.callId,
        create: s.create ? { ...startRow(s.create), status: 'initiated' } : undefined,
        update: s.patch,
        appendDtmf: s.dtmf,
        end: s.end,
        events: s.events,
      };
    }
    await this.repos.calls.writeBatch(entries);
  }

  closeOpenCalls(instanceId: string, cause: string): Promise<number> {
    return this.repos.calls.closeOpenCalls(instanceId, cause);
  }

  isBlocked(number: string): Promise<boolean> {
    return this.cache ? this.cache.isBlocked(number) : this.repos.blockedNumbers.isBlocked(number);
  }

  numberRouting(number: string): Promise<NumberRouting | undefined> {
    return this.cache ? this.cache.numberRouting(number) : this.readNumber(number);
  }

  /** Make the next routing lookup reload (after changing numbers or blocked_numbers with raw SQL). */
  invalidateRouting(): void {
    this.cache?.invalidate();
  }

  async warm(): Promise<void> {
    await this.cache?.warm();
  }

  async close(): Promise<void> {
    this.cache?.close();
  }

  private routingSource(): RoutingSource {
    const { blockedNumbers, numbers } = this.repos;
    return {
      loadBlocked: (limit) => blockedNumbers.activeSnapshot(limit),
      loadNumbers: async (limit) => (await numbers.snapshotRows(limit)).map(toRouting),
      fingerprint: async () => {
        const [b, n] = await Promise.all([blockedNumbers.fingerprint(), numbers.fingerprint()]);
        return `${b}|${n}`;
      },
      isBlocked: (number) => blockedNumbers.isBlocked(number),
      numberRouting: (number) => this.readNumber(number),
      subscribe: (listener) => onRoutingDataChange(listener),
    };
  }

  private async readNumber(number: string): Promise<NumberRouting | undefined> {
    // One row read: the typed settings plus a `ring_mode` column when the schema has one (read from the raw row so
    // this works before and after a migration adds it; ai_settings.ring_mode is honoured meanwhile).
    const res = await this.db.query('SELECT * FROM numbers WHERE number = $1', [number]);
    const row = res.rows[0];
    return row ? toRouting(row) : undefined;
  }
}

function startRow(s: CdrStart): Omit<Parameters<Repositories['calls']['create']>[0], 'status'> {
  return {
    callId: s.callId,
    instanceId: s.instanceId,
    direction: s.direction,
    fromNumber: s.fromNumber,
    toNumber: s.toNumber,
    fromDisplay: s.fromDisplay,
    parentCallId: s.parentCallId,
    trunkId: s.trunkId,
    remoteAddress: s.remoteAddress,
    startedAt: s.startedAt,
    webhookUrl: s.webhookUrl,
    metadata: s.metadata,
  };
}

/** A raw numbers row as routing reads it. */
function toRouting(row: Record<string, unknown>): NumberRouting {
  const route = String(row['route']);
  const ivr = row['ivr_menu_id'];
  const queue = row['queue_id'];
  const rules = Array.isArray(row['forward_rules']) ? (row['forward_rules'] as NumberRouting['forwardRules']) : [];
  const ai = row['ai_settings'] !== null && typeof row['ai_settings'] === 'object' ? (row['ai_settings'] as JsonObject) : {};
  const max = row['max_concurrent_calls'];
  return {
    number: String(row['number']),
    route: route === 'ivr' && ivr ? `ivr:${String(ivr)}` : route === 'queue' && queue ? `queue:${String(queue)}` : route,
    enabled: row['enabled'] === true,
    maxConcurrentCalls: max === null || max === undefined ? null : Number(max),
    forwardRules: rules,
    statusCallback: typeof row['status_callback'] === 'string' ? row['status_callback'] : null,
    ringMode: ringModeOf(row['ring_mode']) ?? ringModeOf(ai['ring_mode']),
    recordingEnabled: row['recording_enabled'] === true,
  };
}

function ringModeOf(v: unknown): RingMode | undefined {
  return v === 'ringback' || v === 'early-media' ? v : undefined;
}

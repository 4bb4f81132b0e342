import type { Queryable, Repositories } from '../store';
import type { CallStore, CdrEnd, CdrPatch, CdrStart, NumberRouting, RingMode } from './call-store';
import type { JsonObject } from './json';

/**
 * {@link CallStore} over the PostgreSQL / PGlite repositories of src/store. Each method is one awaited statement,
 * so a write is committed once its promise resolves (a kill -9 loses nothing acknowledged).
 */
export class CallStorePg implements CallStore {
  constructor(
    private readonly repos: Pick<Repositories, 'calls' | 'callEvents' | 'blockedNumbers' | 'numbers'>,
    private readonly db: Queryable,
  ) {}

  async createCdr(s: CdrStart): Promise<void> {
    await this.repos.calls.create({
      callId: s.callId,
      instanceId: s.instanceId,
      direction: s.direction,
      fromNumber: s.fromNumber,
      toNumber: s.toNumber,
      fromDisplay: s.fromDisplay,
      parentCallId: s.parentCallId,
      trunkId: s.trunkId,
      remoteAddress: s.remoteAddress,
      status: 'initiated',
      startedAt: s.startedAt,
      webhookUrl: s.webhookUrl,
      metadata: s.metadata,
    });
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

  closeOpenCalls(instanceId: string, cause: string): Promise<number> {
    return this.repos.calls.closeOpenCalls(instanceId, cause);
  }

  isBlocked(number: string): Promise<boolean> {
    return this.repos.blockedNumbers.isBlocked(number);
  }

  async numberRouting(number: string): Promise<NumberRouting | undefined> {
    // One row read: the typed settings plus a `ring_mode` column when the schema has one (read from the raw row so
    // this works before and after a migration adds it; ai_settings.ring_mode is honoured meanwhile).
    const res = await this.db.query('SELECT * FROM numbers WHERE number = $1', [number]);
    const row = res.rows[0];
    if (!row) return undefined;
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
}

function ringModeOf(v: unknown): RingMode | undefined {
  return v === 'ringback' || v === 'early-media' ? v : undefined;
}

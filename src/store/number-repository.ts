import type { Queryable, SqlParam } from './database';
import { date, jsonArray, jsonObject, jsonParam, numOrNull, strOrNull, type JsonObject, type JsonValue } from './row-values';

export type NumberRoute = 'ai' | 'answer' | 'echo' | 'reject' | 'forward' | 'ivr' | 'queue';
export const NUMBER_ROUTES: readonly NumberRoute[] = ['ai', 'answer', 'echo', 'reject', 'forward', 'ivr', 'queue'];

/** Settings of one of our numbers (DID). */
export interface NumberSettings {
  number: string;
  route: NumberRoute;
  enabled: boolean;
  description: string | null;
  /** null = unlimited. */
  maxConcurrentCalls: number | null;
  /** Forwarding rules, interpreted by call routing (e.g. `{ target, when: 'busy' | 'no_answer' | 'always', timeoutS }`). */
  forwardRules: JsonValue[];
  ivrMenuId: string | null;
  queueId: string | null;
  /** Trunk for calls from this number; null = route choice. */
  trunkId: string | null;
  statusCallback: string | null;
  smsWebhook: string | null;
  recordingEnabled: boolean;
  /** Per-number AI platform settings (URL override, agent id, prompt...). */
  aiSettings: JsonObject;
  createdAt: Date;
  updatedAt: Date;
}

export type NumberSettingsPatch = Partial<Omit<NumberSettings, 'number' | 'createdAt' | 'updatedAt'>>;

const COLUMNS: { readonly [K in keyof NumberSettingsPatch]-?: readonly [column: string, cast: string] } = {
  route: ['route', ''],
  enabled: ['enabled', '::boolean'],
  description: ['description', ''],
  maxConcurrentCalls: ['max_concurrent_calls', '::integer'],
  forwardRules: ['forward_rules', '::jsonb'],
  ivrMenuId: ['ivr_menu_id', '::uuid'],
  queueId: ['queue_id', '::uuid'],
  trunkId: ['trunk_id', '::uuid'],
  statusCallback: ['status_callback', ''],
  smsWebhook: ['sms_webhook', ''],
  recordingEnabled: ['recording_enabled', '::boolean'],
  aiSettings: ['ai_settings', '::jsonb'],
};

function toSettings(row: Record<string, unknown>): NumberSettings {
  return {
    number: String(row['number']),
    route: row['route'] as NumberRoute,
    enabled: row['enabled'] === true,
    description: strOrNull(row['description']),
    maxConcurrentCalls: numOrNull(row['max_concurrent_calls']),
    forwardRules: jsonArray(row['forward_rules']),
    ivrMenuId: strOrNull(row['ivr_menu_id']),
    queueId: strOrNull(row['queue_id']),
    trunkId: strOrNull(row['trunk_id']),
    statusCallback: strOrNull(row['status_callback']),
    smsWebhook: strOrNull(row['sms_webhook']),
    recordingEnabled: row['recording_enabled'] === true,
    aiSettings: jsonObject(row['ai_settings']),
    createdAt: date(row['created_at']),
    updatedAt: date(row['updated_at']),
  };
}

// ---- change notifications ---------------------------------------------------------------------------------------
// Call routing keeps numbers and blocked_numbers in memory (no query per INVITE). Every write through these
// repositories tells the caches of this process at once, so an API change applies to the very next call; changes
// made elsewhere (another instance, psql) are picked up by the caches' own polling.

/** Which routing table changed. */
export type RoutingTable = 'numbers' | 'blocked_numbers';

type RoutingChangeListener = (table: RoutingTable) => void;
const routingListeners = new Set<RoutingChangeListener>();

/** Be told whenever numbers or blocked_numbers are written in this process; returns the unsubscribe function. */
export function onRoutingDataChange(listener: RoutingChangeListener): () => void {
  routingListeners.add(listener);
  return () => {
    routingListeners.delete(listener);
  };
}

/**
 * Invalidate every routing cache of this process (called by the repositories after each write; call it yourself
 * after changing those tables with raw SQL). A listener that throws does not stop the others.
 */
export function notifyRoutingDataChange(table: RoutingTable): void {
  for (const listener of routingListeners) {
    try {
      listener(table);
    } catch {
      // A cache's invalidation is a flag flip; nothing to recover here.
    }
  }
}

/** DID settings. A number without a row is routed by DEFAULT_ROUTE. */
export class NumberRepository {
  constructor(private readonly db: Queryable) {}

  async get(number: string): Promise<NumberSettings | undefined> {
    const res = await this.db.query('SELECT * FROM numbers WHERE number = $1', [number]);
    return res.rows[0] ? toSettings(res.rows[0]) : undefined;
  }

  /**
   * Create the number or change the given fields; fields left out keep their stored value (or the
   * column default for a new number). One statement, so concurrent upserts cannot lose each other's row.
   */
  async upsert(number: string, patch: NumberSettingsPatch = {}): Promise<NumberSettings> {
    const columns = ['number'];
    const values = ['$1'];
    const updates = ['updated_at = now()'];
    const params: SqlParam[] = [number];
    for (const key of Object.keys(patch) as (keyof NumberSettingsPatch)[]) {
      const value = patch[key];
      const spec = COLUMNS[key];
      if (value === undefined || spec === undefined) continue;
      const [column, cast] = spec;
      params.push(cast === '::jsonb' ? jsonParam(value as JsonValue) : (value as SqlParam));
      columns.push(column);
      values.push(`$${params.length}${cast}`);
      updates.push(`${column} = EXCLUDED.${column}`);
    }
    const res = await this.db.query(
      `INSERT INTO numbers (${columns.join(', ')}) VALUES (${values.join(', ')})
       ON CONFLICT (number) DO UPDATE SET ${updates.join(', ')} RETURNING *`,
      params,
    );
    notifyRoutingDataChange('numbers');
    return toSettings(res.rows[0]);
  }

  /**
   * Up to `limit` raw rows of the table in number order (every column, including ones a later migration adds): the
   * snapshot a routing cache loads in one statement.
   */
  async snapshotRows(limit: number): Promise<Record<string, unknown>[]> {
    const res = await this.db.query('SELECT * FROM numbers ORDER BY number LIMIT $1', [Math.max(1, Math.trunc(limit))]);
    return res.rows;
  }

  /** A short text that changes when rows are added, removed or updated (row count and newest updated_at). */
  async fingerprint(): Promise<string> {
    const res = await this.db.query<{ n: unknown; t: unknown }>('SELECT count(*) AS n, max(updated_at)::text AS t FROM numbers');
    const row = res.rows[0];
    return `${String(row?.n ?? 0)}/${String(row?.t ?? '')}`;
  }

  /** Numbers in ascending order; `after` is the last number of the previous page. */
  async list(options: { limit?: number; after?: string } = {}): Promise<NumberSettings[]> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000);
    const res = await this.db.query('SELECT * FROM numbers WHERE number > $1 ORDER BY number LIMIT $2', [options.after ?? '', limit]);
    return res.rows.map(toSettings);
  }

  async delete(number: string): Promise<boolean> {
    const res = await this.db.query('DELETE FROM numbers WHERE number = $1', [number]);
    notifyRoutingDataChange('numbers');
    return res.rowCount > 0;
  }
}

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
    return toSettings(res.rows[0]);
  }

  /** Numbers in ascending order; `after` is the last number of the previous page. */
  async list(options: { limit?: number; after?: string } = {}): Promise<NumberSettings[]> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000);
    const res = await this.db.query('SELECT * FROM numbers WHERE number > $1 ORDER BY number LIMIT $2', [options.after ?? '', limit]);
    return res.rows.map(toSettings);
  }

  async delete(number: string): Promise<boolean> {
    const res = await this.db.query('DELETE FROM numbers WHERE number = $1', [number]);
    return res.rowCount > 0;
  }
}

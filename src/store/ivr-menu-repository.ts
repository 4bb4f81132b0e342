import type { Queryable } from './database';
import { date, jsonObject, jsonParam, num, type JsonObject, type JsonValue } from './row-values';

/**
 * One IVR menu row. Prompts and actions are JSON documents the IVR engine validates (src/call/ivr); the
 * store keeps them as given.
 */
export interface IvrMenuRecord {
  id: string;
  name: string;
  prompt: JsonValue;
  invalidPrompt: JsonValue | null;
  timeoutPrompt: JsonValue | null;
  timeoutS: number;
  interDigitTimeoutS: number;
  maxRetries: number;
  /** Longest option key. */
  maxDigits: number;
  /** Key sequence -> action. */
  options: JsonObject;
  defaultAction: JsonObject;
  timeoutAction: JsonObject | null;
  createdAt: Date;
  updatedAt: Date;
}

export type NewIvrMenu = Omit<IvrMenuRecord, 'id' | 'createdAt' | 'updatedAt'>;

function jsonOrNull(v: unknown): JsonValue | null {
  if (v === null || v === undefined) return null;
  return v as JsonValue;
}

function toRecord(row: Record<string, unknown>): IvrMenuRecord {
  const timeoutAction = row['timeout_action'];
  return {
    id: String(row['id']),
    name: String(row['name']),
    prompt: jsonOrNull(row['prompt']) ?? '',
    invalidPrompt: jsonOrNull(row['invalid_prompt']),
    timeoutPrompt: jsonOrNull(row['timeout_prompt']),
    timeoutS: num(row['timeout_s']),
    interDigitTimeoutS: num(row['inter_digit_timeout_s']),
    maxRetries: num(row['max_retries']),
    maxDigits: num(row['max_digits']),
    options: jsonObject(row['options']),
    defaultAction: jsonObject(row['default_action']),
    timeoutAction: timeoutAction === null || timeoutAction === undefined ? null : jsonObject(timeoutAction),
    createdAt: date(row['created_at']),
    updatedAt: date(row['updated_at']),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** IVR menus, one row per menu; menus reference each other by name. */
export class IvrMenuRepository {
  constructor(private readonly db: Queryable) {}

  /** Insert a menu, or replace the one of the same name (id and created_at kept). */
  async save(menu: NewIvrMenu): Promise<IvrMenuRecord> {
    const res = await this.db.query(
      `INSERT INTO ivr_menus (name, prompt, invalid_prompt, timeout_prompt, timeout_s, inter_digit_timeout_s, max_retries, max_digits,
                              options, default_action, timeout_action)
       VALUES ($1, $2::jsonb, $3::jsonb, $4::jsonb, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::jsonb)
       ON CONFLICT (name) DO UPDATE SET
         prompt = EXCLUDED.prompt, invalid_prompt = EXCLUDED.invalid_prompt, timeout_prompt = EXCLUDED.timeout_prompt,
         timeout_s = EXCLUDED.timeout_s, inter_digit_timeout_s = EXCLUDED.inter_digit_timeout_s, max_retries = EXCLUDED.max_retries,
         max_digits = EXCLUDED.max_digits, options = EXCLUDED.options, default_action = EXCLUDED.default_action,
         timeout_action = EXCLUDED.timeout_action, updated_at = now()
       RETURNING *`,
      [
        menu.name,
        jsonParam(menu.prompt),
        menu.invalidPrompt === null ? null : jsonParam(menu.invalidPrompt),
        menu.timeoutPrompt === null ? null : jsonParam(menu.timeoutPrompt),
        menu.timeoutS,
        menu.interDigitTimeoutS,
        menu.maxRetries,
        menu.maxDigits,
        jsonParam(menu.options),
        jsonParam(menu.defaultAction),
        menu.timeoutAction === null ? null : jsonParam(menu.timeoutAction),
      ],
    );
    return toRecord(res.rows[0]);
  }

  async get(id: string): Promise<IvrMenuRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const res = await this.db.query('SELECT * FROM ivr_menus WHERE id = $1', [id]);
    return res.rows[0] ? toRecord(res.rows[0]) : undefined;
  }

  async getByName(name: string): Promise<IvrMenuRecord | undefined> {
    const res = await this.db.query('SELECT * FROM ivr_menus WHERE name = $1', [name]);
    return res.rows[0] ? toRecord(res.rows[0]) : undefined;
  }

  /** Every menu, by name (a menu set is loaded whole: sub-menus reference each other). */
  async list(): Promise<IvrMenuRecord[]> {
    const res = await this.db.query('SELECT * FROM ivr_menus ORDER BY name');
    return res.rows.map(toRecord);
  }

  /** True when the menu existed. Numbers pointing at it fall back to their default route (ON DELETE SET NULL). */
  async delete(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const res = await this.db.query('DELETE FROM ivr_menus WHERE id = $1', [id]);
    return res.rowCount > 0;
  }
}

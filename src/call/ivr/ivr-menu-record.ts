import type { IvrMenuRecord, JsonObject, JsonValue, NewIvrMenu } from '../../store';
import { IvrMenuSet, maxOptionLength, type IvrMenu, type IvrMenuSetResult } from './ivr-menu';

/** The ivr_menus row fields of a validated menu. */
export function ivrMenuToRecord(menu: IvrMenu): NewIvrMenu {
  return {
    name: menu.name,
    prompt: menu.prompt as JsonValue,
    invalidPrompt: (menu.invalidPrompt ?? null) as JsonValue | null,
    timeoutPrompt: (menu.timeoutPrompt ?? null) as JsonValue | null,
    timeoutS: menu.timeoutS,
    interDigitTimeoutS: menu.interDigitTimeoutS,
    maxRetries: menu.maxRetries,
    maxDigits: maxOptionLength(menu),
    options: menu.options as JsonObject,
    defaultAction: menu.defaultAction as JsonObject,
    timeoutAction: (menu.timeoutAction ?? null) as JsonObject | null,
  };
}

/** A stored row as menu input (validated by IvrMenuSet.parse). */
export function ivrMenuFromRecord(row: IvrMenuRecord): Record<string, unknown> {
  const menu: Record<string, unknown> = {
    name: row.name,
    prompt: row.prompt,
    timeoutS: row.timeoutS,
    interDigitTimeoutS: row.interDigitTimeoutS,
    maxRetries: row.maxRetries,
    options: row.options,
    defaultAction: row.defaultAction,
  };
  if (row.invalidPrompt !== null) menu['invalidPrompt'] = row.invalidPrompt;
  if (row.timeoutPrompt !== null) menu['timeoutPrompt'] = row.timeoutPrompt;
  if (row.timeoutAction !== null) menu['timeoutAction'] = row.timeoutAction;
  return menu;
}

/** Validate the stored menus as one set (sub-menu references resolved across rows). */
export function ivrMenuSetFromRecords(rows: readonly IvrMenuRecord[], root?: string): IvrMenuSetResult {
  return IvrMenuSet.parse(rows.map(ivrMenuFromRecord), root);
}

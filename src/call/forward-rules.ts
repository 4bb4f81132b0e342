import type { JsonValue } from './json';

/** When a number forwards: always (unconditional), when the destination is busy, or when nobody answers in time. */
export type ForwardCondition = 'always' | 'busy' | 'no-answer';

export interface ForwardRule {
  when: ForwardCondition;
  /** A SIP URI (`sip:alice@example.com`) or a number dialled through the outbound trunk. */
  target: string;
  /** no-answer: ring the first destination this long before forwarding, seconds. */
  timeoutS: number;
}

export interface ForwardRules {
  always: ForwardRule | undefined;
  busy: ForwardRule | undefined;
  noAnswer: ForwardRule | undefined;
}

/** Default ring time before a no-answer forward, seconds (a common carrier default). */
export const DEFAULT_NO_ANSWER_S = 20;

const WHEN: Readonly<Record<string, ForwardCondition>> = {
  always: 'always',
  unconditional: 'always',
  busy: 'busy',
  on_busy: 'busy',
  no_answer: 'no-answer',
  'no-answer': 'no-answer',
  noanswer: 'no-answer',
};

function isObject(v: JsonValue): v is { [key: string]: JsonValue } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Read the numbers table's forward_rules (`[{ "when": "busy", "target": "sip:...", "timeoutS": 15 }]`). Entries that
 * do not make sense are skipped (stored configuration must not break routing); the first rule per condition wins.
 */
export function parseForwardRules(raw: readonly JsonValue[]): ForwardRules {
  const out: ForwardRules = { always: undefined, busy: undefined, noAnswer: undefined };
  for (const item of raw) {
    if (!isObject(item)) continue;
    const whenRaw = item['when'] ?? item['condition'];
    const when = typeof whenRaw === 'string' ? WHEN[whenRaw.toLowerCase()] : undefined;
    const target = item['target'] ?? item['to'];
    if (!when || typeof target !== 'string' || target.trim() === '' || target.length > 256) continue;
    const t = item['timeoutS'] ?? item['timeout_s'] ?? item['timeout'];
    const timeoutS = typeof t === 'number' && Number.isFinite(t) && t >= 1 && t <= 600 ? Math.round(t) : DEFAULT_NO_ANSWER_S;
    const rule: ForwardRule = { when, target: target.trim(), timeoutS };
    if (when === 'always') out.always ??= rule;
    else if (when === 'busy') out.busy ??= rule;
    else out.noAnswer ??= rule;
  }
  return out;
}

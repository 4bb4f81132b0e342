import type { TrunkRecord } from '../store';

/** The fields of a trunk route choice looks at. */
export type RoutableTrunk = Pick<TrunkRecord, 'id' | 'prefixes' | 'priority' | 'weight'>;

/** A trunk that serves a number, with the prefix that matched ('' for a trunk without prefixes). */
export interface PrefixMatch<T extends RoutableTrunk> {
  readonly trunk: T;
  readonly prefix: string;
}

function withoutPlus(s: string): string {
  return s.charCodeAt(0) === 43 ? s.slice(1) : s;
}

/**
 * The longest of `prefixes` that `number` starts with; '' when the list is empty (the trunk serves any number);
 * undefined when none matches. `+` is optional on both sides: `+4420` and `4420` both match `+442071234567`.
 */
export function matchPrefix(prefixes: readonly string[], number: string): string | undefined {
  if (prefixes.length === 0) return '';
  const bare = withoutPlus(number);
  let best: string | undefined;
  for (const p of prefixes) {
    if (p === '') {
      if (best === undefined) best = p;
      continue;
    }
    if (!(number.startsWith(p) || bare.startsWith(withoutPlus(p)))) continue;
    if (best === undefined || withoutPlus(p).length > withoutPlus(best).length) best = p;
  }
  return best;
}

/**
 * Orders the trunks that serve `number` for failover: longest matching prefix first, then lower `priority`, then,
 * among trunks of equal prefix length and priority, a weighted random order (each trunk's chance to come first is
 * proportional to its weight: Efraimidis-Spirakis keys u^(1/w)). Trunks that do not serve the number are left out.
 */
export function orderRoutes<T extends RoutableTrunk>(trunks: readonly T[], number: string, random: () => number = Math.random): PrefixMatch<T>[] {
  const entries: { match: PrefixMatch<T>; len: number; key: number }[] = [];
  for (const trunk of trunks) {
    const prefix = matchPrefix(trunk.prefixes, number);
    if (prefix === undefined) continue;
    const weight = trunk.weight > 0 ? trunk.weight : 1;
    // u in (0, 1]: a zero would tie every trunk at key 0.
    const u = 1 - random();
    entries.push({ match: { trunk, prefix }, len: withoutPlus(prefix).length, key: Math.pow(u, 1 / weight) });
  }
  entries.sort((a, b) => b.len - a.len || a.match.trunk.priority - b.match.trunk.priority || b.key - a.key);
  return entries.map((e) => e.match);
}

/** The number as the trunk wants it: drop `stripDigits` leading characters, then prepend `dialPrefix`. */
export function dialStringFor(trunk: Pick<TrunkRecord, 'stripDigits' | 'dialPrefix'>, number: string): string {
  return trunk.dialPrefix + number.slice(Math.min(trunk.stripDigits, number.length));
}

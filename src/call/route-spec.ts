/**
 * Where a call goes once we take it: the built-in media apps (answer, echo), the AI bridge, an IVR menu, a queue,
 * another party (forward), or nowhere (reject). Written as text in the numbers table, DEFAULT_ROUTE and the API:
 * `ai`, `answer`, `echo`, `reject`, `ivr:<menu id>`, `queue:<queue id>`, `forward:<sip uri or number>`.
 */
export type RouteSpec =
  | { kind: 'ai' }
  | { kind: 'answer' }
  | { kind: 'echo' }
  | { kind: 'reject' }
  | { kind: 'ivr'; id: string }
  | { kind: 'queue'; id: string }
  | { kind: 'forward'; target: string };

export type RouteKind = RouteSpec['kind'];

const SIMPLE: ReadonlySet<string> = new Set(['ai', 'answer', 'echo', 'reject']);

/** Parse a route string; undefined when malformed (unknown kind, missing or oversized argument). */
export function parseRoute(text: string): RouteSpec | undefined {
  const s = text.trim();
  if (SIMPLE.has(s)) return { kind: s as 'ai' | 'answer' | 'echo' | 'reject' };
  const colon = s.indexOf(':');
  if (colon <= 0) return undefined;
  const kind = s.slice(0, colon);
  const arg = s.slice(colon + 1).trim();
  if (arg.length === 0 || arg.length > 256 || /[\s<>"]/.test(arg)) return undefined;
  if (kind === 'ivr') return { kind, id: arg };
  if (kind === 'queue') return { kind, id: arg };
  if (kind === 'forward') return { kind, target: arg };
  return undefined;
}

export function formatRoute(r: RouteSpec): string {
  switch (r.kind) {
    case 'ivr':
    case 'queue':
      return `${r.kind}:${r.id}`;
    case 'forward':
      return `forward:${r.target}`;
    default:
      return r.kind;
  }
}

/** Pure helpers for the UA layer's RFC 3261 §8.2 request checks; the UA decides the response (416/420/...). */
import type { SipRequest } from './message';

/**
 * RFC 3261 §8.2.2.3: option tags listed in Require that are not in `supported`, each once, in order of
 * appearance (they go in the 420 response's Unsupported header). Option tags compare case-sensitively as tokens.
 */
export function unsupportedRequire(req: SipRequest, supported: Set<string>): string[] {
  const out: string[] = [];
  for (const tag of req.getHeaders('require')) {
    if (!supported.has(tag) && !out.includes(tag)) out.push(tag);
  }
  return out;
}

export { isSupportedUriScheme } from './uri';

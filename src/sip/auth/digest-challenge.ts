import { parseAuthParams, type AuthParams } from './auth-params';
import { algorithmStrength, parseDigestAlgorithm, type DigestAlgorithm } from './digest-algorithm';

/** Which header carried a challenge, and so which header answers it (RFC 3261 §22.2, §22.3). */
export type ChallengeHeader = 'WWW-Authenticate' | 'Proxy-Authenticate';

/** The answering header for a challenge header: 401 -> Authorization, 407 -> Proxy-Authorization. */
export function credentialsHeaderFor(header: ChallengeHeader): 'Authorization' | 'Proxy-Authorization' {
  return header === 'WWW-Authenticate' ? 'Authorization' : 'Proxy-Authorization';
}

/** A Digest challenge (RFC 7616 §3.3 as profiled for SIP by RFC 3261 §22.4 and RFC 8760). */
export interface DigestChallenge {
  readonly header: ChallengeHeader;
  readonly realm: string;
  readonly nonce: string;
  readonly opaque?: string;
  readonly algorithm: DigestAlgorithm;
  /** The algorithm directive as sent; undefined when absent (MD5 implied, and we then omit it in the answer too). */
  readonly algorithmToken?: string;
  /** qop-options, lower-cased; empty for an RFC 2069 style challenge without qop. */
  readonly qop: readonly string[];
  /** RFC 7616 §3.3: the previous request's nonce was stale; retry with the same credentials. */
  readonly stale: boolean;
  readonly domain?: string;
  /** RFC 7616 §3.4.4: the server supports hashed usernames (we do not send them: the plain username is answered). */
  readonly userhash: boolean;
}

/** Outcome of reading the challenges of a response: the usable ones and how many were skipped. */
export interface ChallengeSet {
  readonly challenges: DigestChallenge[];
  /** Digest challenges with an algorithm we do not implement, or missing realm/nonce. */
  readonly unsupported: number;
  /** Challenges of other schemes (Basic is forbidden in SIP, RFC 3261 §22.4). */
  readonly otherSchemes: number;
}

/** Reads one parsed challenge; undefined when it is not a usable Digest challenge. */
export function toDigestChallenge(p: AuthParams, header: ChallengeHeader): DigestChallenge | undefined {
  if (p.scheme.toLowerCase() !== 'digest') return undefined;
  const realm = p.params.get('realm');
  const nonce = p.params.get('nonce');
  if (realm === undefined || nonce === undefined) return undefined;
  const algorithmToken = p.params.get('algorithm');
  const algorithm = parseDigestAlgorithm(algorithmToken);
  if (algorithm === undefined) return undefined;
  const qopText = p.params.get('qop');
  const qop = qopText === undefined ? [] : qopText.split(',').map((q) => q.trim().toLowerCase()).filter((q) => q !== '');
  const c: {
    header: ChallengeHeader;
    realm: string;
    nonce: string;
    algorithm: DigestAlgorithm;
    qop: string[];
    stale: boolean;
    userhash: boolean;
    opaque?: string;
    algorithmToken?: string;
    domain?: string;
  } = {
    header,
    realm,
    nonce,
    algorithm,
    qop,
    stale: (p.params.get('stale') ?? '').toLowerCase() === 'true',
    userhash: (p.params.get('userhash') ?? '').toLowerCase() === 'true',
  };
  const opaque = p.params.get('opaque');
  if (opaque !== undefined) c.opaque = opaque;
  if (algorithmToken !== undefined) c.algorithmToken = algorithmToken;
  const domain = p.params.get('domain');
  if (domain !== undefined) c.domain = domain;
  return c;
}

/** Every Digest challenge in the given header values (each value may hold several challenges). Never throws. */
export function parseDigestChallenges(values: readonly string[], header: ChallengeHeader): ChallengeSet {
  const challenges: DigestChallenge[] = [];
  let unsupported = 0;
  let otherSchemes = 0;
  for (const v of values) {
    for (const p of parseAuthParams(v)) {
      if (p.scheme.toLowerCase() !== 'digest') {
        otherSchemes++;
        continue;
      }
      const c = toDigestChallenge(p, header);
      if (c) challenges.push(c);
      else unsupported++;
    }
  }
  return { challenges, unsupported, otherSchemes };
}

/** The qop we answer with: 'auth' when offered (widely interoperable), else 'auth-int', else none (RFC 2069 mode). */
export function chooseQop(challenge: DigestChallenge): 'auth' | 'auth-int' | undefined {
  if (challenge.qop.includes('auth')) return 'auth';
  if (challenge.qop.includes('auth-int')) return 'auth-int';
  return undefined;
}

/**
 * RFC 7616 §3.7 / RFC 8760 §2.4: when several challenges are offered for one realm the client uses the strongest
 * algorithm it supports. Returns one challenge per (header, realm), in first-seen order; `accept` filters the
 * algorithms the caller can answer (e.g. only MD5 when it holds an MD5 HA1 rather than the password).
 */
export function selectStrongest(challenges: readonly DigestChallenge[], accept: (c: DigestChallenge) => boolean = () => true): DigestChallenge[] {
  const best = new Map<string, DigestChallenge>();
  for (const c of challenges) {
    if (!accept(c)) continue;
    const key = `${c.header}\u0000${c.realm}`;
    const prev = best.get(key);
    if (!prev || algorithmStrength(c.algorithm) > algorithmStrength(prev.algorithm)) best.set(key, c);
  }
  return [...best.values()];
}

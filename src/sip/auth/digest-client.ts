import type { SipResponse } from '../message';
import { hashOf, hexLength, type DigestHash } from './digest-algorithm';
import { credentialsHeaderFor, parseDigestChallenges, selectStrongest, type DigestChallenge } from './digest-challenge';
import { answerChallenge } from './digest-response';

/** Credentials a UAC answers challenges with. Give the password, or an HA1 (and its hash) to avoid holding it. */
export interface DigestCredentials {
  readonly username: string;
  readonly password?: string;
  /** H(username:realm:password), lower-case hex, for `ha1Hash` (default MD5). Only usable for that realm. */
  readonly ha1?: string;
  readonly ha1Hash?: DigestHash;
  /** Answer only challenges of this realm (RFC 3261 §22.1: credentials belong to a realm). */
  readonly realm?: string;
}

/** What to do with a 401/407. */
export type ChallengeVerdict =
  /** Re-send the request (new CSeq, same Call-ID and From tag: RFC 3261 §22.2) with these headers replacing old ones. */
  | { retry: true; headers: [string, string][] }
  /** Give up: the final response stands. */
  | { retry: false; reason: ChallengeRefusal };

export type ChallengeRefusal =
  | 'no-challenge' // a 401/407 without a Digest challenge we can read
  | 'unsupported' // only algorithms (or realms) we cannot answer
  | 'rejected' // RFC 7616 §3.3: challenged again without stale=true: the credentials are wrong
  | 'too-many'; // stale loop guard

/** A request being authorized. */
export interface AuthorizedRequest {
  readonly method: string;
  /** Request-URI as sent. */
  readonly uri: string;
  readonly body?: Buffer;
}

interface RealmState {
  challenge: DigestChallenge;
  nc: number;
  /** We sent credentials for this challenge's nonce. */
  answered: boolean;
}

/**
 * The UAC side of digest authentication for one request sequence (an INVITE and its retries, then the requests
 * of its dialog; or a REGISTER and its refreshes). RFC 3261 §22.2-§22.3: answer every challenge (one per realm,
 * WWW- and Proxy-), keep the challenges to authorize later requests of the same realm with an incremented nonce
 * count, and stop when a server re-challenges a request we already authorized unless it says the nonce was stale
 * (RFC 7616 §3.3), so a wrong password never loops.
 */
export class DigestClient {
  private readonly realms = new Map<string, RealmState>();
  private readonly maxStaleRetries: number;
  private staleRetries = 0;

  constructor(
    readonly credentials: DigestCredentials,
    opts: { maxStaleRetries?: number } = {},
  ) {
    if (credentials.password === undefined && credentials.ha1 === undefined) throw new TypeError('credentials need a password or an ha1');
    this.maxStaleRetries = opts.maxStaleRetries ?? 3;
  }

  /** Whether any challenge has been answered (later requests can carry credentials). */
  get hasChallenges(): boolean {
    return this.realms.size > 0;
  }

  /**
   * A 401 or 407 answered `request`. Decides whether to retry and returns the credential headers for the retry
   * (every realm we hold, so a proxy's and the UAS's credentials travel together).
   */
  handleChallenge(res: SipResponse, request: AuthorizedRequest): ChallengeVerdict {
    const all = [
      ...parseDigestChallenges(res.getHeaders('WWW-Authenticate'), 'WWW-Authenticate').challenges,
      ...parseDigestChallenges(res.getHeaders('Proxy-Authenticate'), 'Proxy-Authenticate').challenges,
    ];
    if (all.length === 0) return { retry: false, reason: 'no-challenge' };
    const chosen = selectStrongest(all, (c) => this.canAnswer(c));
    if (chosen.length === 0) return { retry: false, reason: 'unsupported' };
    for (const c of chosen) {
      const key = keyOf(c);
      const prev = this.realms.get(key);
      if (prev && prev.answered) {
        if (!c.stale) return { retry: false, reason: 'rejected' };
        if (++this.staleRetries > this.maxStaleRetries) return { retry: false, reason: 'too-many' };
      }
      this.realms.set(key, { challenge: c, nc: 0, answered: false });
    }
    return { retry: true, headers: this.authorize(request) };
  }

  /**
   * Credential headers for a request to send now, answering every held challenge with the next nonce count
   * (RFC 7616 §3.4: nc counts the requests a nonce authorized). Empty when nothing was challenged yet.
   */
  authorize(request: AuthorizedRequest): [string, string][] {
    const out: [string, string][] = [];
    for (const st of this.realms.values()) {
      st.nc++;
      st.answered = true;
      const c = this.credentials;
      const secret = c.password !== undefined ? { password: c.password } : { ha1: c.ha1 as string };
      const answer = answerChallenge(st.challenge, { ...secret, username: c.username, method: request.method, uri: request.uri, body: request.body, nc: st.nc });
      out.push([credentialsHeaderFor(st.challenge.header), answer.value]);
    }
    return out;
  }

  /** Forget held challenges (e.g. after the registrar restarted and the old nonce is meaningless). */
  reset(): void {
    this.realms.clear();
    this.staleRetries = 0;
  }

  private canAnswer(c: DigestChallenge): boolean {
    const cred = this.credentials;
    if (cred.realm !== undefined && cred.realm !== c.realm) return false;
    if (cred.password !== undefined) return true;
    const hash = cred.ha1Hash ?? 'MD5';
    return hashOf(c.algorithm) === hash && (cred.ha1 ?? '').length === hexLength(hash);
  }
}

function keyOf(c: DigestChallenge): string {
  return `${c.header}\u0000${c.realm}`;
}

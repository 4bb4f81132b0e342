import { randomBytes } from 'node:crypto';
import {
  computeHa1,
  DecoyHa1,
  DigestChallenger,
  hashOf,
  type DigestAlgorithm,
  type DigestAuthorization,
  type DigestVerifyFailure,
  type DigestVerifyResult,
} from '../sip/auth';
import { formatUri, type SipRequest } from '../sip/message';
import type { TrunkRecord } from '../store';
import type { Clock } from '../util';

export interface InboundAuthOptions {
  /** SIP_DOMAIN: the realm of trunks that have no realm of their own. */
  readonly domain: string;
  /** Nonce MAC key shared by the instances (SIP_REGISTRAR_SECRET); random per process when undefined. */
  readonly secret?: string | Buffer;
  /** Offered algorithms, preferred first (RFC 8760 §2.4). Default SHA-256, MD5. */
  readonly algorithms?: readonly DigestAlgorithm[];
  /** Nonce lifetime; older nonces are answered with stale=true. Default 300 s (the registrar's). */
  readonly nonceTtlMs?: number;
  readonly clock?: Clock;
}

/** A trunk that may prove itself by digest: its username and decrypted password. */
export interface InboundTrunkCredentials {
  readonly trunk: TrunkRecord;
  readonly username: string;
  readonly password: string;
}

/** What the digest step decided for a request (RFC 3261 §22.3). */
export type DigestInboundVerdict =
  /** The credentials verify with this trunk's password: the request is that trunk's. */
  | { readonly kind: 'trunk'; readonly trunk: TrunkRecord; readonly algorithm: DigestAlgorithm }
  /** No (usable) credentials yet, or a stale nonce: answer 407 with these Proxy-Authenticate headers. */
  | {
      readonly kind: 'challenge';
      readonly status: 407;
      readonly reason: string;
      readonly headers: [string, string][];
      readonly stale: boolean;
      readonly failure: DigestVerifyFailure;
    }
  /** Wrong password or unknown user (403), or unreadable credentials (400). */
  | { readonly kind: 'refused'; readonly status: 400 | 403; readonly reason: string; readonly failure: DigestVerifyFailure; readonly username?: string };

/**
 * Where credentials may arrive: Proxy-Authorization answers our 407; Authorization is read too (a UAC that answers
 * a 407 in the wrong header still proves the same secret).
 */
const CREDENTIAL_HEADERS = ['Proxy-Authorization', 'Authorization'] as const;

/**
 * Inbound identification by digest (RFC 3261 §22.3, RFC 7616, RFC 8760): a request from an address no trunk
 * owns proves itself a trunk by answering our challenge with that trunk's username and password. Nonces come from
 * the registrar's DigestChallenger (self-validating, MACed, bounded in time, stale=true once expired, nonce counts
 * checked against replay); one challenger per realm, the realm being the trunk's own or SIP_DOMAIN.
 *
 * Why 407 Proxy-Authenticate rather than 401 WWW-Authenticate: this check takes the place of the edge proxy of the
 * seed's design (Kamailio in front of the application), and RFC 3261 §22.3 gives proxy-to-user authentication the
 * 407; a 401 would speak for the final UAS, which for a B2BUA is whoever the call is routed to next. Every UAC
 * answers both (§22.2, §22.3), and Proxy-Authorization, unlike Authorization, is consumed by the hop that asked.
 */
export class InboundAuthenticator {
  readonly domain: string;
  private readonly secret: Buffer;
  private readonly algorithms: readonly DigestAlgorithm[];
  private readonly nonceTtlMs: number | undefined;
  private readonly clock: Clock | undefined;
  /** realm -> challenger, in route order of the first trunk using the realm. */
  private challengers = new Map<string, DigestChallenger>();
  /** realm NUL username -> trunks with those credentials, in route order. */
  private byUser = new Map<string, InboundTrunkCredentials[]>();
  /** Per hash, an HA1 no password produces: unknown users are verified against it, like a wrong password. */
  private readonly decoys = new DecoyHa1();

  constructor(opts: InboundAuthOptions) {
    if (!opts.domain) throw new TypeError('domain is required');
    this.domain = opts.domain;
    this.secret = opts.secret === undefined ? randomBytes(32) : typeof opts.secret === 'string' ? Buffer.from(opts.secret, 'utf8') : opts.secret;
    this.algorithms = opts.algorithms ?? ['SHA-256', 'MD5'];
    this.nonceTtlMs = opts.nonceTtlMs;
    this.clock = opts.clock;
  }

  /** Whether any trunk can authenticate (otherwise there is nothing to challenge for). */
  get active(): boolean {
    return this.byUser.size > 0;
  }

  /** The realms challenged, in order. */
  get realms(): string[] {
    return [...this.challengers.keys()];
  }

  /** The realm a trunk's credentials belong to. */
  realmOf(trunk: TrunkRecord): string {
    return trunk.realm ?? this.domain;
  }

  /**
   * Replace the credentials (in route order). Challengers of realms still in use are kept, so nonces already
   * issued and their replay counts stay valid across reloads.
   */
  rebuild(credentials: readonly InboundTrunkCredentials[]): void {
    const challengers = new Map<string, DigestChallenger>();
    const byUser = new Map<string, InboundTrunkCredentials[]>();
    for (const c of credentials) {
      if (c.username === '' || c.password === '') continue;
      const realm = this.realmOf(c.trunk);
      if (!challengers.has(realm)) {
        challengers.set(
          realm,
          this.challengers.get(realm) ??
            new DigestChallenger({ realm, secret: this.secret, algorithms: this.algorithms, nonceTtlMs: this.nonceTtlMs, clock: this.clock }),
        );
      }
      const key = `${realm}\u0000${c.username}`;
      const list = byUser.get(key);
      if (list) list.push(c);
      else byUser.set(key, [c]);
    }
    this.challengers = challengers;
    this.byUser = byUser;
  }

  /** A 407 challenging every realm (one challenge per offered algorithm each); `stale` per RFC 7616 §3.3. */
  challenge(stale = false, failure: DigestVerifyFailure = 'missing'): DigestInboundVerdict {
    const headers: [string, string][] = [];
    for (const ch of this.challengers.values()) for (const v of ch.challenge({ stale })) headers.push(['Proxy-Authenticate', v]);
    return { kind: 'challenge', status: 407, reason: 'Proxy Authentication Required', headers, stale, failure };
  }

  /**
   * The digest decision for `request`. Credentials for one of our realms are verified against every trunk with
   * that username in the realm (route order); a verified one names the trunk. Wrong password and unknown user are
   * answered alike (403; the unknown user is checked against a decoy HA1, so both take the same work). An expired
   * nonce with the right password, a nonce we never issued, a replayed nonce count, or credentials that do not fit
   * the request (digest-uri, qop, algorithm) get a fresh challenge (RFC 3261 §22.3, as the registrar does).
   */
  authenticate(request: SipRequest): DigestInboundVerdict {
    let malformed = false;
    for (const challenger of this.challengers.values()) {
      for (const header of CREDENTIAL_HEADERS) {
        const cred = challenger.credentialsOf(request, header);
        if (cred === 'malformed') malformed = true;
        else if (cred !== undefined) return this.verify(challenger, cred, request);
      }
    }
    if (malformed) return { kind: 'refused', status: 400, reason: 'Bad Request (Malformed Proxy-Authorization)', failure: 'malformed' };
    return this.challenge(false, 'missing');
  }

  private verify(challenger: DigestChallenger, cred: DigestAuthorization, request: SipRequest): DigestInboundVerdict {
    const req = { method: request.method, uri: formatUri(request.uri), body: request.body };
    const hash = hashOf(cred.algorithm);
    const candidates = this.byUser.get(`${challenger.realm}\u0000${cred.username}`) ?? [];
    let result: DigestVerifyResult | undefined;
    for (const c of candidates) {
      result = challenger.verify(cred, req, computeHa1(hash, c.username, challenger.realm, c.password));
      if (result.ok) return { kind: 'trunk', trunk: c.trunk, algorithm: result.algorithm };
      // Only the password differs between candidates: any other failure is the same for all of them.
      if (result.reason !== 'response') break;
    }
    const unknown = candidates.length === 0;
    if (!result) result = challenger.verify(cred, req, this.decoys.of(cred.algorithm));
    if (result.ok) return { kind: 'refused', status: 403, reason: 'Forbidden', failure: 'unknown-user', username: cred.username };
    if (result.reason === 'response') {
      return { kind: 'refused', status: 403, reason: 'Forbidden', failure: unknown ? 'unknown-user' : 'response', username: cred.username };
    }
    return this.challenge(result.stale, result.reason);
  }

}

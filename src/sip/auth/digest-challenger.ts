import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { systemClock, type Clock } from '../../util';
import { parseUri, type SipMessage } from '../message';
import { quoteParam } from './auth-params';
import { hashOf, hexLength, type DigestAlgorithm } from './digest-algorithm';
import { computeDigestResponse, parseDigestAuthorization, type DigestAuthorization } from './digest-response';

export interface DigestChallengerOptions {
  /** Protection space (RFC 7616 §3.3), usually the SIP domain. */
  realm: string;
  /** Key of the nonce MAC; every instance of the cluster shares it so any instance verifies any nonce. */
  secret: string | Buffer;
  /** Offered algorithms, strongest first (RFC 8760 §2.4: SHA-256 listed before MD5). Default SHA-256, MD5. */
  algorithms?: readonly DigestAlgorithm[];
  /** qop values offered; empty for RFC 2069 style challenges. Default ['auth']. */
  qop?: readonly ('auth' | 'auth-int')[];
  /** Nonce lifetime; older nonces are answered with stale=true. Default 300 s. */
  nonceTtlMs?: number;
  /** Wall clock (nonces carry wall time so every instance agrees on their age). */
  clock?: Clock;
  /** How many nonces to remember the last nonce count of (replay detection); 0 disables. Default 10000. */
  replayCacheSize?: number;
}

/** The request the credentials are checked against. */
export interface ChallengedRequest {
  readonly method: string;
  /** Request-URI as received (string or formatted). */
  readonly uri: string;
  readonly body?: Buffer;
}

export type DigestVerifyFailure =
  | 'missing' // no credentials for our realm
  | 'malformed'
  | 'realm' // credentials for another realm
  | 'algorithm' // an algorithm we did not offer
  | 'nonce' // a nonce we never issued (or tampered)
  | 'stale' // our nonce, expired: challenge again with stale=true
  | 'uri' // digest-uri differs from the Request-URI (RFC 3261 §22.4)
  | 'qop' // qop missing or not offered
  | 'replay' // nonce count not increasing
  | 'unknown-user' // no HA1 for the username
  | 'response'; // wrong password

export type DigestVerifyResult =
  | { ok: true; username: string; algorithm: DigestAlgorithm }
  | { ok: false; reason: DigestVerifyFailure; stale: boolean; username?: string };

/** Finds the HA1 of (username, realm) for an algorithm's hash; undefined when the user is unknown. */
export type Ha1Lookup = (username: string, realm: string, algorithm: DigestAlgorithm) => string | undefined | Promise<string | undefined>;

const TS_BYTES = 6;
const RAND_BYTES = 9;
const MAC_BYTES = 18;
const NONCE_BYTES = TS_BYTES + RAND_BYTES + MAC_BYTES;

/**
 * The server side of SIP digest authentication (registrar, or a UAS that challenges INVITEs): issues nonces that
 * are self-validating (wall-clock timestamp + random, MACed with HMAC-SHA-256 over the realm and a shared secret,
 * so no instance has to store them), answers expired ones with stale=true (RFC 7616 §3.3), and verifies
 * credentials against a stored HA1 — the password itself is never needed — with a constant-time comparison.
 */
export class DigestChallenger {
  readonly realm: string;
  readonly algorithms: readonly DigestAlgorithm[];
  private readonly qop: readonly ('auth' | 'auth-int')[];
  private readonly secret: Buffer;
  private readonly ttl: number;
  private readonly clock: Clock;
  private readonly replaySize: number;
  /** nonce -> highest nonce count accepted (insertion order = age, for eviction). */
  private readonly counts = new Map<string, number>();

  constructor(opts: DigestChallengerOptions) {
    if (!opts.realm) throw new TypeError('realm is required');
    const secret = typeof opts.secret === 'string' ? Buffer.from(opts.secret, 'utf8') : opts.secret;
    if (secret.length < 16) throw new TypeError('the nonce secret must be at least 16 bytes');
    this.realm = opts.realm;
    this.secret = secret;
    this.algorithms = opts.algorithms ?? ['SHA-256', 'MD5'];
    if (this.algorithms.length === 0) throw new TypeError('at least one algorithm');
    this.qop = opts.qop ?? ['auth'];
    this.ttl = opts.nonceTtlMs ?? 300_000;
    this.clock = opts.clock ?? systemClock;
    this.replaySize = opts.replayCacheSize ?? 10_000;
  }

  /** A new nonce: base64url(timestamp | random | HMAC(secret, realm | timestamp | random)). */
  issueNonce(): string {
    const buf = Buffer.allocUnsafe(NONCE_BYTES);
    buf.writeUIntBE(Math.floor(this.clock.wallNow()), 0, TS_BYTES);
    randomBytes(RAND_BYTES).copy(buf, TS_BYTES);
    this.mac(buf.subarray(0, TS_BYTES + RAND_BYTES)).copy(buf, TS_BYTES + RAND_BYTES, 0, MAC_BYTES);
    return buf.toString('base64url');
  }

  /** Whether `nonce` is one of ours and still fresh. */
  checkNonce(nonce: string): 'valid' | 'stale' | 'invalid' {
    if (nonce.length !== Math.ceil((NONCE_BYTES * 4) / 3)) return 'invalid';
    const buf = Buffer.from(nonce, 'base64url');
    if (buf.length !== NONCE_BYTES) return 'invalid';
    const expected = this.mac(buf.subarray(0, TS_BYTES + RAND_BYTES)).subarray(0, MAC_BYTES);
    if (!timingSafeEqual(expected, buf.subarray(TS_BYTES + RAND_BYTES))) return 'invalid';
    const issued = buf.readUIntBE(0, TS_BYTES);
    const age = this.clock.wallNow() - issued;
    // A nonce from the future beyond clock skew between instances is not ours to trust either.
    if (age > this.ttl || age < -60_000) return 'stale';
    return 'valid';
  }

  /**
   * Challenge header values (one per offered algorithm, strongest first), for WWW-Authenticate in a 401 or
   * Proxy-Authenticate in a 407. `stale`: the client's nonce expired; it may retry without new credentials.
   */
  challenge(opts: { stale?: boolean } = {}): string[] {
    const nonce = this.issueNonce();
    const qop = this.qop.length > 0 ? `, qop="${this.qop.join(',')}"` : '';
    const stale = opts.stale ? ', stale=true' : '';
    return this.algorithms.map((a) => `Digest realm=${quoteParam(this.realm)}, nonce="${nonce}", algorithm=${a}${qop}${stale}`);
  }

  /**
   * The credentials addressed to our realm among a request's Authorization (or Proxy-Authorization) fields
   * (RFC 3261 §22.3: one per realm may be present). Undefined when none.
   */
  credentialsOf(msg: SipMessage, header: 'Authorization' | 'Proxy-Authorization' = 'Authorization'): DigestAuthorization | 'malformed' | undefined {
    let malformed = false;
    for (const v of msg.getHeaders(header)) {
      const p = parseDigestAuthorization(v);
      if (!p.ok) {
        malformed = true;
        continue;
      }
      if (p.credentials.realm === this.realm) return p.credentials;
    }
    return malformed ? 'malformed' : undefined;
  }

  /** Verifies credentials against the HA1 stored for their username (for the algorithm's hash). */
  verify(credentials: DigestAuthorization, request: ChallengedRequest, ha1: string | undefined): DigestVerifyResult {
    const fail = (reason: DigestVerifyFailure, stale = false): DigestVerifyResult => ({ ok: false, reason, stale, username: credentials.username });
    if (credentials.realm !== this.realm) return fail('realm');
    if (!this.algorithms.includes(credentials.algorithm)) return fail('algorithm');
    const nonceState = this.checkNonce(credentials.nonce);
    if (nonceState === 'invalid') return fail('nonce');
    if (!sameRequestUri(credentials.uri, request.uri)) return fail('uri');
    const qop = credentials.qop;
    if (this.qop.length > 0) {
      if (qop === undefined || !(this.qop as readonly string[]).includes(qop)) return fail('qop');
    } else if (qop !== undefined) return fail('qop');
    if (ha1 === undefined) return fail('unknown-user');
    const hash = hashOf(credentials.algorithm);
    if (ha1.length !== hexLength(hash)) return fail('unknown-user');
    const expected = computeDigestResponse({
      algorithm: credentials.algorithm,
      ha1,
      nonce: credentials.nonce,
      method: request.method,
      uri: credentials.uri,
      qop: qop as 'auth' | 'auth-int' | undefined,
      nc: credentials.nc,
      cnonce: credentials.cnonce,
      body: request.body,
    });
    if (!constantTimeEqual(expected, credentials.response)) return fail('response');
    // The password is right; an expired nonce is then "stale": the client retries with a fresh one, no prompt.
    if (nonceState === 'stale') return fail('stale', true);
    if (qop !== undefined && !this.acceptCount(credentials.nonce, credentials.nc ?? '')) return fail('replay');
    return { ok: true, username: credentials.username, algorithm: credentials.algorithm };
  }

  /** Reads the credentials of `msg`, looks up the HA1 and verifies. */
  async authenticate(
    msg: SipMessage,
    request: ChallengedRequest,
    lookup: Ha1Lookup,
    header: 'Authorization' | 'Proxy-Authorization' = 'Authorization',
  ): Promise<DigestVerifyResult> {
    const cred = this.credentialsOf(msg, header);
    if (cred === undefined) return { ok: false, reason: 'missing', stale: false };
    if (cred === 'malformed') return { ok: false, reason: 'malformed', stale: false };
    const ha1 = await lookup(cred.username, cred.realm, cred.algorithm);
    return this.verify(cred, request, ha1);
  }

  private mac(data: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(this.realm).update('\u0000').update(data).digest();
  }

  /** RFC 7616 §3.4: the nonce count must grow, which is how a replayed request is recognised. */
  private acceptCount(nonce: string, ncText: string): boolean {
    if (!/^[0-9a-fA-F]{8}$/.test(ncText)) return false;
    const nc = parseInt(ncText, 16);
    if (this.replaySize === 0) return true;
    const last = this.counts.get(nonce);
    if (last !== undefined && nc <= last) return false;
    this.counts.delete(nonce);
    this.counts.set(nonce, nc);
    if (this.counts.size > this.replaySize) {
      const oldest = this.counts.keys().next().value;
      if (oldest !== undefined) this.counts.delete(oldest);
    }
    return true;
  }
}

/** Constant-time comparison of two hex strings (case-insensitive); unequal lengths compare false. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase(), 'latin1');
  const y = Buffer.from(b.toLowerCase(), 'latin1');
  if (x.length !== y.length) return false;
  return timingSafeEqual(x, y);
}

/**
 * RFC 3261 §22.4 item 2 / RFC 7616 §3.4.6: the digest-uri must name the Request-URI. Equal text passes; otherwise
 * both are parsed and compared on scheme, user, host and port (proxies may re-format a URI without changing it).
 */
function sameRequestUri(digestUri: string, requestUri: string): boolean {
  if (digestUri === requestUri) return true;
  const a = parseUri(digestUri);
  const b = parseUri(requestUri);
  if (!a || !b) return false;
  const port = (u: { scheme: string; port?: number }): number => u.port ?? (u.scheme === 'sips' ? 5061 : 5060);
  return a.scheme === b.scheme && (a.user ?? '') === (b.user ?? '') && a.host === b.host && port(a) === port(b);
}

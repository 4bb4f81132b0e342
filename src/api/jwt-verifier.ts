import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { scopesOfClaims } from './scopes';

/** Who called: the token's subject and scopes. */
export interface Principal {
  readonly subject: string;
  readonly scopes: ReadonlySet<string>;
  /** Expiry, seconds since the epoch (RFC 7519 §4.1.4). */
  readonly expiresAt: number;
  readonly tokenId: string | undefined;
}

export type JwtFailure = 'missing_token' | 'invalid_token' | 'token_expired';

export type JwtVerification = { ok: true; principal: Principal } | { ok: false; code: JwtFailure; message: string };

export interface JwtVerifierOptions {
  /** HS256 shared secret (JWT_SECRET_KEY). */
  secret?: string;
  /** PEM public key (JWT_PUBLIC_KEY_FILE contents): RSA keys verify RS256, P-256 keys verify ES256. */
  publicKeyPem?: string | Buffer;
  /** Required `aud` claim when set. */
  audience?: string;
  /** Required `iss` claim when set. */
  issuer?: string;
  /** Leeway for exp/nbf/iat between our clock and the issuer's. Default 30 s. */
  clockToleranceS?: number;
  /** Seconds since the epoch; injectable for tests. */
  now?: () => number;
  /**
   * Verified tokens remembered until they expire, so a client repeating its token skips the signature check.
   * At most this many (oldest dropped first); 0 disables. Default 10,000.
   */
  cacheSize?: number;
}

export const DEFAULT_CLOCK_TOLERANCE_S = 30;
/** Bearer tokens longer than this are refused before any parsing (a JWT of ours is a few hundred bytes). */
const MAX_TOKEN_LENGTH = 8192;
/** Longer tokens are verified every time: the cache's memory stays bounded by cacheSize x this. */
const MAX_CACHED_TOKEN_LENGTH = 2048;
export const DEFAULT_JWT_CACHE_SIZE = 10_000;

/**
 * Verifies API bearer tokens (RFC 7519 JWT, RFC 7515 JWS). The algorithm is pinned by the key type, never
 * taken on trust from the token header: HS256 only with the shared secret, RS256/ES256 only with the public
 * key, `none` never (RFC 8725 §3.1, §3.2). `exp` is mandatory (a token without it would be valid forever)
 * and `sub` too, since rate limits and logs are keyed by it.
 */
export class JwtVerifier {
  private readonly secret: string | undefined;
  /**
   * The HS256 secret as a KeyObject, made once. Handed a string, jsonwebtoken first tries to parse it as a PEM
   * public key on every verify (and fails with an exception) before making a secret key of it: that was most of
   * the cost of an authenticated request.
   */
  private readonly secretKey: KeyObject | undefined;
  private readonly publicKey: KeyObject | undefined;
  private readonly publicAlgorithm: 'RS256' | 'ES256' | undefined;
  private readonly audience: string | undefined;
  private readonly issuer: string | undefined;
  private readonly tolerance: number;
  private readonly now: () => number;
  private readonly cacheSize: number;
  /**
   * Successful verifications by exact token text. Only a token that passed the full check is stored, and it is
   * served only while jsonwebtoken would still accept its exp (now < exp + tolerance), so the cache answers
   * exactly what verifying again would; failures are never cached.
   */
  private readonly cache = new Map<string, { result: JwtVerification; expiresAt: number }>();

  constructor(options: JwtVerifierOptions) {
    if (options.secret === undefined && options.publicKeyPem === undefined) throw new TypeError('JwtVerifier needs a secret or a public key');
    if (options.secret !== undefined && options.secret.length === 0) throw new TypeError('JWT secret must not be empty');
    this.secret = options.secret;
    this.secretKey = options.secret !== undefined ? createSecretKey(Buffer.from(options.secret, 'utf8')) : undefined;
    if (options.publicKeyPem !== undefined) {
      let key: KeyObject;
      try {
        key = createPublicKey(options.publicKeyPem);
      } catch {
        throw new TypeError('JWT public key is not a PEM public key (or certificate)');
      }
      if (key.asymmetricKeyType === 'rsa') this.publicAlgorithm = 'RS256';
      else if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') this.publicAlgorithm = 'ES256';
      else throw new TypeError(`JWT public key must be RSA (RS256) or EC P-256 (ES256), got ${key.asymmetricKeyType ?? 'unknown'}`);
      this.publicKey = key;
    }
    this.audience = options.audience;
    this.issuer = options.issuer;
    this.tolerance = options.clockToleranceS ?? DEFAULT_CLOCK_TOLERANCE_S;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.cacheSize = Math.max(0, Math.trunc(options.cacheSize ?? DEFAULT_JWT_CACHE_SIZE));
  }

  /** Tokens held by the verification cache. */
  get cachedTokens(): number {
    return this.cache.size;
  }

  /** Algorithms this verifier accepts. */
  get algorithms(): string[] {
    const out: string[] = [];
    if (this.secret !== undefined) out.push('HS256');
    if (this.publicAlgorithm !== undefined) out.push(this.publicAlgorithm);
    return out;
  }

  /** Verify the value of an `Authorization` header (`Bearer <jwt>`, RFC 6750 §2.1). Never throws. */
  verifyAuthorization(header: string | undefined): JwtVerification {
    if (header === undefined || header === '') return { ok: false, code: 'missing_token', message: 'missing bearer token (Authorization: Bearer <jwt>)' };
    const space = header.indexOf(' ');
    if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') {
      return { ok: false, code: 'invalid_token', message: 'Authorization must use the Bearer scheme' };
    }
    return this.verify(header.slice(space + 1).trim());
  }

  /** Verify a compact JWS. Never throws. */
  verify(token: string): JwtVerification {
    const hit = this.cache.get(token);
    if (hit !== undefined) {
      // jsonwebtoken refuses a token once now >= exp + clockTolerance; so does the cache.
      if (this.now() < hit.expiresAt + this.tolerance) return hit.result;
      this.cache.delete(token);
    }
    const result = this.verifyUncached(token);
    if (result.ok && this.cacheSize > 0 && token.length <= MAX_CACHED_TOKEN_LENGTH) {
      // Insertion order is age order: drop the oldest entry when full.
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(token, { result, expiresAt: result.principal.expiresAt });
    }
    return result;
  }

  private verifyUncached(token: string): JwtVerification {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return invalid('malformed token');
    let decoded: jwt.Jwt | null;
    try {
      decoded = jwt.decode(token, { complete: true });
    } catch {
      decoded = null;
    }
    if (decoded === null || typeof decoded.payload === 'string') return invalid('malformed token');
    const alg = decoded.header.alg;
    let key: string | KeyObject;
    if (alg === 'HS256' && this.secretKey !== undefined) key = this.secretKey;
    else if (alg === this.publicAlgorithm && this.publicKey !== undefined) key = this.publicKey;
    else return invalid(`token algorithm ${String(alg)} is not accepted (accepted: ${this.algorithms.join(', ')})`);

    let claims: jwt.JwtPayload;
    try {
      const options: jwt.VerifyOptions & { complete?: false } = {
        algorithms: [alg],
        clockTolerance: this.tolerance,
        clockTimestamp: this.now(),
      };
      if (this.audience !== undefined) options.audience = this.audience;
      if (this.issuer !== undefined) options.issuer = this.issuer;
      const result = jwt.verify(token, key, options);
      if (typeof result === 'string') return invalid('token payload is not a JSON object');
      claims = result;
    } catch (err) {
      if (err instanceof jwt.TokenExpiredError) return { ok: false, code: 'token_expired', message: 'token has expired' };
      if (err instanceof jwt.NotBeforeError) return invalid('token is not valid yet (nbf)');
      if (err instanceof jwt.JsonWebTokenError) return invalid(describe(err.message));
      return invalid('token could not be verified');
    }
    // RFC 7519 §4.1.4 makes exp optional; we do not accept tokens that never expire.
    if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return invalid('token has no exp claim');
    if (typeof claims.sub !== 'string' || claims.sub === '' || claims.sub.length > 256) return invalid('token has no sub claim');
    return {
      ok: true,
      principal: {
        subject: claims.sub,
        scopes: scopesOfClaims(claims),
        expiresAt: claims.exp,
        tokenId: typeof claims.jti === 'string' ? claims.jti : undefined,
      },
    };
  }
}

function invalid(message: string): JwtVerification {
  return { ok: false, code: 'invalid_token', message };
}

/** jsonwebtoken's messages, reduced to ones safe and useful for a client. */
function describe(message: string): string {
  if (message.includes('signature')) return 'invalid token signature';
  if (message.includes('audience')) return 'token audience is not accepted';
  if (message.includes('issuer')) return 'token issuer is not accepted';
  return 'invalid token';
}

import { randomBytes } from 'node:crypto';
import { parseAuthParams, quoteParam } from './auth-params';
import { digestHex, hashOf, hexLength, isSessionAlgorithm, parseDigestAlgorithm, type DigestAlgorithm, type DigestHash } from './digest-algorithm';
import { chooseQop, type DigestChallenge } from './digest-challenge';

/** What the client knows: the password, or only HA1 = H(username:realm:password) for the challenge's hash. */
export type DigestSecret = { password: string; ha1?: undefined } | { ha1: string; password?: undefined };

export type DigestAnswerOptions = DigestSecret & {
  username: string;
  /** Method of the request being authorized (for ACK/CANCEL use INVITE's: RFC 3261 §22.1 — the caller decides). */
  method: string;
  /** digest-uri: the Request-URI exactly as sent (RFC 3261 §22.4 item 2). */
  uri: string;
  /** Message body, for qop=auth-int (RFC 7616 §3.4.3). */
  body?: Buffer;
  /** Nonce count: how many requests this nonce has authorized, this one included (RFC 7616 §3.4). */
  nc: number;
  /** Client nonce; generated when omitted. */
  cnonce?: string;
};

/** Inputs of the response computation (RFC 7616 §3.4.1), shared by client and server. */
export interface DigestComputation {
  algorithm: DigestAlgorithm;
  /** HA1 of the base hash: H(username:realm:password). */
  ha1: string;
  nonce: string;
  method: string;
  uri: string;
  qop?: 'auth' | 'auth-int';
  nc?: string;
  cnonce?: string;
  body?: Buffer;
}

/** Eight hex digits, as the nc directive is written (RFC 7616 §3.4: nc=00000001). */
export function formatNonceCount(nc: number): string {
  if (!Number.isInteger(nc) || nc < 1 || nc > 0xffffffff) throw new TypeError(`nonce count out of range: ${nc}`);
  return nc.toString(16).padStart(8, '0');
}

/** A fresh client nonce: 128 random bits, hex (RFC 7616 §3.4: "an opaque quoted ASCII-only string"). */
export function generateCnonce(): string {
  return randomBytes(16).toString('hex');
}

/**
 * RFC 7616 §3.4.1-§3.4.3 (RFC 2617 §3.2.2.1 for qop-less challenges):
 *   HA1' = HA1                                  (plain algorithms)
 *   HA1' = H(HA1 ":" nonce ":" cnonce)         (-sess algorithms, §3.4.2)
 *   HA2  = H(method ":" uri)                    (qop=auth or none)
 *   HA2  = H(method ":" uri ":" H(body))        (qop=auth-int)
 *   response = H(HA1' ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)   with qop
 *   response = H(HA1' ":" nonce ":" HA2)                              without qop (RFC 2069 compatibility)
 */
export function computeDigestResponse(c: DigestComputation): string {
  const hash: DigestHash = hashOf(c.algorithm);
  let ha1 = c.ha1.toLowerCase();
  if (isSessionAlgorithm(c.algorithm)) ha1 = digestHex(hash, `${ha1}:${c.nonce}:${c.cnonce ?? ''}`);
  const ha2 =
    c.qop === 'auth-int'
      ? digestHex(hash, `${c.method}:${c.uri}:${digestHex(hash, c.body ?? EMPTY)}`)
      : digestHex(hash, `${c.method}:${c.uri}`);
  if (c.qop === undefined) return digestHex(hash, `${ha1}:${c.nonce}:${ha2}`);
  return digestHex(hash, `${ha1}:${c.nonce}:${c.nc ?? ''}:${c.cnonce ?? ''}:${c.qop}:${ha2}`);
}

const EMPTY = Buffer.alloc(0);

/** The pieces of an answer, for callers that need more than the header value. */
export interface DigestAnswer {
  /** The Authorization / Proxy-Authorization header value. */
  readonly value: string;
  readonly response: string;
  readonly qop: 'auth' | 'auth-int' | undefined;
  readonly cnonce: string | undefined;
  readonly nc: string | undefined;
}

/**
 * Builds the credentials answering `challenge` for one request (RFC 3261 §22.2/§22.3, RFC 7616 §3.4).
 * Throws TypeError when the secret cannot answer it (an HA1 of another hash than the challenge's algorithm).
 */
export function answerChallenge(challenge: DigestChallenge, opts: DigestAnswerOptions): DigestAnswer {
  const hash = hashOf(challenge.algorithm);
  let ha1: string;
  if (opts.password !== undefined) ha1 = digestHex(hash, `${opts.username}:${challenge.realm}:${opts.password}`);
  else {
    ha1 = opts.ha1;
    if (ha1.length !== hexLength(hash)) throw new TypeError(`the stored HA1 cannot answer a ${challenge.algorithm} challenge`);
  }
  const qop = chooseQop(challenge);
  // -sess needs a cnonce even without qop (RFC 2617 §3.2.2.2).
  const cnonce = qop !== undefined || isSessionAlgorithm(challenge.algorithm) ? opts.cnonce ?? generateCnonce() : undefined;
  const nc = qop !== undefined ? formatNonceCount(opts.nc) : undefined;
  const response = computeDigestResponse({
    algorithm: challenge.algorithm,
    ha1,
    nonce: challenge.nonce,
    method: opts.method,
    uri: opts.uri,
    qop,
    nc,
    cnonce,
    body: opts.body,
  });
  // RFC 7616 §3.4: username, realm, nonce, uri, response, cnonce, opaque quoted; algorithm, qop, nc not quoted.
  let value =
    `Digest username=${quoteParam(opts.username)}, realm=${quoteParam(challenge.realm)}, nonce=${quoteParam(challenge.nonce)}, ` +
    `uri=${quoteParam(opts.uri)}, response="${response}"`;
  if (challenge.algorithmToken !== undefined) value += `, algorithm=${challenge.algorithm}`;
  if (cnonce !== undefined) value += `, cnonce=${quoteParam(cnonce)}`;
  if (challenge.opaque !== undefined) value += `, opaque=${quoteParam(challenge.opaque)}`;
  if (qop !== undefined) value += `, qop=${qop}, nc=${nc}`;
  return { value, response, qop, cnonce, nc };
}

/** The Authorization (or Proxy-Authorization) header value answering `challenge`. See answerChallenge(). */
export function authorizationFor(challenge: DigestChallenge, opts: DigestAnswerOptions): string {
  return answerChallenge(challenge, opts).value;
}

/** Digest credentials as received by a server (RFC 7616 §3.4). */
export interface DigestAuthorization {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly algorithm: DigestAlgorithm;
  readonly qop?: string;
  readonly nc?: string;
  readonly cnonce?: string;
  readonly opaque?: string;
}

/** Why credentials could not be read. */
export type AuthorizationParseError = 'not-digest' | 'missing-directive' | 'unsupported-algorithm' | 'malformed';

/** Parses an Authorization / Proxy-Authorization value. Never throws. */
export function parseDigestAuthorization(value: string): { ok: true; credentials: DigestAuthorization } | { ok: false; error: AuthorizationParseError } {
  const parsed = parseAuthParams(value);
  if (parsed.length !== 1) return { ok: false, error: 'malformed' };
  const p = parsed[0];
  if (p.scheme.toLowerCase() !== 'digest') return { ok: false, error: 'not-digest' };
  const get = (k: string): string | undefined => p.params.get(k);
  const username = get('username');
  const realm = get('realm');
  const nonce = get('nonce');
  const uri = get('uri');
  const response = get('response');
  if (username === undefined || realm === undefined || nonce === undefined || uri === undefined || response === undefined) {
    return { ok: false, error: 'missing-directive' };
  }
  const algorithm = parseDigestAlgorithm(get('algorithm'));
  if (algorithm === undefined) return { ok: false, error: 'unsupported-algorithm' };
  const c: {
    username: string;
    realm: string;
    nonce: string;
    uri: string;
    response: string;
    algorithm: DigestAlgorithm;
    qop?: string;
    nc?: string;
    cnonce?: string;
    opaque?: string;
  } = { username, realm, nonce, uri, response: response.toLowerCase(), algorithm };
  const qop = get('qop');
  if (qop !== undefined) c.qop = qop.toLowerCase();
  const nc = get('nc');
  if (nc !== undefined) c.nc = nc;
  const cnonce = get('cnonce');
  if (cnonce !== undefined) c.cnonce = cnonce;
  const opaque = get('opaque');
  if (opaque !== undefined) c.opaque = opaque;
  // RFC 7616 §3.4: with qop, cnonce and nc are mandatory.
  if (c.qop !== undefined && (c.nc === undefined || c.cnonce === undefined)) return { ok: false, error: 'missing-directive' };
  return { ok: true, credentials: c };
}

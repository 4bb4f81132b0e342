import { createHash, randomBytes } from 'node:crypto';

/**
 * Digest algorithms (RFC 7616 §3.2 and the IANA "HTTP Digest Hash Algorithms" registry; RFC 8760 brings the SHA-2
 * ones to SIP). `-sess` variants hash the client nonce into HA1 (RFC 7616 §3.4.2).
 */
export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess';

/** The hash functions behind the algorithms: the HA1 of a stored credential is tied to one of these. */
export type DigestHash = 'MD5' | 'SHA-256' | 'SHA-512-256';

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess'];

const BY_UPPER = new Map<string, DigestAlgorithm>(DIGEST_ALGORITHMS.map((a) => [a.toUpperCase(), a]));

const NODE_HASH: Record<DigestHash, string> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };

/** RFC 7616 §3.3: "algorithm" is case-insensitive; absent means MD5. Undefined for algorithms we do not implement. */
export function parseDigestAlgorithm(token: string | undefined): DigestAlgorithm | undefined {
  if (token === undefined || token === '') return 'MD5';
  return BY_UPPER.get(token.toUpperCase());
}

/** The hash function of an algorithm ('SHA-256-sess' -> 'SHA-256'). */
export function hashOf(algorithm: DigestAlgorithm): DigestHash {
  return (algorithm.endsWith('-sess') ? algorithm.slice(0, -5) : algorithm) as DigestHash;
}

/** RFC 7616 §3.4.2: the -sess variants compute HA1 from the stored HA1, the nonce and the client nonce. */
export function isSessionAlgorithm(algorithm: DigestAlgorithm): boolean {
  return algorithm.endsWith('-sess');
}

/** Preference when a server offers several challenges for one realm (RFC 7616 §3.7: the strongest first). */
export function algorithmStrength(algorithm: DigestAlgorithm): number {
  switch (hashOf(algorithm)) {
    case 'SHA-512-256':
      return 3;
    case 'SHA-256':
      return 2;
    default:
      return 1;
  }
}

/** Lower-case hex digest of a UTF-8 string (RFC 7616 §3.4.1: H(data) = hex of the hash). */
export function digestHex(hash: DigestHash, data: string | Buffer): string {
  return createHash(NODE_HASH[hash]).update(data).digest('hex');
}

/** Length in hex characters of a hash's output; a stored HA1 of another length belongs to another hash. */
export function hexLength(hash: DigestHash): number {
  return hash === 'MD5' ? 32 : 64;
}

/**
 * RFC 7616 §3.4.2: HA1 = H(username ":" realm ":" passwd). This is what a registrar stores instead of the
 * password (one per hash function it offers).
 */
export function computeHa1(hash: DigestHash, username: string, realm: string, password: string): string {
  return digestHex(hash, `${username}:${realm}:${password}`);
}

/**
 * A random HA1 per hash, drawn once: an unknown user is checked against it exactly as a known one is against its
 * own, so a wrong password and an unknown user cannot be told apart (no user enumeration).
 */
export class DecoyHa1 {
  private readonly byHash = new Map<DigestHash, string>();

  of(algorithm: DigestAlgorithm): string {
    const hash = hashOf(algorithm);
    let v = this.byHash.get(hash);
    if (v === undefined) {
      v = digestHex(hash, randomBytes(32));
      this.byHash.set(hash, v);
    }
    return v;
  }
}

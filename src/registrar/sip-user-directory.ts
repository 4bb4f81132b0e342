import { computeHa1, hashOf, type DigestAlgorithm } from '../sip/auth';
import type { SipUserPatch, SipUserRecord, SipUserRepository } from '../store';

/** A new local SIP user. */
export interface NewSipUserInput {
  readonly username: string;
  readonly password: string;
  readonly displayName?: string | null;
  readonly enabled?: boolean;
}

/**
 * RFC 3261 §25.1 user part characters (unreserved and user-unreserved), without ':' which would make the HA1 input
 * `username:realm:password` ambiguous.
 */
const USERNAME = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/]{1,64}$/;

/**
 * Local SIP users of one realm (SIP_DOMAIN) with digest credentials stored as HA1 only (MD5 for older phones, and
 * SHA-256 per RFC 8760): the password is hashed here and never stored or logged.
 */
export class SipUserDirectory {
  constructor(
    private readonly users: SipUserRepository,
    /** Realm and domain of the users (SIP_DOMAIN): the HA1s are bound to it. */
    readonly realm: string,
  ) {}

  /** Create a user. Throws TypeError on an invalid username or password, the unique violation on a duplicate. */
  async create(input: NewSipUserInput): Promise<SipUserRecord> {
    checkUsername(input.username);
    return this.users.create({
      username: input.username,
      domain: this.realm,
      ...this.secrets(input.username, input.password),
      displayName: input.displayName ?? null,
      enabled: input.enabled ?? true,
    });
  }

  /** Change the password; undefined when there is no such user. */
  async setPassword(username: string, password: string): Promise<SipUserRecord | undefined> {
    return this.users.update(username, this.realm, this.secrets(username, password));
  }

  async update(username: string, patch: Pick<SipUserPatch, 'displayName' | 'enabled'>): Promise<SipUserRecord | undefined> {
    return this.users.update(username, this.realm, { displayName: patch.displayName, enabled: patch.enabled });
  }

  get(username: string): Promise<SipUserRecord | undefined> {
    return this.users.get(username, this.realm);
  }

  list(): Promise<SipUserRecord[]> {
    return this.users.list(this.realm);
  }

  delete(username: string): Promise<boolean> {
    return this.users.delete(username, this.realm);
  }

  /**
   * The HA1 to verify credentials of `algorithm` with (the DigestChallenger's lookup). Undefined for other realms,
   * hashes we do not store, and unknown or disabled users.
   */
  async ha1(username: string, realm: string, algorithm: DigestAlgorithm): Promise<string | undefined> {
    if (realm !== this.realm) return undefined;
    const hash = hashOf(algorithm);
    if (hash !== 'MD5' && hash !== 'SHA-256') return undefined;
    return this.users.ha1(username, this.realm, hash);
  }

  private secrets(username: string, password: string): { ha1Md5: string; ha1Sha256: string } {
    if (typeof password !== 'string' || password.length === 0 || password.length > 256) throw new TypeError('password must be 1-256 characters');
    return { ha1Md5: computeHa1('MD5', username, this.realm, password), ha1Sha256: computeHa1('SHA-256', username, this.realm, password) };
  }
}

function checkUsername(username: string): void {
  if (typeof username !== 'string' || !USERNAME.test(username)) throw new TypeError('username must be 1-64 SIP user characters (letters, digits, - _ . ! ~ * \' ( ) & = + $ , ; ? /)');
}

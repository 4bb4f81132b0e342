import type { Queryable, SqlParam } from './database';
import { date, strOrNull } from './row-values';

/** A local SIP user that may REGISTER. Digest secrets are never part of the record: see `SipUserRepository.ha1`. */
export interface SipUserRecord {
  username: string;
  /** The realm / SIP domain the HA1 values were computed for. */
  domain: string;
  displayName: string | null;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A new user. HA1 = H(username ":" realm ":" password) (RFC 7616 §3.4.2) is computed by the caller, so the plain
 * password never reaches the database layer.
 */
export interface NewSipUser {
  username: string;
  domain: string;
  ha1Md5: string;
  /** RFC 8760 SHA-256 HA1; without it the user can only answer MD5 challenges. */
  ha1Sha256?: string | null;
  displayName?: string | null;
  enabled?: boolean;
}

export type SipUserPatch = Partial<Pick<NewSipUser, 'ha1Md5' | 'ha1Sha256' | 'displayName' | 'enabled'>>;

/** Digest hashes an HA1 is stored for. */
export type SipUserHa1Hash = 'MD5' | 'SHA-256';

const PATCH_COLUMNS: { readonly [K in keyof SipUserPatch]-?: string } = {
  ha1Md5: 'ha1_md5',
  ha1Sha256: 'ha1_sha256',
  displayName: 'display_name',
  enabled: 'enabled',
};

const HEX = /^[0-9a-f]+$/;

function checkHa1(value: string | null | undefined, length: number, what: string): void {
  if (value === undefined || value === null) return;
  if (value.length !== length || !HEX.test(value)) throw new TypeError(`${what} must be ${length} lower-case hex digits`);
}

function toUser(row: Record<string, unknown>): SipUserRecord {
  return {
    username: String(row['username']),
    domain: String(row['domain']),
    displayName: strOrNull(row['display_name']),
    enabled: row['enabled'] === true,
    createdAt: date(row['created_at']),
    updatedAt: date(row['updated_at']),
  };
}

const RECORD_COLUMNS = 'username, domain, display_name, enabled, created_at, updated_at';

/** Local SIP users (sip_users): credentials stored as HA1 only (RFC 2617 §3.2.2.2, RFC 8760 §3). */
export class SipUserRepository {
  constructor(private readonly db: Queryable) {}

  /** Insert a user; a duplicate (username, domain) rejects with the unique violation (`isUniqueViolation`). */
  async create(user: NewSipUser): Promise<SipUserRecord> {
    checkHa1(user.ha1Md5, 32, 'ha1Md5');
    checkHa1(user.ha1Sha256, 64, 'ha1Sha256');
    const res = await this.db.query(
      `INSERT INTO sip_users (username, domain, ha1_md5, ha1_sha256, display_name, enabled)
       VALUES ($1, $2, $3, $4, $5, $6::boolean) RETURNING ${RECORD_COLUMNS}`,
      [user.username, user.domain, user.ha1Md5, user.ha1Sha256 ?? null, user.displayName ?? null, user.enabled ?? true],
    );
    return toUser(res.rows[0]);
  }

  async get(username: string, domain: string): Promise<SipUserRecord | undefined> {
    const res = await this.db.query(`SELECT ${RECORD_COLUMNS} FROM sip_users WHERE username = $1 AND domain = $2`, [username, domain]);
    return res.rows[0] ? toUser(res.rows[0]) : undefined;
  }

  /** Users of a domain (all domains when omitted), by username. */
  async list(domain?: string): Promise<SipUserRecord[]> {
    const res =
      domain === undefined
        ? await this.db.query(`SELECT ${RECORD_COLUMNS} FROM sip_users ORDER BY domain, username`)
        : await this.db.query(`SELECT ${RECORD_COLUMNS} FROM sip_users WHERE domain = $1 ORDER BY username`, [domain]);
    return res.rows.map(toUser);
  }

  /** Change the given fields; undefined when there is no such user. */
  async update(username: string, domain: string, patch: SipUserPatch): Promise<SipUserRecord | undefined> {
    checkHa1(patch.ha1Md5, 32, 'ha1Md5');
    checkHa1(patch.ha1Sha256, 64, 'ha1Sha256');
    const sets = ['updated_at = now()'];
    const params: SqlParam[] = [username, domain];
    for (const key of Object.keys(PATCH_COLUMNS) as (keyof SipUserPatch)[]) {
      const value = patch[key];
      if (value === undefined) continue;
      params.push(value);
      sets.push(`${PATCH_COLUMNS[key]} = $${params.length}${key === 'enabled' ? '::boolean' : ''}`);
    }
    const res = await this.db.query(`UPDATE sip_users SET ${sets.join(', ')} WHERE username = $1 AND domain = $2 RETURNING ${RECORD_COLUMNS}`, params);
    return res.rows[0] ? toUser(res.rows[0]) : undefined;
  }

  async delete(username: string, domain: string): Promise<boolean> {
    const res = await this.db.query('DELETE FROM sip_users WHERE username = $1 AND domain = $2', [username, domain]);
    return res.rowCount > 0;
  }

  /**
   * The stored HA1 of an enabled user for a digest hash, undefined when the user is unknown, disabled, or has no
   * HA1 for that hash (the registrar then answers exactly as for a wrong password).
   */
  async ha1(username: string, domain: string, hash: SipUserHa1Hash): Promise<string | undefined> {
    const column = hash === 'MD5' ? 'ha1_md5' : 'ha1_sha256';
    const res = await this.db.query<{ ha1: string | null }>(`SELECT ${column} AS ha1 FROM sip_users WHERE username = $1 AND domain = $2 AND enabled`, [
      username,
      domain,
    ]);
    const v = res.rows[0]?.ha1;
    return v === null || v === undefined ? undefined : v;
  }
}

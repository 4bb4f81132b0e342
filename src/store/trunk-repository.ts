import { randomUUID } from 'node:crypto';
import type { Queryable, SqlParam } from './database';
import { date, dateOrNull, jsonObject, jsonParam, num, numOrNull, strOrNull, type JsonObject } from './row-values';
import type { SecretCipher } from './secret-cipher';

export type TrunkTransport = 'udp' | 'tcp' | 'tls';
export const TRUNK_TRANSPORTS: readonly TrunkTransport[] = ['udp', 'tcp', 'tls'];
/** Reachability as last seen by OPTIONS pings / REGISTER (written by the trunk registry). */
export type TrunkStatus = 'unknown' | 'up' | 'down';

/** A SIP trunk (VoIP provider). The password is never part of the record: see `TrunkRepository.password`. */
export interface TrunkRecord {
  id: string;
  name: string;
  provider: string | null;
  proxyAddress: string;
  proxyPort: number;
  transport: TrunkTransport;
  username: string | null;
  /** True when a password is stored (encrypted). */
  hasPassword: boolean;
  /** Digest realm to answer; null = take it from the challenge (RFC 3261 §22.2). */
  realm: string | null;
  fromDomain: string | null;
  callerId: string | null;
  /** Send REGISTER to the provider (RFC 3261 §10) so it can route inbound calls to us. */
  register: boolean;
  registerExpiresS: number;
  supportsOutbound: boolean;
  supportsInbound: boolean;
  /** Source ranges inbound calls from this trunk come from (CIDR text). */
  inboundCidrs: string[];
  /** Dialled-number prefixes this trunk serves outbound; empty = any. */
  prefixes: string[];
  codecs: string[];
  /** Prepended to the dialled number after `stripDigits` leading characters are removed. */
  dialPrefix: string;
  stripDigits: number;
  /** Lower is tried first; `weight` shares load between trunks of equal priority. */
  priority: number;
  weight: number;
  /** Concurrent calls allowed through the trunk; null = unlimited. */
  maxConcurrentCalls: number | null;
  enabled: boolean;
  status: TrunkStatus;
  statusChangedAt: Date | null;
  metadata: JsonObject;
  createdAt: Date;
  updatedAt: Date;
}

type Settable = Omit<TrunkRecord, 'id' | 'hasPassword' | 'status' | 'statusChangedAt' | 'createdAt' | 'updatedAt'>;

/** Fields of a new trunk: name and proxy address are required, everything else has a column default. */
export type NewTrunk = Partial<Settable> & Pick<Settable, 'name' | 'proxyAddress'> & { password?: string };

/** A change: fields left out keep their value; `password: null` removes the stored password. */
export type TrunkPatch = Partial<Settable> & { password?: string | null };

const COLUMNS: { readonly [K in keyof Settable]-?: readonly [column: string, cast: string] } = {
  name: ['name', ''],
  provider: ['provider', ''],
  proxyAddress: ['proxy_address', ''],
  proxyPort: ['proxy_port', '::integer'],
  transport: ['transport', ''],
  username: ['username', ''],
  realm: ['realm', ''],
  fromDomain: ['from_domain', ''],
  callerId: ['caller_id', ''],
  register: ['register', '::boolean'],
  registerExpiresS: ['register_expires_s', '::integer'],
  supportsOutbound: ['supports_outbound', '::boolean'],
  supportsInbound: ['supports_inbound', '::boolean'],
  inboundCidrs: ['inbound_cidrs', '::text[]'],
  prefixes: ['prefixes', '::text[]'],
  codecs: ['codecs', '::text[]'],
  dialPrefix: ['dial_prefix', ''],
  stripDigits: ['strip_digits', '::integer'],
  priority: ['priority', '::integer'],
  weight: ['weight', '::integer'],
  maxConcurrentCalls: ['max_concurrent_calls', '::integer'],
  enabled: ['enabled', '::boolean'],
  metadata: ['metadata', '::jsonb'],
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Associated data of a trunk's sealed password: the ciphertext only opens in its own row. */
function passwordContext(id: string): string {
  return `trunks.password:${id.toLowerCase()}`;
}

function textArray(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

function toTrunk(row: Record<string, unknown>): TrunkRecord {
  return {
    id: String(row['id']),
    name: String(row['name']),
    provider: strOrNull(row['provider']),
    proxyAddress: String(row['proxy_address']),
    proxyPort: num(row['proxy_port']),
    transport: row['transport'] as TrunkTransport,
    username: strOrNull(row['username']),
    hasPassword: row['password'] !== null && row['password'] !== undefined,
    realm: strOrNull(row['realm']),
    fromDomain: strOrNull(row['from_domain']),
    callerId: strOrNull(row['caller_id']),
    register: row['register'] === true,
    registerExpiresS: num(row['register_expires_s']),
    supportsOutbound: row['supports_outbound'] === true,
    supportsInbound: row['supports_inbound'] === true,
    inboundCidrs: textArray(row['inbound_cidrs']),
    prefixes: textArray(row['prefixes']),
    codecs: textArray(row['codecs']),
    dialPrefix: String(row['dial_prefix'] ?? ''),
    stripDigits: num(row['strip_digits']),
    priority: num(row['priority']),
    weight: num(row['weight']),
    maxConcurrentCalls: numOrNull(row['max_concurrent_calls']),
    enabled: row['enabled'] === true,
    status: row['status'] as TrunkStatus,
    statusChangedAt: dateOrNull(row['status_changed_at']),
    metadata: jsonObject(row['metadata']),
    createdAt: date(row['created_at']),
    updatedAt: date(row['updated_at']),
  };
}

function param(key: keyof Settable, value: unknown): SqlParam {
  return key === 'metadata' ? jsonParam(value as JsonObject) : (value as SqlParam);
}

/**
 * SIP trunks. Passwords are sealed with AES-256-GCM before they reach the database and are only opened by
 * `password(id)`, for digest authentication towards the provider; records never carry them.
 * Ids that are not UUIDs find nothing (no query, no SQL cast error).
 */
export class TrunkRepository {
  constructor(
    private readonly db: Queryable,
    private readonly cipher: SecretCipher | undefined,
  ) {}

  /** Insert a trunk. A duplicate name rejects with the database's unique violation (`isUniqueViolation`). */
  async create(trunk: NewTrunk): Promise<TrunkRecord> {
    // The id is chosen here so the password can be sealed with it as associated data in the same statement.
    const id = randomUUID();
    const columns = ['id'];
    const values = ['$1::uuid'];
    const params: SqlParam[] = [id];
    for (const key of Object.keys(COLUMNS) as (keyof Settable)[]) {
      const value = trunk[key];
      if (value === undefined) continue;
      const [column, cast] = COLUMNS[key];
      params.push(param(key, value));
      columns.push(column);
      values.push(`$${params.length}${cast}`);
    }
    if (trunk.password !== undefined) {
      params.push(this.seal(trunk.password, id));
      columns.push('password');
      values.push(`$${params.length}`);
    }
    const res = await this.db.query(`INSERT INTO trunks (${columns.join(', ')}) VALUES (${values.join(', ')}) RETURNING *`, params);
    return toTrunk(res.rows[0]);
  }

  async get(id: string): Promise<TrunkRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const res = await this.db.query('SELECT * FROM trunks WHERE id = $1::uuid', [id]);
    return res.rows[0] ? toTrunk(res.rows[0]) : undefined;
  }

  async getByName(name: string): Promise<TrunkRecord | undefined> {
    const res = await this.db.query('SELECT * FROM trunks WHERE name = $1', [name]);
    return res.rows[0] ? toTrunk(res.rows[0]) : undefined;
  }

  /** All trunks in route-choice order: priority ascending, then name. */
  async list(): Promise<TrunkRecord[]> {
    const res = await this.db.query('SELECT * FROM trunks ORDER BY priority, name');
    return res.rows.map(toTrunk);
  }

  /** Change the given fields; undefined when there is no such trunk. Duplicate names reject as in `create`. */
  async update(id: string, patch: TrunkPatch): Promise<TrunkRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const sets = ['updated_at = now()'];
    const params: SqlParam[] = [id];
    for (const key of Object.keys(COLUMNS) as (keyof Settable)[]) {
      const value = patch[key];
      if (value === undefined) continue;
      const [column, cast] = COLUMNS[key];
      params.push(param(key, value));
      sets.push(`${column} = $${params.length}${cast}`);
    }
    if (patch.password !== undefined) {
      params.push(patch.password === null ? null : this.seal(patch.password, id));
      sets.push(`password = $${params.length}`);
    }
    const res = await this.db.query(`UPDATE trunks SET ${sets.join(', ')} WHERE id = $1::uuid RETURNING *`, params);
    return res.rows[0] ? toTrunk(res.rows[0]) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const res = await this.db.query('DELETE FROM trunks WHERE id = $1::uuid', [id]);
    return res.rowCount > 0;
  }

  /**
   * The decrypted password of a trunk (for digest authentication), undefined when none is stored.
   * Throws `SecretCipherError` when TRUNK_SECRET_KEY no longer matches the key that sealed it.
   */
  async password(id: string): Promise<string | undefined> {
    if (!UUID.test(id)) return undefined;
    const res = await this.db.query<{ password: string | null }>('SELECT password FROM trunks WHERE id = $1::uuid', [id]);
    const sealed = res.rows[0]?.password;
    if (sealed === null || sealed === undefined) return undefined;
    return this.requireCipher().decrypt(sealed, passwordContext(id));
  }

  /** Record a reachability change; `status_changed_at` moves only when the status really changes. */
  async setStatus(id: string, status: TrunkStatus): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const res = await this.db.query(
      `UPDATE trunks SET status = $2,
         status_changed_at = CASE WHEN status IS DISTINCT FROM $2 THEN now() ELSE status_changed_at END
       WHERE id = $1::uuid`,
      [id, status],
    );
    return res.rowCount > 0;
  }

  private seal(password: string, id: string): string {
    return this.requireCipher().encrypt(password, passwordContext(id));
  }

  private requireCipher(): SecretCipher {
    // Repositories built without a cipher (tooling, transactions that never touch passwords) can still read
    // and write every other field; storing a plaintext password instead is never an option.
    if (this.cipher === undefined) throw new TypeError('TrunkRepository needs a SecretCipher to read or write passwords');
    return this.cipher;
  }
}

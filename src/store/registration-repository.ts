import type { Queryable, SqlParam } from './database';
import { date, num, numOrNull, strOrNull } from './row-values';

/** One registrar binding: address of record -> contact (RFC 3261 §10.3), with where the contact was heard from. */
export interface RegistrationBinding {
  id: number;
  /** Canonical address of record, `sip:user@domain`. */
  aor: string;
  /** The contact URI (binding key, RFC 3261 §10.3 step 7 compares contacts by URI). */
  contact: string;
  /** The Contact header field value as the UA sent it (display name, +sip.instance...), without `expires`. */
  contactHeader: string | null;
  /** Instance that took the REGISTER (it holds the TCP/TLS connection, if any). */
  instanceId: string;
  callId: string;
  cseq: number;
  q: number | null;
  expiresAt: Date;
  /** Whole seconds left when read, by the database clock (so instances with skewed clocks agree). */
  expiresInS: number;
  /** 'udp' | 'tcp' | 'tls' of the REGISTER. */
  transport: string | null;
  /** Source address and port of the REGISTER: where the contact is reachable behind NAT (RFC 3581). */
  received: string | null;
  receivedPort: number | null;
  /** TCP/TLS connection of the REGISTER on `instanceId`. */
  connectionId: number | null;
  userAgent: string | null;
  sipInstance: string | null;
  regId: number | null;
  path: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** A binding to create or refresh; `expiresS` counts from the database's now(). */
export interface BindingWrite {
  aor: string;
  contact: string;
  contactHeader?: string | null;
  instanceId: string;
  callId: string;
  cseq: number;
  q?: number | null;
  expiresS: number;
  transport?: string | null;
  received?: string | null;
  receivedPort?: number | null;
  connectionId?: number | null;
  userAgent?: string | null;
  sipInstance?: string | null;
  regId?: number | null;
  path?: readonly string[];
}

const SELECT = `SELECT *, GREATEST(0, CEIL(EXTRACT(EPOCH FROM (expires_at - now()))))::integer AS expires_in_s FROM registrations`;

function toBinding(row: Record<string, unknown>): RegistrationBinding {
  const path = row['path'];
  return {
    id: num(row['id']),
    aor: String(row['aor']),
    contact: String(row['contact']),
    contactHeader: strOrNull(row['contact_header']),
    instanceId: String(row['instance_id']),
    callId: String(row['call_id']),
    cseq: num(row['cseq']),
    q: numOrNull(row['q']),
    expiresAt: date(row['expires_at']),
    expiresInS: num(row['expires_in_s']),
    transport: strOrNull(row['transport']),
    received: strOrNull(row['received']),
    receivedPort: numOrNull(row['received_port']),
    connectionId: numOrNull(row['connection_id']),
    userAgent: strOrNull(row['user_agent']),
    sipInstance: strOrNull(row['sip_instance']),
    regId: numOrNull(row['reg_id']),
    path: Array.isArray(path) ? path.map(String) : [],
    createdAt: date(row['created_at']),
    updatedAt: date(row['updated_at']),
  };
}

/**
 * Registrar bindings in PostgreSQL, so every instance finds every registered contact. Expiry is computed by the
 * database clock. Changes to one address of record are serialised with `lockAor` inside a transaction.
 */
export class RegistrationRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * Take the per-AOR transaction lock (pg_advisory_xact_lock): two REGISTERs for the same address of record, on
   * any instance, then apply RFC 3261 §10.3 step 7 one after the other. Only meaningful inside a transaction.
   */
  async lockAor(aor: string): Promise<void> {
    await this.db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`registrations:${aor}`]);
  }

  /** Unexpired bindings of an address of record, highest q first, then most recently refreshed. */
  async listByAor(aor: string): Promise<RegistrationBinding[]> {
    const res = await this.db.query(`${SELECT} WHERE aor = $1 AND expires_at > now() ORDER BY q DESC NULLS LAST, updated_at DESC, id`, [aor]);
    return res.rows.map(toBinding);
  }

  /** Every unexpired binding (for status pages), by address of record. Bounded by `limit`. */
  async listActive(limit = 1000): Promise<RegistrationBinding[]> {
    const res = await this.db.query(`${SELECT} WHERE expires_at > now() ORDER BY aor, id LIMIT $1::integer`, [limit]);
    return res.rows.map(toBinding);
  }

  /** Create or refresh the binding of (aor, contact). */
  async upsert(b: BindingWrite): Promise<RegistrationBinding> {
    const params: SqlParam[] = [
      b.aor,
      b.contact,
      b.contactHeader ?? null,
      b.instanceId,
      b.callId,
      b.cseq,
      b.q ?? null,
      b.expiresS,
      b.transport ?? null,
      b.received ?? null,
      b.receivedPort ?? null,
      b.connectionId ?? null,
      b.userAgent ?? null,
      b.sipInstance ?? null,
      b.regId ?? null,
      [...(b.path ?? [])],
    ];
    const res = await this.db.query(
      `INSERT INTO registrations AS r (aor, contact, contact_header, instance_id, call_id, cseq, q, expires_at, transport, received,
                                       received_port, connection_id, user_agent, sip_instance, reg_id, path)
       VALUES ($1, $2, $3, $4, $5, $6::integer, $7::real, now() + $8::double precision * interval '1 second', $9, $10,
               $11::integer, $12::integer, $13, $14, $15::integer, $16::text[])
       ON CONFLICT (aor, contact) DO UPDATE SET
         contact_header = EXCLUDED.contact_header, instance_id = EXCLUDED.instance_id, call_id = EXCLUDED.call_id,
         cseq = EXCLUDED.cseq, q = EXCLUDED.q, expires_at = EXCLUDED.expires_at, transport = EXCLUDED.transport,
         received = EXCLUDED.received, received_port = EXCLUDED.received_port, connection_id = EXCLUDED.connection_id,
         user_agent = EXCLUDED.user_agent, sip_instance = EXCLUDED.sip_instance, reg_id = EXCLUDED.reg_id,
         path = EXCLUDED.path, updated_at = now()
       RETURNING *, GREATEST(0, CEIL(EXTRACT(EPOCH FROM (expires_at - now()))))::integer AS expires_in_s`,
      params,
    );
    return toBinding(res.rows[0]);
  }

  /** Remove one binding; true when it existed. */
  async remove(aor: string, contact: string): Promise<boolean> {
    const res = await this.db.query('DELETE FROM registrations WHERE aor = $1 AND contact = $2', [aor, contact]);
    return res.rowCount > 0;
  }

  /** Remove every binding of an address of record; returns how many. */
  async removeAll(aor: string): Promise<number> {
    const res = await this.db.query('DELETE FROM registrations WHERE aor = $1', [aor]);
    return res.rowCount;
  }

  /** Remove the bindings held over a TCP/TLS connection of an instance that closed; returns how many. */
  async removeByConnection(instanceId: string, connectionId: number): Promise<number> {
    const res = await this.db.query('DELETE FROM registrations WHERE instance_id = $1 AND connection_id = $2::integer', [instanceId, connectionId]);
    return res.rowCount;
  }

  /** Delete expired bindings; returns how many. */
  async purgeExpired(): Promise<number> {
    const res = await this.db.query('DELETE FROM registrations WHERE expires_at <= now()');
    return res.rowCount;
  }

  /** Number of unexpired bindings. */
  async countActive(): Promise<number> {
    const res = await this.db.query<{ n: number }>('SELECT count(*)::integer AS n FROM registrations WHERE expires_at > now()');
    return num(res.rows[0]?.n);
  }
}

import type { Queryable } from './database';
import { notifyRoutingDataChange } from './number-repository';
import { date, dateOrNull, num, strOrNull } from './row-values';

export interface BlockedNumber {
  number: string;
  reason: string | null;
  createdAt: Date;
  /** null = permanent. */
  expiresAt: Date | null;
}

function toBlocked(row: Record<string, unknown>): BlockedNumber {
  return { number: String(row['number']), reason: strOrNull(row['reason']), createdAt: date(row['created_at']), expiresAt: dateOrNull(row['expires_at']) };
}

// Expiry is judged by the database clock so every instance agrees on it.
const ACTIVE = '(expires_at IS NULL OR expires_at > now())';

/** Caller numbers refused before routing (spam, abuse). */
export class BlockedNumberRepository {
  constructor(private readonly db: Queryable) {}

  /** Block (or re-block, replacing reason and expiry). */
  async block(number: string, options: { reason?: string; expiresAt?: Date } = {}): Promise<BlockedNumber> {
    const res = await this.db.query(
      `INSERT INTO blocked_numbers (number, reason, expires_at) VALUES ($1, $2, $3::timestamptz)
       ON CONFLICT (number) DO UPDATE SET reason = EXCLUDED.reason, expires_at = EXCLUDED.expires_at, created_at = now()
       RETURNING *`,
      [number, options.reason ?? null, options.expiresAt ?? null],
    );
    notifyRoutingDataChange('blocked_numbers');
    return toBlocked(res.rows[0]);
  }

  /** True when a block existed (expired or not) and was removed. */
  async unblock(number: string): Promise<boolean> {
    const res = await this.db.query('DELETE FROM blocked_numbers WHERE number = $1', [number]);
    notifyRoutingDataChange('blocked_numbers');
    return res.rowCount > 0;
  }

  /** Checked on every inbound INVITE and MESSAGE: one primary-key lookup. */
  async isBlocked(number: string): Promise<boolean> {
    const res = await this.db.query(`SELECT 1 FROM blocked_numbers WHERE number = $1 AND ${ACTIVE}`, [number]);
    return res.rowCount > 0;
  }

  /**
   * Up to `limit` active blocks (number and expiry only), the snapshot a routing cache loads in one statement.
   * Expiry is then judged by the cache's clock.
   */
  async activeSnapshot(limit: number): Promise<{ number: string; expiresAt: Date | null }[]> {
    const res = await this.db.query(`SELECT number, expires_at FROM blocked_numbers WHERE ${ACTIVE} ORDER BY number LIMIT $1`, [
      Math.max(1, Math.trunc(limit)),
    ]);
    return res.rows.map((row) => ({ number: String(row['number']), expiresAt: dateOrNull(row['expires_at']) }));
  }

  /**
   * A short text that changes when blocks are added, removed or replaced (row count and newest created_at, which
   * `block` resets). Expiry needs no change: caches compare expires_at with their clock.
   */
  async fingerprint(): Promise<string> {
    const res = await this.db.query<{ n: unknown; t: unknown }>('SELECT count(*) AS n, max(created_at)::text AS t FROM blocked_numbers');
    const row = res.rows[0];
    return `${String(row?.n ?? 0)}/${String(row?.t ?? '')}`;
  }

  /** The active block of a number, if any. */
  async get(number: string): Promise<BlockedNumber | undefined> {
    const res = await this.db.query(`SELECT * FROM blocked_numbers WHERE number = $1 AND ${ACTIVE}`, [number]);
    return res.rows[0] ? toBlocked(res.rows[0]) : undefined;
  }

  /** Active blocks, newest first. */
  async list(options: { limit?: number; offset?: number } = {}): Promise<{ items: BlockedNumber[]; total: number }> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000);
    const offset = Math.max(Math.trunc(options.offset ?? 0), 0);
    const page = await this.db.query(`SELECT * FROM blocked_numbers WHERE ${ACTIVE} ORDER BY created_at DESC, number LIMIT $1 OFFSET $2`, [limit, offset]);
    const count = await this.db.query<{ n: unknown }>(`SELECT count(*) AS n FROM blocked_numbers WHERE ${ACTIVE}`);
    return { items: page.rows.map(toBlocked), total: num(count.rows[0]?.n) };
  }

  /** Delete expired blocks; returns how many. */
  async purgeExpired(): Promise<number> {
    const res = await this.db.query('DELETE FROM blocked_numbers WHERE expires_at IS NOT NULL AND expires_at <= now()');
    if (res.rowCount > 0) notifyRoutingDataChange('blocked_numbers');
    return res.rowCount;
  }
}

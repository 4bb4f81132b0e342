import type { Queryable } from './database';
import { date, jsonObject, jsonParam, num, strOrNull, type JsonObject } from './row-values';

export type InstanceStatus = 'running' | 'draining' | 'stopped';

/** A server instance of the cluster as last reported by its heartbeat. */
export interface InstanceRecord {
  instanceId: string;
  /** Where other instances relay SIP for dialogs this one owns. */
  sipAddress: string;
  sipPort: number;
  apiUrl: string | null;
  version: string | null;
  status: InstanceStatus;
  activeCalls: number;
  startedAt: Date;
  lastHeartbeatAt: Date;
  metadata: JsonObject;
}

export interface InstanceHeartbeat {
  instanceId: string;
  sipAddress: string;
  sipPort: number;
  apiUrl?: string;
  version?: string;
  status?: InstanceStatus;
  activeCalls?: number;
  metadata?: JsonObject;
}

function toInstance(row: Record<string, unknown>): InstanceRecord {
  return {
    instanceId: String(row['instance_id']),
    sipAddress: String(row['sip_address']),
    sipPort: num(row['sip_port']),
    apiUrl: strOrNull(row['api_url']),
    version: strOrNull(row['version']),
    status: row['status'] as InstanceStatus,
    activeCalls: num(row['active_calls']),
    startedAt: date(row['started_at']),
    lastHeartbeatAt: date(row['last_heartbeat_at']),
    metadata: jsonObject(row['metadata']),
  };
}

const UPSERT = `INSERT INTO instances (instance_id, sip_address, sip_port, api_url, version, status, active_calls, metadata)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
  ON CONFLICT (instance_id) DO UPDATE SET sip_address = EXCLUDED.sip_address, sip_port = EXCLUDED.sip_port,
    api_url = EXCLUDED.api_url, version = EXCLUDED.version, status = EXCLUDED.status,
    active_calls = EXCLUDED.active_calls, metadata = EXCLUDED.metadata, last_heartbeat_at = now()`;

/**
 * Cluster membership. Every time stamp comes from the database clock (now()), so liveness does not
 * depend on the instances' clocks agreeing.
 */
export class InstanceRepository {
  constructor(private readonly db: Queryable) {}

  /** At start-up: upsert and reset started_at (a restarted pod keeps its id but is a new process). */
  register(hb: InstanceHeartbeat): Promise<InstanceRecord> {
    return this.upsert(hb, ', started_at = now()');
  }

  /** Periodic liveness report (upsert, so a row deleted as stale comes back). */
  heartbeat(hb: InstanceHeartbeat): Promise<InstanceRecord> {
    return this.upsert(hb, '');
  }

  /** Instances whose last heartbeat is younger than `maxAgeS` seconds and that are not stopped. */
  async listLive(maxAgeS: number): Promise<InstanceRecord[]> {
    const res = await this.db.query(
      `SELECT * FROM instances WHERE status <> 'stopped' AND last_heartbeat_at > now() - ($1::double precision * interval '1 second')
       ORDER BY instance_id`,
      [maxAgeS],
    );
    return res.rows.map(toInstance);
  }

  async get(instanceId: string): Promise<InstanceRecord | undefined> {
    const res = await this.db.query('SELECT * FROM instances WHERE instance_id = $1', [instanceId]);
    return res.rows[0] ? toInstance(res.rows[0]) : undefined;
  }

  /** Draining (finishing calls, taking no new ones) or stopped (clean shutdown). */
  async setStatus(instanceId: string, status: InstanceStatus): Promise<boolean> {
    const res = await this.db.query('UPDATE instances SET status = $2, last_heartbeat_at = now() WHERE instance_id = $1', [instanceId, status]);
    return res.rowCount > 0;
  }

  /** Forget instances silent for longer than `olderThanS` seconds; returns how many. */
  async deleteStale(olderThanS: number): Promise<number> {
    const res = await this.db.query("DELETE FROM instances WHERE last_heartbeat_at < now() - ($1::double precision * interval '1 second')", [olderThanS]);
    return res.rowCount;
  }

  private async upsert(hb: InstanceHeartbeat, extraSet: string): Promise<InstanceRecord> {
    const res = await this.db.query(`${UPSERT}${extraSet} RETURNING *`, [
      hb.instanceId,
      hb.sipAddress,
      hb.sipPort,
      hb.apiUrl ?? null,
      hb.version ?? null,
      hb.status ?? 'running',
      hb.activeCalls ?? 0,
      jsonParam(hb.metadata ?? {}),
    ]);
    return toInstance(res.rows[0]);
  }
}

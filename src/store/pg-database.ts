import pg from 'pg';
import { InvalidStateError } from '../util';
import type { Logger } from '../observability';
import type { Database, PreparedQuery, Queryable, QueryResult, SqlParam } from './database';
import { ScopedQueryable, TransactionGuard } from './transaction-guard';

export interface PgDatabaseOptions {
  connectionString: string;
  /** Pool size. Default 10. */
  max?: number;
  /** Schema put first on search_path of every connection (tests isolate themselves this way). */
  schema?: string;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  /** Abort statements running longer than this (ms). Default 30000; 0 = no limit. */
  statementTimeoutMs?: number;
  /** Give up acquiring a connection after this long (ms). Default 10000. */
  connectionTimeoutMs?: number;
  logger?: Logger;
}

const INT8_OID = 20;

// bigint counters and identities stay far below 2^53; numbers keep both backends returning the same types.
const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function toArgs(params: readonly SqlParam[] | undefined): unknown[] | undefined {
  return params === undefined ? undefined : (params as unknown[]);
}

/** PostgreSQL through a `pg` connection pool. */
export class PgDatabase implements Database {
  readonly kind = 'pg' as const;
  private readonly pool: pg.Pool;
  private readonly guard = new TransactionGuard();
  private closing: Promise<void> | undefined;

  constructor(options: PgDatabaseOptions) {
    if (options.schema !== undefined && !IDENTIFIER.test(options.schema)) {
      throw new TypeError(`invalid schema name "${options.schema}"`);
    }
    const settings: string[] = [];
    if (options.schema !== undefined) settings.push(`-c search_path=${options.schema}`);
    settings.push(`-c statement_timeout=${options.statementTimeoutMs ?? 30_000}`);
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 10,
      application_name: options.applicationName,
      options: settings.join(' '),
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      types: typeParsers,
    });
    // An idle connection dropped by the server (restart, failover) emits here; without a listener the
    // process would crash. The pool replaces the connection on next use.
    const logger = options.logger;
    this.pool.on('error', (err) => logger?.warn({ err }, 'idle PostgreSQL connection failed'));
  }

  async query<T = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<QueryResult<T>> {
    this.assertOpen();
    this.guard.assertOutside();
    const res = await this.pool.query(sql, toArgs(params));
    return { rows: res.rows as T[], rowCount: res.rowCount ?? res.rows.length };
  }

  /** A named statement: pg parses and plans it once per pooled connection, then sends only Bind/Execute. */
  async runPrepared(stmt: PreparedQuery, params: readonly SqlParam[]): Promise<void> {
    this.assertOpen();
    this.guard.assertOutside();
    await this.pool.query({ name: stmt.name, text: stmt.text, values: toArgs(params) });
  }

  async exec(sql: string): Promise<void> {
    this.assertOpen();
    this.guard.assertOutside();
    // Without parameters pg uses the simple query protocol, which accepts several statements.
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.assertOpen();
    this.guard.assertOutside();
    const client = await this.pool.connect();
    const tx = new ScopedQueryable({
      query: async <R>(sql: string, params?: readonly SqlParam[]) => {
        const res = await client.query(sql, toArgs(params));
        return { rows: res.rows as R[], rowCount: res.rowCount ?? res.rows.length };
      },
      exec: async (sql: string) => {
        await client.query(sql);
      },
    });
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await this.guard.run(() => fn(tx));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        // The connection is unusable; destroy it instead of returning it to the pool.
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      }
      throw err;
    } finally {
      tx.end();
      client.release(broken);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new InvalidStateError('database is closed');
  }
}

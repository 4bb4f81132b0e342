/**
 * The storage client every repository uses. Two implementations share one SQL dialect: PostgreSQL via
 * `pg` (production, several instances) and PGlite (Postgres compiled to WASM, one process, no server).
 */

/** A value bound to a `$n` placeholder. Objects for jsonb columns are passed as JSON text with `$n::jsonb`. */
export type SqlParam = string | number | boolean | null | Date | Buffer | readonly string[] | readonly number[];

export interface QueryResult<T> {
  rows: T[];
  /** Rows returned by a SELECT or changed by INSERT/UPDATE/DELETE. */
  rowCount: number;
}

/**
 * A statement run very often with the same text (the CDR batch): a backend may parse and plan it once per connection
 * and then run it by name (PostgreSQL PREPARE / EXECUTE, protocol §55.2.3). `name` is an SQL identifier, unique per
 * text; `text` is one statement with `$1..$n` placeholders whose types the text fixes (`$1::jsonb`).
 */
export interface PreparedQuery {
  readonly name: string;
  readonly text: string;
}

/** What repositories need: parameterised queries, and multi-statement scripts for migrations. */
export interface Queryable {
  /**
   * Run one statement with `$1..$n` parameters. `T` describes the row shape the SQL selects; it is not
   * checked at run time. bigint columns arrive as JS numbers on both backends.
   */
  query<T = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<QueryResult<T>>;
  /** Run a script of several statements without parameters (migrations, DDL). */
  exec(sql: string): Promise<void>;
  /**
   * Run a write that returns no rows through a statement prepared once per connection (optional: callers fall back
   * to `query(stmt.text, params)`). Resolves once committed, as `query` does.
   */
  runPrepared?(stmt: PreparedQuery, params: readonly SqlParam[]): Promise<void>;
}

export type DatabaseKind = 'pg' | 'pglite';

export interface Database extends Queryable {
  readonly kind: DatabaseKind;
  /**
   * Run `fn` in a transaction: COMMIT when it resolves, ROLLBACK when it rejects (the rejection is
   * passed on). Inside `fn`, use only `tx`: the outer handle throws `InvalidStateError` there, because on
   * the single-connection backend it would wait for this very transaction forever.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Wait for running work, then release connections. Later calls throw `InvalidStateError`. */
  close(): Promise<void>;
}

/** SQLSTATE of a database error, if it is one. */
export function sqlState(err: unknown): string | undefined {
  if (err !== null && typeof err === 'object' && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** PostgreSQL 23505 unique_violation. */
export function isUniqueViolation(err: unknown): boolean {
  return sqlState(err) === '23505';
}

/** PostgreSQL 23503 foreign_key_violation. */
export function isForeignKeyViolation(err: unknown): boolean {
  return sqlState(err) === '23503';
}

/** Fields PostgreSQL attaches to an error (ErrorResponse, PostgreSQL protocol §55.8). */
export interface DatabaseErrorFields {
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
  constraint?: string;
  table?: string;
  column?: string;
  schema?: string;
}

/**
 * An error reported by the embedded engine, shaped like pg's so callers treat both backends alike:
 * `code` is the SQLSTATE (`isUniqueViolation` etc. work on either).
 */
export class DatabaseError extends Error {
  readonly code: string;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  readonly constraint: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly schema: string | undefined;

  constructor(fields: DatabaseErrorFields) {
    super(fields.message);
    this.name = 'DatabaseError';
    this.code = fields.code ?? 'XX000';
    this.detail = fields.detail;
    this.hint = fields.hint;
    this.constraint = fields.constraint;
    this.table = fields.table;
    this.column = fields.column;
    this.schema = fields.schema;
  }
}

import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InvalidStateError } from '../util';
import { DatabaseError, type Database, type DatabaseErrorFields, type PreparedQuery, type Queryable, type QueryResult, type SqlParam } from './database';
import { PGLITE_WORKER_SOURCE } from './pglite-worker-source';
import { ScopedQueryable, TransactionGuard } from './transaction-guard';

type WorkerRequest =
  | { op: 'open'; dataDir?: string }
  | { op: 'query'; sql: string; params?: readonly SqlParam[]; txId?: number }
  | { op: 'exec'; sql: string; txId?: number }
  | { op: 'begin' | 'commit' | 'rollback'; txId: number }
  | { op: 'close' };

type WorkerReply = { id: number; ok: true; result?: QueryResult<unknown> } | { id: number; ok: false; error: DatabaseErrorFields };

interface Pending {
  resolve(result: QueryResult<unknown> | undefined): void;
  reject(err: Error): void;
}

/**
 * Embedded PostgreSQL (PGlite, WASM) persisted in a directory, for a single instance without a database
 * server. The engine runs in a worker thread (see pglite-worker-source.ts). PGlite has one connection, so
 * every query, script and transaction goes through one FIFO queue here; a transaction (PGlite's own
 * `transaction()` in the worker) holds the queue from BEGIN to COMMIT and nothing interleaves with it.
 */
export class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly guard = new TransactionGuard();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private nextTxId = 1;
  /** Statements PREPAREd on the engine's one connection. */
  private readonly prepared = new Set<string>();
  private closing: Promise<void> | undefined;
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`PGlite worker exited (code ${code})`)));
  }

  /** Open (creating if needed) the database in `dataDir`; without a directory it lives in memory. */
  static async open(dataDir?: string): Promise<PgliteDatabase> {
    const dir = dataDir === undefined ? undefined : resolve(dataDir);
    if (dir !== undefined) mkdirSync(dir, { recursive: true });
    const worker = new Worker(PGLITE_WORKER_SOURCE, {
      eval: true,
      workerData: { pglitePath: require.resolve('@electric-sql/pglite') },
    });
    const db = new PgliteDatabase(worker);
    try {
      await db.call({ op: 'open', dataDir: dir });
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return db;
  }

  query<T = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<QueryResult<T>> {
    return this.enqueue(() => this.call({ op: 'query', sql, params }) as Promise<QueryResult<T>>);
  }

  exec(sql: string): Promise<void> {
    return this.enqueue(async () => {
      await this.call({ op: 'exec', sql });
    });
  }

  /**
   * PREPARE once, then `EXECUTE name(literals)` through the simple query protocol. A statement as large as the CDR
   * batch costs PGlite about 2 ms to parse and plan and its extended protocol another 0.3 ms per call; run this way it
   * costs a fraction of that (bench/README.md). Parameters that cannot be written as literals safely take `query`.
   */
  runPrepared(stmt: PreparedQuery, params: readonly SqlParam[]): Promise<void> {
    const args = sqlLiterals(params);
    if (args === undefined || !STATEMENT_NAME.test(stmt.name)) return this.query(stmt.text, params).then(() => undefined);
    return this.enqueue(async () => {
      if (!this.prepared.has(stmt.name)) {
        await this.call({ op: 'exec', sql: `PREPARE ${stmt.name} AS ${stmt.text}` });
        this.prepared.add(stmt.name);
      }
      await this.call({ op: 'exec', sql: `EXECUTE ${stmt.name}(${args})` });
    });
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.enqueue(async () => {
      const txId = this.nextTxId++;
      await this.call({ op: 'begin', txId });
      const tx = new ScopedQueryable({
        query: <R>(sql: string, params?: readonly SqlParam[]) => this.call({ op: 'query', sql, params, txId }) as Promise<QueryResult<R>>,
        exec: async (sql: string) => {
          await this.call({ op: 'exec', sql, txId });
        },
      });
      let result: T;
      try {
        result = await this.guard.run(() => fn(tx));
      } catch (err) {
        tx.end();
        await this.call({ op: 'rollback', txId }).catch(() => undefined);
        throw err;
      }
      tx.end();
      await this.call({ op: 'commit', txId });
      return result;
    });
  }

  close(): Promise<void> {
    if (!this.closing) {
      // Let queued work finish (an acknowledged CDR write must reach the disk), then shut PGlite down.
      const shutdown = async (): Promise<void> => {
        if (!this.failure) await this.call({ op: 'close' }).catch(() => undefined);
        await this.worker.terminate();
      };
      this.closing = this.tail.then(shutdown, shutdown);
    }
    return this.closing;
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    try {
      if (this.closing) throw new InvalidStateError('database is closed');
      this.guard.assertOutside();
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.tail.then(work, work);
    // The queue continues whatever the outcome; the caller gets the outcome.
    this.tail = run.catch(() => undefined);
    return run;
  }

  private call(req: WorkerRequest): Promise<QueryResult<unknown> | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolvePending, rejectPending) => {
      this.pending.set(id, { resolve: resolvePending, reject: rejectPending });
      this.worker.postMessage({ id, ...req });
    });
  }

  private onReply(reply: WorkerReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(new DatabaseError(reply.error));
  }

  /** The engine died (WASM abort, out of memory): fail everything now rather than hang. */
  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = this.closing ? new InvalidStateError('database is closed') : err;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }
}

const STATEMENT_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** `params` as the SQL literals of an EXECUTE, or undefined when one cannot be written safely. */
export function sqlLiterals(params: readonly SqlParam[]): string | undefined {
  let out = '';
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    let lit: string | undefined;
    if (p === null) lit = 'NULL';
    else if (typeof p === 'number') lit = Number.isFinite(p) ? String(p) : undefined;
    else if (typeof p === 'boolean') lit = p ? 'TRUE' : 'FALSE';
    else if (typeof p === 'string') lit = dollarQuoted(p);
    if (lit === undefined) return undefined;
    out += i === 0 ? lit : `, ${lit}`;
  }
  return out;
}

/**
 * Dollar quoting (PostgreSQL manual §4.1.2.4) keeps the text verbatim whatever standard_conforming_strings says: the
 * string ends at the first occurrence of the tag, so the tag must first occur right after the text (a text ending in
 * `$p` would otherwise close early). NUL cannot travel in a query string: those take the parameter path.
 */
function dollarQuoted(s: string): string | undefined {
  if (s.includes('\0')) return undefined;
  for (let i = 0; i < 32; i++) {
    const tag = i === 0 ? '$p$' : `$p${i}$`;
    if ((s + tag).indexOf(tag) === s.length) return tag + s + tag;
  }
  return undefined;
}

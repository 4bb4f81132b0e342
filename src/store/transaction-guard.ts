import { AsyncLocalStorage } from 'node:async_hooks';
import { InvalidStateError } from '../util';
import type { Queryable, QueryResult, SqlParam } from './database';

/**
 * Catches use of the outer database handle inside `transaction(fn)`. On PGlite (one connection) such a
 * query would queue behind the transaction that is waiting for it: a silent deadlock. On pg it would run
 * outside the transaction and not see its writes. Both are bugs; failing fast names them.
 */
export class TransactionGuard {
  private readonly als = new AsyncLocalStorage<{ active: boolean }>();

  assertOutside(): void {
    if (this.als.getStore()?.active === true) {
      throw new InvalidStateError('database handle used inside its own transaction; use the tx argument');
    }
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    // A mutable scope rather than a flag in the store: timers started inside fn inherit the store and
    // must be free to use the database once the transaction is over.
    const scope = { active: true };
    return this.als.run(scope, async () => {
      try {
        return await fn();
      } finally {
        scope.active = false;
      }
    });
  }
}

/** A transaction handle that refuses use after its transaction ended (a leaked `tx` is a bug). */
export class ScopedQueryable implements Queryable {
  private open = true;

  constructor(private readonly inner: Queryable) {}

  end(): void {
    this.open = false;
  }

  query<T = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<QueryResult<T>> {
    if (!this.open) return Promise.reject(new InvalidStateError('transaction is finished'));
    return this.inner.query<T>(sql, params);
  }

  exec(sql: string): Promise<void> {
    if (!this.open) return Promise.reject(new InvalidStateError('transaction is finished'));
    return this.inner.exec(sql);
  }
}

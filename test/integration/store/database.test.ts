import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidStateError } from '../../../src/util';
import { PgliteDatabase, isUniqueViolation, openDatabase, sqlState, type Queryable } from '../../../src/store';
import { TEST_BACKENDS, TEST_DATABASE_URL, createTestDatabase, type TestDatabase } from '../../helpers/db';
import type { Config } from '../../../src/config';

describe.each(TEST_BACKENDS)('Database on %s', (backend) => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await createTestDatabase(backend, { migrate: false });
    await t.db.exec('CREATE TABLE kv (k text PRIMARY KEY, v integer NOT NULL); CREATE TABLE big (n bigint, d timestamptz, j jsonb, a text[])');
  }, 60_000);
  afterAll(async () => {
    await t?.destroy();
  });

  it('runs parameterised queries and reports rowCount', async () => {
    const ins = await t.db.query('INSERT INTO kv (k, v) VALUES ($1, $2), ($3, $4)', ['a', 1, 'b', 2]);
    expect(ins.rowCount).toBe(2);
    const upd = await t.db.query('UPDATE kv SET v = v + 1 WHERE k = ANY($1::text[])', [['a', 'b', 'zz']]);
    expect(upd.rowCount).toBe(2);
    const sel = await t.db.query<{ k: string; v: number }>('SELECT k, v FROM kv ORDER BY k');
    expect(sel.rows).toEqual([
      { k: 'a', v: 2 },
      { k: 'b', v: 3 },
    ]);
    expect(sel.rowCount).toBe(2);
  });

  it('returns the same JS types on both backends (bigint as number, jsonb parsed, arrays)', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    await t.db.query('INSERT INTO big (n, d, j, a) VALUES ($1, $2, $3::jsonb, $4::text[])', [9_007_199_254_740, at, JSON.stringify({ x: [1, 'y'] }), ['p', 'q']]);
    const res = await t.db.query<{ n: unknown; d: Date; j: unknown; a: unknown }>('SELECT n, d, j, a FROM big');
    expect(res.rows[0].n).toBe(9_007_199_254_740);
    expect(new Date(res.rows[0].d.getTime()).toISOString()).toBe(at.toISOString());
    expect(res.rows[0].j).toEqual({ x: [1, 'y'] });
    expect(res.rows[0].a).toEqual(['p', 'q']);
  });

  it('commits a transaction that resolves', async () => {
    const out = await t.db.transaction(async (tx) => {
      await tx.query('INSERT INTO kv (k, v) VALUES ($1, $2)', ['tx-commit', 1]);
      const r = await tx.query<{ v: number }>('SELECT v FROM kv WHERE k = $1', ['tx-commit']);
      return r.rows[0].v;
    });
    expect(out).toBe(1);
    expect((await t.db.query('SELECT 1 FROM kv WHERE k = $1', ['tx-commit'])).rowCount).toBe(1);
  });

  it('rolls back a transaction that rejects and passes the error on', async () => {
    const boom = new Error('boom');
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query('INSERT INTO kv (k, v) VALUES ($1, $2)', ['tx-rollback', 1]);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect((await t.db.query('SELECT 1 FROM kv WHERE k = $1', ['tx-rollback'])).rowCount).toBe(0);
  });

  it('rolls back when a statement inside the transaction fails, with the SQLSTATE', async () => {
    const err = await t.db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO kv (k, v) VALUES ($1, $2)', ['tx-dup', 1]);
        await tx.query('INSERT INTO kv (k, v) VALUES ($1, $2)', ['tx-dup', 2]);
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isUniqueViolation(err)).toBe(true);
    expect((await t.db.query('SELECT 1 FROM kv WHERE k = $1', ['tx-dup'])).rowCount).toBe(0);
  });

  it('maps errors outside transactions to SQLSTATE too', async () => {
    const err = await t.db.query('SELECT * FROM no_such_table').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(sqlState(err)).toBe('42P01');
  });

  it('refuses the outer handle inside its own transaction instead of deadlocking', async () => {
    await expect(
      t.db.transaction(async () => {
        await t.db.query('SELECT 1');
      }),
    ).rejects.toBeInstanceOf(InvalidStateError);
  });

  it('refuses a transaction handle used after the transaction ended', async () => {
    let leaked: Queryable | undefined;
    await t.db.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked!.query('SELECT 1')).rejects.toBeInstanceOf(InvalidStateError);
  });

  it('serialises concurrent transactions so increments are not lost', async () => {
    await t.db.query("INSERT INTO kv (k, v) VALUES ('counter', 0)");
    const bump = (): Promise<void> =>
      t.db.transaction(async (tx) => {
        // Read-modify-write: only correct if transactions do not interleave (PGlite queue) or lock (pg).
        const r = await tx.query<{ v: number }>("SELECT v FROM kv WHERE k = 'counter' FOR UPDATE");
        await tx.query("UPDATE kv SET v = $1 WHERE k = 'counter'", [r.rows[0].v + 1]);
      });
    await Promise.all(Array.from({ length: 20 }, bump));
    const plain = Array.from({ length: 20 }, (_, i) => t.db.query('SELECT $1::int AS i', [i]));
    const results = await Promise.all(plain);
    expect(results.map((r) => r.rows[0]['i'])).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const final = await t.db.query<{ v: number }>("SELECT v FROM kv WHERE k = 'counter'");
    expect(final.rows[0].v).toBe(20);
  });
});

describe('PgliteDatabase persistence', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sip-pglite-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps acknowledged writes across close and reopen, and refuses use after close', async () => {
    const db = await PgliteDatabase.open(dir);
    await db.exec('CREATE TABLE durable (x integer)');
    // Not awaited individually: close() must wait for queued work before shutting down.
    const writes = [db.query('INSERT INTO durable VALUES (1)'), db.query('INSERT INTO durable VALUES (2)')];
    await db.close();
    await Promise.all(writes);
    await expect(db.query('SELECT 1')).rejects.toBeInstanceOf(InvalidStateError);

    const again = await PgliteDatabase.open(dir);
    try {
      const res = await again.query<{ n: number }>('SELECT count(*)::int AS n FROM durable');
      expect(res.rows[0].n).toBe(2);
    } finally {
      await again.close();
    }
  }, 90_000);
});

describe('openDatabase', () => {
  const config = (url: string | undefined, dataDir: string): Pick<Config, 'database' | 'cluster'> => ({
    database: { url, poolMax: 2, dataDir },
    cluster: { instanceId: 'test-1', heartbeatS: 5 },
  });

  it('uses PostgreSQL when a URL is configured', async () => {
    const db = await openDatabase(config(TEST_DATABASE_URL, '/nonexistent'));
    try {
      expect(db.kind).toBe('pg');
      expect((await db.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
    } finally {
      await db.close();
    }
  });

  it('uses PGlite under DATA_DIR without a URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sip-open-'));
    const db = await openDatabase(config(undefined, dir));
    try {
      expect(db.kind).toBe('pglite');
      expect((await db.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('fails fast when PostgreSQL is unreachable', async () => {
    // Port 1 on loopback: connection refused immediately.
    await expect(openDatabase(config('postgresql://postgres@127.0.0.1:1/none', '/nonexistent'))).rejects.toThrow();
  });
});

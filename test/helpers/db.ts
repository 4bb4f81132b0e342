import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PgDatabase, PgliteDatabase, migrate, type Database } from '../../src/store';

/** The two storage backends every store test runs against. */
export type TestBackend = 'pglite' | 'pg';
export const TEST_BACKENDS: readonly TestBackend[] = ['pglite', 'pg'];

/** The real PostgreSQL used by tests (.ci/run starts it). */
export const TEST_DATABASE_URL = process.env['TEST_DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  readonly backend: TestBackend;
  readonly db: Database;
  /** The pg schema or PGlite directory holding this database. */
  readonly location: string;
  /** A second handle on the same data (pg only: another pool on the same schema), for concurrency tests. */
  openAnother(): Database;
  /** Close the handle and delete the schema / directory. */
  destroy(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Apply migrations/ before returning. Default true. */
  migrate?: boolean;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, empty database for one test file: PGlite in a temporary directory, or a uniquely named
 * schema in the test PostgreSQL (search_path points at it), so parallel test files never collide.
 */
export async function createTestDatabase(backend: TestBackend, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  let result: TestDatabase;
  if (backend === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), 'sip-store-'));
    const db = await PgliteDatabase.open(dir);
    result = {
      backend,
      db,
      location: dir,
      openAnother: () => {
        throw new Error('PGlite is single-process: one handle per directory');
      },
      destroy: async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } else {
    const schema = `test_${process.pid}_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE SCHEMA ${schema}`);
    const extra: Database[] = [];
    const open = (): PgDatabase => new PgDatabase({ connectionString: TEST_DATABASE_URL, schema, max: 4, applicationName: 'jest' });
    const db = open();
    result = {
      backend,
      db,
      location: schema,
      openAnother: () => {
        const another = open();
        extra.push(another);
        return another;
      },
      destroy: async () => {
        await Promise.all([db, ...extra].map((d) => d.close()));
        await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      },
    };
  }
  if (options.migrate !== false) {
    try {
      await migrate(result.db);
    } catch (err) {
      await result.destroy();
      throw err;
    }
  }
  return result;
}

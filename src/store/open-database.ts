import { join } from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../observability';
import type { Database } from './database';
import { PgDatabase } from './pg-database';
import { PgliteDatabase } from './pglite-database';

export interface OpenDatabaseOptions {
  logger?: Logger;
}

/**
 * The database the configuration asks for: PostgreSQL when DATABASE_URL is set, otherwise PGlite under
 * `DATA_DIR/pglite`. Connectivity is checked here so a wrong URL stops start-up instead of the first call.
 */
export async function openDatabase(config: Pick<Config, 'database' | 'cluster'>, options: OpenDatabaseOptions = {}): Promise<Database> {
  const { url, poolMax, dataDir } = config.database;
  if (url === undefined) {
    const dir = join(dataDir, 'pglite');
    options.logger?.info({ dir }, 'using embedded PGlite database');
    return PgliteDatabase.open(dir);
  }
  const db = new PgDatabase({
    connectionString: url,
    max: poolMax,
    applicationName: `sip-server:${config.cluster.instanceId}`.slice(0, 63),
    logger: options.logger,
  });
  try {
    await db.query('SELECT 1');
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  options.logger?.info({ poolMax }, 'connected to PostgreSQL');
  return db;
}

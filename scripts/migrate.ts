/**
 * Apply pending database migrations and exit: `npm run migrate`. Uses the same configuration as the
 * server (DATABASE_URL, or PGlite under DATA_DIR) and the same runner it uses at start-up, so running
 * it ahead of a deploy only shortens the first start.
 */
import { ConfigError, loadConfig } from '../src/config';
import { createLogger } from '../src/observability';
import { MigrationError, migrate, openDatabase } from '../src/store';

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, instanceId: config.cluster.instanceId });
  const db = await openDatabase(config, { logger });
  try {
    const report = await migrate(db, { logger });
    logger.info({ applied: report.applied, alreadyApplied: report.alreadyApplied }, report.applied.length > 0 ? 'migrations applied' : 'database is up to date');
    return 0;
  } catch (err) {
    if (err instanceof MigrationError) {
      logger.fatal({ code: err.code, version: err.version }, err.message);
      return 1;
    }
    throw err;
  } finally {
    await db.close();
    logger.flush();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`migration failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CodedError } from '../util';
import type { Logger } from '../observability';
import type { Database, Queryable } from './database';

/** One SQL file `migrations/NNN_name.sql`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /** sha256 of the SQL text; a changed, already-applied migration is refused. */
  readonly checksum: string;
}

export interface MigrationReport {
  /** Migrations this run applied, in order. */
  applied: { version: number; name: string }[];
  /** Migrations found already applied (by an earlier start or a concurrent instance). */
  alreadyApplied: number;
}

/** A migration could not be loaded or applied; start-up must stop. */
export class MigrationError extends CodedError {
  constructor(
    code: 'MIGRATION_FAILED' | 'MIGRATION_INVALID' | 'MIGRATION_CHANGED',
    message: string,
    readonly version?: number,
    readonly migrationName?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

const FILE_PATTERN = /^(\d{3,})_([A-Za-z0-9_-]+)\.sql$/;

function label(m: { version: number; name: string }): string {
  return `${String(m.version).padStart(3, '0')}_${m.name}`;
}

/**
 * The `migrations/` directory: the first ancestor of this file that has one. Works from `src/store`
 * (ts-jest), `dist/store` (npm start) and any other compiled layout, as long as `migrations/` ships
 * next to the code (the Dockerfile copies it).
 */
export function defaultMigrationsDir(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = join(dir, 'migrations');
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new MigrationError('MIGRATION_INVALID', `no migrations directory found above ${__dirname}`);
    dir = parent;
  }
}

/** Read `NNN_name.sql` files of `dir`, sorted by version. Other files are ignored; duplicate versions are an error. */
export function loadMigrations(dir: string = defaultMigrationsDir()): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir)) {
    const m = FILE_PATTERN.exec(file);
    if (!m) continue;
    const version = Number(m[1]);
    const name = m[2];
    const dup = out.find((x) => x.version === version);
    if (dup) throw new MigrationError('MIGRATION_INVALID', `migrations ${label(dup)} and ${file} share version ${version}`, version, name);
    const sql = readFileSync(join(dir, file), 'utf8');
    out.push({ version, name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return out.sort((a, b) => a.version - b.version);
}

// One lock per schema, so instances sharing a database serialise their migrations while test schemas
// in the same database do not wait for each other. Transaction-scoped: released by COMMIT/ROLLBACK,
// never leaked by a crashed instance.
const LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.schema_migrations'))";

const CREATE_TABLE_SQL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version     integer PRIMARY KEY,
  name        text NOT NULL,
  checksum    text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
)`;

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

async function appliedVersions(q: Queryable): Promise<Map<number, AppliedRow>> {
  const res = await q.query<AppliedRow>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
  return new Map(res.rows.map((r) => [Number(r.version), r]));
}

/**
 * Apply pending migrations in version order, each in its own transaction together with its
 * `schema_migrations` row, so a migration is either fully applied and recorded or not at all.
 * Concurrent instances take an advisory lock and re-check inside it, so none applies a migration twice.
 */
export async function runMigrations(db: Database, migrations: readonly Migration[], logger?: Logger): Promise<MigrationReport> {
  await db.transaction(async (tx) => {
    await tx.query(LOCK_SQL);
    await tx.exec(CREATE_TABLE_SQL);
  });

  const known = await appliedVersions(db);
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  for (const row of known.values()) {
    const m = byVersion.get(Number(row.version));
    if (!m) {
      // A newer release already migrated this database (rolling deploy or rollback); additive schema
      // changes keep this release working, so warn rather than refuse.
      logger?.warn({ version: row.version, name: row.name }, 'database has a migration this release does not know');
    } else if (m.checksum !== row.checksum) {
      throw new MigrationError(
        'MIGRATION_CHANGED',
        `migration ${label(m)} was edited after it was applied; add a new migration instead`,
        m.version,
        m.name,
      );
    }
  }

  const report: MigrationReport = { applied: [], alreadyApplied: 0 };
  for (const m of migrations) {
    if (known.has(m.version)) {
      report.alreadyApplied++;
      continue;
    }
    let applied: boolean;
    try {
      applied = await db.transaction(async (tx) => {
        await tx.query(LOCK_SQL);
        const done = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
        if (done.rowCount > 0) return false;
        await tx.exec(m.sql);
        await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
        return true;
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new MigrationError('MIGRATION_FAILED', `migration ${label(m)} failed: ${reason}`, m.version, m.name, { cause: err });
    }
    if (applied) {
      report.applied.push({ version: m.version, name: m.name });
      logger?.info({ version: m.version, name: m.name }, 'migration applied');
    } else {
      report.alreadyApplied++;
    }
  }
  return report;
}

/** Load the migrations of `dir` (default: the project's `migrations/`) and apply the pending ones. */
export function migrate(db: Database, options: { dir?: string; logger?: Logger } = {}): Promise<MigrationReport> {
  return runMigrations(db, loadMigrations(options.dir), options.logger);
}

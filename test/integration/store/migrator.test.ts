import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MigrationError, loadMigrations, migrate, runMigrations, type Migration } from '../../../src/store';
import { TEST_BACKENDS, createTestDatabase, type TestDatabase } from '../../helpers/db';

const EXPECTED_TABLES = [
  'blocked_numbers',
  'call_events',
  'calls',
  'instances',
  'ivr_menus',
  'numbers',
  'queue_entries',
  'queues',
  'recordings',
  'registrations',
  'schema_migrations',
  'sip_users',
  'sms_messages',
  'trunks',
];

function tempMigrations(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sip-migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

describe('loadMigrations', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('finds 001_init in the project migrations directory', () => {
    const migrations = loadMigrations();
    expect(migrations[0]).toMatchObject({ version: 1, name: 'init' });
    expect(migrations[0].checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('sorts by version and ignores other files', () => {
    const dir = tempMigrations({ '010_b.sql': 'SELECT 1;', '002_a.sql': 'SELECT 1;', 'README.md': 'x', '3_bad.sql': 'x' });
    dirs.push(dir);
    expect(loadMigrations(dir).map((m) => m.version)).toEqual([2, 10]);
  });

  it('rejects two files with the same version', () => {
    const dir = tempMigrations({ '002_a.sql': 'SELECT 1;', '002_b.sql': 'SELECT 2;' });
    dirs.push(dir);
    expect(() => loadMigrations(dir)).toThrow(MigrationError);
  });
});

describe.each(TEST_BACKENDS)('migrations on %s', (backend) => {
  let t: TestDatabase;
  const dirs: string[] = [];

  beforeAll(async () => {
    t = await createTestDatabase(backend, { migrate: false });
  }, 60_000);
  afterAll(async () => {
    await t?.destroy();
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  });

  it('applies 001_init once and records it', async () => {
    const first = await migrate(t.db);
    expect(first.applied[0]).toEqual({ version: 1, name: 'init' });

    const tables = await t.db.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name',
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(EXPECTED_TABLES));

    const recorded = await t.db.query<{ version: number; name: string; applied_at: Date }>('SELECT version, name, applied_at FROM schema_migrations');
    expect(recorded.rows).toHaveLength(first.applied.length);
    expect(recorded.rows[0]).toMatchObject({ version: 1, name: 'init' });
    // Realm-independent check: PGlite rows are cloned from a worker thread.
    expect(Object.prototype.toString.call(recorded.rows[0].applied_at)).toBe('[object Date]');
  });

  it('is idempotent: a second run applies nothing', async () => {
    const again = await migrate(t.db);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toBe(loadMigrations().length);
  });

  it('applies a later migration and reports a failing one without recording it', async () => {
    const base = loadMigrations();
    const good: Migration = { version: 900, name: 'add_probe', sql: 'CREATE TABLE probe (id integer PRIMARY KEY);', checksum: 'a'.repeat(64) };
    const bad: Migration = {
      version: 901,
      name: 'broken',
      sql: 'CREATE TABLE half_done (id integer); SELECT * FROM no_such_table;',
      checksum: 'b'.repeat(64),
    };
    const err = await runMigrations(t.db, [...base, good, bad]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as MigrationError).code).toBe('MIGRATION_FAILED');
    expect((err as MigrationError).version).toBe(901);
    expect((err as MigrationError).message).toContain('901_broken');
    expect((err as MigrationError).message).toContain('no_such_table');

    const versions = await t.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(versions.rows.map((r) => r.version)).toContain(900);
    expect(versions.rows.map((r) => r.version)).not.toContain(901);
    // The failed migration's transaction rolled back entirely: its first statement left nothing behind.
    const half = await t.db.query("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'half_done'");
    expect(half.rowCount).toBe(0);
  });

  it('refuses to start when an applied migration was edited', async () => {
    const edited = loadMigrations().map((m) => (m.version === 1 ? { ...m, checksum: 'c'.repeat(64) } : m));
    await expect(runMigrations(t.db, edited)).rejects.toMatchObject({ code: 'MIGRATION_CHANGED', version: 1 });
  });

  it('loads and applies files from a directory', async () => {
    const dir = tempMigrations({ '950_from_dir.sql': 'CREATE TABLE from_dir (x text);' });
    dirs.push(dir);
    // Only the directory's migration is known to this run; the others are reported, not refused.
    const report = await migrate(t.db, { dir });
    expect(report.applied).toEqual([{ version: 950, name: 'from_dir' }]);
    await expect(t.db.query('SELECT count(*) FROM from_dir')).resolves.toBeDefined();
  });
});

describe.each(TEST_BACKENDS)('concurrent migration on %s', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(backend, { migrate: false });
  }, 60_000);
  afterAll(async () => {
    await t?.destroy();
  });

  it('never applies a migration twice when instances start together', async () => {
    const other = backend === 'pg' ? t.openAnother() : t.db;
    const reports = await Promise.all([migrate(t.db), migrate(other), migrate(t.db)]);
    const total = loadMigrations().length;
    const appliedCount = reports.reduce((n, r) => n + r.applied.length, 0);
    expect(appliedCount).toBe(total);
    const rows = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
    expect(rows.rows[0].n).toBe(total);
  });
});

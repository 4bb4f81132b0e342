export { DatabaseError, isForeignKeyViolation, isUniqueViolation, sqlState, type Database, type DatabaseErrorFields, type DatabaseKind, type Queryable, type QueryResult, type SqlParam } from './database';
export { PgDatabase, type PgDatabaseOptions } from './pg-database';
export { PgliteDatabase } from './pglite-database';
export { openDatabase, type OpenDatabaseOptions } from './open-database';
export { MigrationError, defaultMigrationsDir, loadMigrations, migrate, runMigrations, type Migration, type MigrationReport } from './migrator';
export { InvalidCursorError } from './cursor';
export type { JsonObject, JsonValue } from './row-values';
export {
  CDR_STATUSES,
  CallRepository,
  type CallEnd,
  type CallListFilter,
  type CallPage,
  type CallRecord,
  type CallUpdate,
  type CdrDirection,
  type CdrFinalStatus,
  type CdrStatus,
  type HangupSide,
  type NewCall,
} from './call-repository';
export { CallEventRepository, type CallEvent } from './call-event-repository';
export { NUMBER_ROUTES, NumberRepository, type NumberRoute, type NumberSettings, type NumberSettingsPatch } from './number-repository';
export { BlockedNumberRepository, type BlockedNumber } from './blocked-number-repository';
export { InstanceRepository, type InstanceHeartbeat, type InstanceRecord, type InstanceStatus } from './instance-repository';
export { createRepositories, type Repositories } from './repositories';

export { DatabaseError, isForeignKeyViolation, isUniqueViolation, sqlState, type Database, type DatabaseErrorFields, type DatabaseKind, type PreparedQuery, type Queryable, type QueryResult, type SqlParam } from './database';
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
  type CallBatchEntry,
  type CallBatchEvent,
} from './call-repository';
export { CallEventRepository, type CallEvent } from './call-event-repository';
export {
  NUMBER_ROUTES,
  NumberRepository,
  notifyRoutingDataChange,
  onRoutingDataChange,
  type NumberRoute,
  type NumberSettings,
  type NumberSettingsPatch,
  type RoutingTable,
} from './number-repository';
export { BlockedNumberRepository, type BlockedNumber } from './blocked-number-repository';
export { InstanceRepository, type InstanceHeartbeat, type InstanceRecord, type InstanceStatus } from './instance-repository';
export { SecretCipher, SecretCipherError, DEVELOPMENT_SECRET_KEY } from './secret-cipher';
export { TRUNK_TRANSPORTS, TrunkRepository, type NewTrunk, type TrunkPatch, type TrunkRecord, type TrunkStatus, type TrunkTransport } from './trunk-repository';
export {
  SMS_STATUSES,
  SmsRepository,
  type InboundSmsPart,
  type NewInboundSms,
  type NewOutboundSms,
  type SmsAttemptResult,
  type SmsDirection,
  type SmsEncodingName,
  type SmsListFilter,
  type SmsPage,
  type SmsRecord,
  type SmsRecordStatus,
} from './sms-repository';
export { IvrMenuRepository, type IvrMenuRecord, type NewIvrMenu } from './ivr-menu-repository';
export {
  QueueRepository,
  type EnqueueOutcome,
  type NewQueue,
  type NewQueueEntry,
  type QueueEntryRecord,
  type QueueEntryStatus,
  type QueuePosition,
  type QueueRecord,
  type QueueStrategyName,
} from './queue-repository';
export { RegistrationRepository, type BindingWrite, type RegistrationBinding } from './registration-repository';
export { SipUserRepository, type NewSipUser, type SipUserHa1Hash, type SipUserPatch, type SipUserRecord } from './sip-user-repository';
export { createRepositories, type Repositories, type RepositoryOptions } from './repositories';
export {
  RecordingRepository,
  type NewRecording,
  type RecordingCompletion,
  type RecordingLayout,
  type RecordingListFilter,
  type RecordingPage,
  type RecordingRecord,
  type RecordingSource,
  type RecordingStatus,
} from './recording-repository';

/** The database layer's public API, for the composition root, the CLI, the API routes and tests. */
export type { Database, ListenOptions, Queryable, QueryResult } from './database.js';
export { SSL_MODES, type SslMode, type PostgresOptions, type DbLogger } from './pg-options.js';
export type { PgliteOptions } from './pglite.js';
export { pgliteLockPath, readPgliteLock, type PgliteLockInfo } from './pglite-lock.js';
export {
  openDatabase,
  openPostgres,
  openPglite,
  openPgliteMemory,
  embeddedDataDir,
  usesServer,
  type OpenDatabaseInput,
  type DatabaseSectionInput,
} from './open.js';
export { migrate, readMigrations, defaultMigrationsDir, MIGRATION_LOCK_KEY, type MigrateResult } from './migrate.js';
export { sqlState, isDbUnavailable } from './db-errors.js';
export * from './queries/devices.js';
export * from './queries/repositories.js';
export * from './queries/jobs.js';
export * from './queries/schedules.js';
export * from './queries/settings.js';
export * from './queries/runs.js';
export * from './queries/job-health.js';
export {
  loadDeviceConfig,
  loadDeviceConfigVersioned,
  getConfigVersion,
  checkIn,
  settingsRepository,
  type CheckIn,
  type HeartbeatFacts,
  CONFIG_CHANNEL,
  type LoadOptions,
} from './device-config-query.js';

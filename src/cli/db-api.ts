/**
 * The database functions the CLI commands use: src/db/index.ts without the driver modules, which
 * openDatabase loads itself (only the configured one: a command on PostgreSQL never loads PGlite).
 */
export { openDatabase } from '../db/open.js';
export { migrate } from '../db/migrate.js';
export * from '../db/queries/devices.js';
export * from '../db/queries/repositories.js';
export * from '../db/queries/jobs.js';
export * from '../db/queries/schedules.js';
export * from '../db/queries/settings.js';
export * from '../db/queries/runs.js';
export { loadDeviceConfig } from '../db/device-config-query.js';
export * from '../db/queries/notifications.js';

/**
 * What the agent says about itself: devices.metadata (at registration and in every check-in's
 * heartbeat) and the start banner in the log.
 */
import os from 'node:os';
import { formatVersion, type ResticVersion } from '../restic/version.js';
import type { DeviceConfig } from '../config/device-config.js';
import type { LocalConfig } from '../config/local-config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../logging.js';
import { AGENT_VERSION } from '../version.js';

/** devices.metadata of this agent: agent and restic versions, OS, architecture. */
export function deviceMetadata(restic: { version: ResticVersion } | null): Record<string, unknown> {
  return {
    agent_version: AGENT_VERSION,
    restic_version: restic ? formatVersion(restic.version) : null,
    os: `${os.type()} ${os.release()}`,
    arch: process.arch,
  };
}

/** The one `rbackup2 agent started` line: version, device, database, restic, jobs, key settings. */
export function logBanner(
  logger: Logger,
  local: LocalConfig,
  db: Database,
  config: DeviceConfig | null,
  restic: { path: string; version: ResticVersion } | null,
): void {
  logger.info(
    {
      version: AGENT_VERSION,
      device: local.device.id,
      database: db.kind === 'pglite' ? `embedded (${local.dataDir})` : 'postgresql',
      restic: restic ? `${formatVersion(restic.version)} (${restic.path})` : 'missing',
      jobs: config?.jobs.filter((j) => j.enabled).map((j) => j.name) ?? [],
      invalidJobs: config?.invalidJobs.map((j) => `${j.name}: ${j.reason}`) ?? [],
      settings: config
        ? {
            sync_interval_seconds: config.settings.sync_interval_seconds,
            max_concurrent_backups: config.settings.max_concurrent_backups,
          }
        : null,
    },
    'rbackup2 agent started',
  );
}

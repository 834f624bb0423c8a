/**
 * The log of a long-running command (`run`, `dashboard`): client.log_file (rolled at
 * log_max_bytes, log_keep_files kept) and stderr. A log file that cannot be written is a config
 * error naming the file.
 */
import type { AdminLocalConfig } from '../config/local-config.js';
import { AppError } from '../errors.js';
import type { LoggerHandle } from '../logging.js';

export async function openLogFile(local: Pick<AdminLocalConfig, 'client' | 'logFile'>): Promise<LoggerHandle> {
  const { createLogger } = await import('../logging.js');
  try {
    return await createLogger({
      level: local.client.log_level,
      file: local.logFile,
      maxBytes: local.client.log_max_bytes,
      keepFiles: local.client.log_keep_files,
      stderr: true,
    });
  } catch (err) {
    throw new AppError(
      'CONFIG_INVALID',
      `client.log_file ${local.logFile} cannot be written: ${(err as Error).message}`,
    );
  }
}

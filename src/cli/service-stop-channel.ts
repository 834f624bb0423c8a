/**
 * The service stop channel of a long-running command (`run`, `dashboard`), opened from the CLI:
 * the token comes from the config or the data folder, and a channel that cannot listen is a
 * warning, not a failure (the process then stops on signals only).
 */
import type { LocalConfig } from '../config/local-config.js';

/**
 * Listen for `rbackup2 service stop-agent` / `stop-dashboard` (src/service/stop-channel.ts); the
 * token is the process's API token (data_dir/api-token or client.api_token). Resolves with the
 * channel's close function, or null (warning logged) when the channel cannot listen: the process
 * then stops on signals only. Await it before exiting even after a stop: a stop can come before the
 * channel listens, and a listening socket would keep the process alive.
 */
export async function openServiceStopChannel(
  local: Pick<LocalConfig, 'dataDir' | 'client'>,
  service: 'agent' | 'dashboard',
  onStop: () => void,
  logger: { warn(obj: object, msg: string): void },
): Promise<(() => Promise<void>) | null> {
  try {
    const { readApiTokenForCli } = await import('../api/auth/token-file.js');
    const { listenForStop, stopChannelPath } = await import('../service/stop-channel.js');
    const token = readApiTokenForCli(local.dataDir, local.client.api_token);
    if (token === null) throw new Error(`no API token in ${local.dataDir}`);
    return await listenForStop(stopChannelPath(local.dataDir, process.platform, service), token, onStop);
  } catch (err) {
    logger.warn({ err: String(err) }, 'service stop channel not available');
    return null;
  }
}

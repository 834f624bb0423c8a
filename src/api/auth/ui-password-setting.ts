/**
 * Where the agent finds the UI password hash: the setting `ui_password_hash` (a device value
 * overrides the global one, CONTRACTS §3), read from the database at each login attempt so a
 * password set with `rbackup2 ui-password` works at once; while the database is down, the value of
 * the last loaded config.
 */
import type { Database } from '../../db/database.js';
import { getEffectiveSettings } from '../../db/index.js';

export const UI_PASSWORD_KEY = 'ui_password_hash';

/** The effective hash, or null when none is set (empty = none). */
export async function uiPasswordHash(
  db: Database,
  deviceId: string,
  cached: () => Record<string, string>,
): Promise<string | null> {
  let value: string | undefined;
  try {
    value = (await getEffectiveSettings(db, deviceId))[UI_PASSWORD_KEY];
  } catch {
    value = cached()[UI_PASSWORD_KEY];
  }
  return value && value.length > 0 ? value : null;
}

/**
 * `settings` rows (CONTRACTS §3): a global value per key (device_id NULL) and optional
 * per-device overrides. Effective value = device's, else global, else the built-in default.
 */
import { DEFAULT_SETTINGS } from '../../config/device-config.js';
import type { Queryable } from '../database.js';
import { toIso, toStr } from '../rows.js';

export interface SettingRow {
  id: number;
  /** null = global. */
  deviceId: string | null;
  key: string;
  value: string;
  description: string | null;
  updatedAt: string;
}

/** Map a `settings` row. */
export function mapSetting(r: Record<string, unknown>): SettingRow {
  return {
    id: Number(r.id), deviceId: toStr(r.device_id), key: String(r.key), value: String(r.value ?? ''),
    description: toStr(r.description), updatedAt: toIso(r.updated_at) ?? '',
  };
}

/** A settings row used as the fleet-wide "last pruned" marker of run retention; not a user setting. */
export const RETENTION_MARKER_KEY = 'retention_last_run';

/**
 * Effective settings of a device (or only global ones when deviceId is null): DEFAULT_SETTINGS,
 * overridden by global rows, overridden by the device's rows.
 */
export async function getEffectiveSettings(db: Queryable, deviceId: string | null): Promise<Record<string, string>> {
  const { rows } = await db.query<{ device_id: string | null; key: string; value: string }>(
    'SELECT device_id, key, value FROM settings WHERE device_id IS NULL OR device_id = $1 ORDER BY (device_id IS NOT NULL), key',
    [deviceId],
  );
  const out: Record<string, string> = { ...DEFAULT_SETTINGS };
  for (const r of rows) if (r.key !== RETENTION_MARKER_KEY) out[r.key] = r.value ?? '';
  return out;
}

/** Setting rows: global only (deviceId null), or global + one device's, or all (undefined). */
export async function listSettings(db: Queryable, deviceId?: string | null): Promise<SettingRow[]> {
  const { rows } = deviceId === undefined
    ? await db.query('SELECT * FROM settings ORDER BY device_id NULLS FIRST, key')
    : await db.query('SELECT * FROM settings WHERE device_id IS NULL OR device_id = $1 ORDER BY device_id NULLS FIRST, key', [deviceId]);
  return rows.map(mapSetting);
}

/**
 * Set a global (deviceId null) or device value, inserting or updating the one row of that
 * (device, key). The description is kept when not given.
 */
export async function setSetting(db: Queryable, s: { deviceId: string | null; key: string; value: string; description?: string | undefined }): Promise<SettingRow> {
  const sql = s.deviceId === null
    ? `INSERT INTO settings (device_id, key, value, description) VALUES (NULL, $1, $2, $3)
       ON CONFLICT (key) WHERE device_id IS NULL
       DO UPDATE SET value = EXCLUDED.value, description = COALESCE(EXCLUDED.description, settings.description) RETURNING *`
    : `INSERT INTO settings (device_id, key, value, description) VALUES ($4, $1, $2, $3)
       ON CONFLICT (device_id, key) WHERE device_id IS NOT NULL
       DO UPDATE SET value = EXCLUDED.value, description = COALESCE(EXCLUDED.description, settings.description) RETURNING *`;
  const params = s.deviceId === null ? [s.key, s.value, s.description ?? null] : [s.key, s.value, s.description ?? null, s.deviceId];
  const { rows } = await db.query(sql, params);
  return mapSetting(rows[0] as Record<string, unknown>);
}

/** Delete a global or device value (a device override removed falls back to the global one). */
export async function removeSetting(db: Queryable, deviceId: string | null, key: string): Promise<boolean> {
  const { rowCount } = deviceId === null
    ? await db.query('DELETE FROM settings WHERE device_id IS NULL AND key = $1', [key])
    : await db.query('DELETE FROM settings WHERE device_id = $1 AND key = $2', [deviceId, key]);
  return rowCount > 0;
}

/**
 * `settings` rows (CONTRACTS §3): a global value per key (device_id NULL) and optional
 * per-device overrides. Effective value = device's, else global, else the built-in default.
 */
import { DEFAULT_SETTINGS } from '../../config/device-config.js';
import type { Queryable } from '../database.js';
import { toIso, toNumber, toStr } from '../rows.js';

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
    id: Number(r.id),
    deviceId: toStr(r.device_id),
    key: String(r.key),
    value: String(r.value ?? ''),
    description: toStr(r.description),
    updatedAt: toIso(r.updated_at) ?? '',
  };
}

/** A settings row used as the fleet-wide "last pruned" marker of run retention; not a user setting. */
export const RUN_HISTORY_CLEANUP_MARKER_KEY = 'retention_last_run';

/**
 * Effective settings of a device (or only global ones when deviceId is null): DEFAULT_SETTINGS,
 * overridden by global rows, overridden by the device's rows.
 */
export async function getEffectiveSettings(db: Queryable, deviceId: string | null): Promise<Record<string, string>> {
  const { rows } = await db.query<SettingValueRow>(
    'SELECT device_id, key, value FROM settings WHERE device_id IS NULL OR device_id = $1 ORDER BY (device_id IS NOT NULL), key',
    [deviceId],
  );
  return effectiveSettings(rows);
}

/** One settings row as the effective-settings reads select it. */
export interface SettingValueRow {
  device_id: string | null;
  key: string;
  value: string | null;
}

/**
 * The effective settings from the global and one device's rows, ordered global first (device
 * values override): the defaults, then each row's value; the cleanup marker is not a setting.
 */
export function effectiveSettings(rows: readonly SettingValueRow[]): Record<string, string> {
  const out: Record<string, string> = { ...DEFAULT_SETTINGS };
  for (const r of rows) if (r.key !== RUN_HISTORY_CLEANUP_MARKER_KEY) out[r.key] = r.value ?? '';
  return out;
}

/** Setting rows: global only (deviceId null), or global + one device's, or all (undefined). */
export async function listSettings(db: Queryable, deviceId?: string | null): Promise<SettingRow[]> {
  const { rows } =
    deviceId === undefined
      ? await db.query('SELECT * FROM settings ORDER BY device_id NULLS FIRST, key')
      : await db.query(
          'SELECT * FROM settings WHERE device_id IS NULL OR device_id = $1 ORDER BY device_id NULLS FIRST, key',
          [deviceId],
        );
  return rows.map(mapSetting);
}

/**
 * Set a global (deviceId null) or device value, inserting or updating the one row of that
 * (device, key). The description is kept when not given.
 */
export async function setSetting(
  db: Queryable,
  s: { deviceId: string | null; key: string; value: string; description?: string | undefined },
): Promise<SettingRow> {
  const sql =
    s.deviceId === null
      ? `INSERT INTO settings (device_id, key, value, description) VALUES (NULL, $1, $2, $3)
       ON CONFLICT (key) WHERE device_id IS NULL
       DO UPDATE SET value = EXCLUDED.value, description = COALESCE(EXCLUDED.description, settings.description) RETURNING *`
      : `INSERT INTO settings (device_id, key, value, description) VALUES ($4, $1, $2, $3)
       ON CONFLICT (device_id, key) WHERE device_id IS NOT NULL
       DO UPDATE SET value = EXCLUDED.value, description = COALESCE(EXCLUDED.description, settings.description) RETURNING *`;
  const params =
    s.deviceId === null ? [s.key, s.value, s.description ?? null] : [s.key, s.value, s.description ?? null, s.deviceId];
  const { rows } = await db.query(sql, params);
  return mapSetting(rows[0] as Record<string, unknown>);
}

/** Delete a global or device value (a device override removed falls back to the global one). */
export async function removeSetting(db: Queryable, deviceId: string | null, key: string): Promise<boolean> {
  const { rowCount } =
    deviceId === null
      ? await db.query('DELETE FROM settings WHERE device_id IS NULL AND key = $1', [key])
      : await db.query('DELETE FROM settings WHERE device_id = $1 AND key = $2', [deviceId, key]);
  return rowCount > 0;
}

/** `repository_url` of `deviceId` (its own row wins) or else the global one; null when neither row exists. */
export async function repositoryUrlSetting(db: Queryable, deviceId: string): Promise<string | null> {
  const { rows } = await db.query(
    "SELECT device_id, value FROM settings WHERE key = 'repository_url' AND (device_id IS NULL OR device_id = $1)",
    [deviceId],
  );
  const own = rows.find((s) => s.device_id !== null) ?? rows.find((s) => s.device_id === null);
  return own ? toStr(own.value) : null;
}

/** Is there a global settings row `key`? */
export async function hasGlobalSetting(db: Queryable, key: string): Promise<boolean> {
  const { rows } = await db.query('SELECT id FROM settings WHERE device_id IS NULL AND key = $1', [key]);
  return rows.length > 0;
}

/**
 * Create the run-history cleanup marker row (global, empty value, updated_at -infinity = never
 * cleaned up) unless it exists. Throws the database error (42501 for a role that may not insert).
 */
export async function insertCleanupMarker(db: Queryable): Promise<void> {
  await db.query(
    `INSERT INTO settings (device_id, key, value, description, updated_at)
     VALUES (NULL, $1, '', 'Maintained by the agents: updated_at is when old run history was last deleted', '-infinity')
     ON CONFLICT (key) WHERE device_id IS NULL DO NOTHING`,
    [RUN_HISTORY_CLEANUP_MARKER_KEY],
  );
}

/** The cleanup marker row and whether `periodSeconds` have passed since its updated_at (database clock); null when missing. */
export async function cleanupMarkerDue(
  db: Queryable,
  periodSeconds: number,
): Promise<{ id: number; due: boolean } | null> {
  const { rows } = await db.query(
    'SELECT id, updated_at <= now() - make_interval(secs => $2) AS due FROM settings WHERE device_id IS NULL AND key = $1',
    [RUN_HISTORY_CLEANUP_MARKER_KEY, periodSeconds],
  );
  const r = rows[0];
  return r ? { id: toNumber(r.id) ?? 0, due: r.due === true } : null;
}

/** Set updated_at of settings row `id` to now() (the config-change trigger ignores updated_at alone). */
export async function touchSetting(db: Queryable, id: number): Promise<void> {
  await db.query('UPDATE settings SET updated_at = now() WHERE id = $1', [id]);
}

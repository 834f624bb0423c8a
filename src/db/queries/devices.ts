/**
 * `devices` rows (CONTRACTS §3): registration at agent start, heartbeat, admin list/remove.
 */
import type { Queryable } from '../database.js';
import { toIso, toObject, toStr, type WriteOutcome } from '../rows.js';

export interface Device {
  id: string;
  name: string;
  description: string | null;
  platform: string | null;
  hostname: string | null;
  /** ISO 8601 or null. */
  lastSeen: string | null;
  createdAt: string;
  updatedAt: string;
  enabled: boolean;
  metadata: Record<string, unknown>;
}

/** Map a `devices` row. */
export function mapDevice(r: Record<string, unknown>): Device {
  return {
    id: String(r.id),
    name: String(r.name),
    description: toStr(r.description),
    platform: toStr(r.platform),
    hostname: toStr(r.hostname),
    lastSeen: toIso(r.last_seen),
    createdAt: toIso(r.created_at) ?? '',
    updatedAt: toIso(r.updated_at) ?? '',
    enabled: r.enabled === true,
    metadata: toObject(r.metadata),
  };
}

export interface UpsertDeviceInput {
  id: string;
  /** Display name; when omitted a new device is named by its id and an existing one keeps its name. */
  name?: string | undefined;
  description?: string | undefined;
  platform?: string | undefined;
  hostname?: string | undefined;
  /** Merged into the stored metadata (top-level keys replaced). */
  metadata?: Record<string, unknown> | undefined;
}

/**
 * Register the device or refresh it: sets last_seen = now() (database clock), platform, hostname;
 * name/description only when given. Returns the stored row.
 */
export async function upsertDevice(db: Queryable, d: UpsertDeviceInput): Promise<Device> {
  const { rows } = await db.query(
    `INSERT INTO devices (id, name, description, platform, hostname, last_seen, metadata)
     VALUES ($1::varchar, COALESCE($2::varchar, $1::varchar), $3::text, $4::varchar, $5::varchar, now(), COALESCE($6::jsonb, '{}'::jsonb))
     ON CONFLICT (id) DO UPDATE SET
       name = COALESCE($2::varchar, devices.name),
       description = COALESCE($3::text, devices.description),
       platform = COALESCE($4::varchar, devices.platform),
       hostname = COALESCE($5::varchar, devices.hostname),
       last_seen = now(),
       metadata = devices.metadata || COALESCE($6::jsonb, '{}'::jsonb)
     RETURNING *`,
    [
      d.id,
      d.name ?? null,
      d.description ?? null,
      d.platform ?? null,
      d.hostname ?? null,
      d.metadata ? JSON.stringify(d.metadata) : null,
    ],
  );
  return mapDevice(rows[0] as Record<string, unknown>);
}

/** All devices, by id. */
export async function listDevices(db: Queryable): Promise<Device[]> {
  const { rows } = await db.query('SELECT * FROM devices ORDER BY id');
  return rows.map(mapDevice);
}

/** One device by id, or null. */
export async function getDevice(db: Queryable, id: string): Promise<Device | null> {
  const { rows } = await db.query('SELECT * FROM devices WHERE id = $1', [id]);
  return rows[0] ? mapDevice(rows[0]) : null;
}

/**
 * Delete a device with its jobs, schedules, hooks and device settings (cascade); its run history
 * stays. Returns false when there was no such device.
 */
export async function removeDevice(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM devices WHERE id = $1', [id]);
  return rowCount > 0;
}

/** Set last_seen = now() (database clock). Returns false when the device row does not exist. */
export async function heartbeat(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE devices SET last_seen = now() WHERE id = $1', [id]);
  return rowCount > 0;
}

/**
 * The Relica import's device row (src/relica/apply.ts): created with `metadata.relica` when
 * missing; otherwise only `metadata.relica` is replaced, and only when it differs (name, enabled
 * and the rest stay as the admin set them).
 */
export async function upsertImportedDevice(
  db: Queryable,
  d: { id: string; name: string; platform: string | null; relica: unknown },
): Promise<WriteOutcome> {
  const relica = JSON.stringify(d.relica);
  const ins = await db.query(
    `INSERT INTO devices (id, name, platform, enabled, metadata, created_at, updated_at)
     VALUES ($1, $2, $3, true, jsonb_build_object('relica', $4::jsonb), now(), now())
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [d.id, d.name, d.platform, relica],
  );
  if (ins.rows.length > 0) return 'created';
  const upd = await db.query(
    `UPDATE devices SET metadata = coalesce(metadata, '{}'::jsonb) || jsonb_build_object('relica', $2::jsonb), updated_at = now()
     WHERE id = $1 AND (metadata->'relica') IS DISTINCT FROM $2::jsonb RETURNING id`,
    [d.id, relica],
  );
  return upd.rows.length > 0 ? 'updated' : 'unchanged';
}

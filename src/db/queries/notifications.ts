/**
 * Notification channels, the outbox, deliveries and leases (migration 012, issue 19). Only the
 * admin's connection reads channels; a device role writes its own outbox rows and reads leases.
 */
import type { Queryable } from '../database.js';
import { toIso } from '../rows.js';

export interface ChannelRow {
  id: number;
  deviceId: string | null;
  name: string;
  kind: string;
  /** Raw config with secrets: never answer or log it (src/notify/channel-config.ts redactConfig). */
  config: Record<string, unknown>;
  events: string[];
  enabled: boolean;
}

function mapChannel(r: Record<string, unknown>): ChannelRow {
  return {
    id: Number(r.id),
    deviceId: r.device_id == null ? null : String(r.device_id),
    name: String(r.name),
    kind: String(r.kind),
    config: (r.config ?? {}) as Record<string, unknown>,
    events: (r.events ?? []) as string[],
    enabled: Boolean(r.enabled),
  };
}

/** Add a channel; returns it. A duplicate name is a unique violation (DB_QUERY 23505). */
export async function insertChannel(db: Queryable, c: Omit<ChannelRow, 'id'>): Promise<ChannelRow> {
  const { rows } = await db.query(
    `INSERT INTO notification_channels (device_id, name, kind, config, events, enabled)
     VALUES ($1, $2, $3, $4::jsonb, $5::text[], $6) RETURNING *`,
    [c.deviceId, c.name, c.kind, JSON.stringify(c.config), c.events, c.enabled],
  );
  return mapChannel(rows[0]!);
}

/** Every channel, by name. */
export async function listChannels(db: Queryable): Promise<ChannelRow[]> {
  const { rows } = await db.query('SELECT * FROM notification_channels ORDER BY name');
  return rows.map(mapChannel);
}

/** The channel named `nameOrId` (a name, or its numeric id), or null. */
export async function findChannel(db: Queryable, nameOrId: string): Promise<ChannelRow | null> {
  const { rows } = await db.query(
    `SELECT * FROM notification_channels WHERE name = $1 OR ($1 ~ '^[0-9]{1,9}$' AND id = $1::int) LIMIT 1`,
    [nameOrId],
  );
  return rows[0] ? mapChannel(rows[0]) : null;
}

/** Remove a channel (its pending deliveries go with it); false when there was none. */
export async function removeChannel(db: Queryable, id: number): Promise<boolean> {
  return (await db.query('DELETE FROM notification_channels WHERE id = $1', [id])).rowCount > 0;
}

/** Write one notification to the outbox; a second write of the same id is ignored. True when new. */
export async function enqueueNotification(
  db: Queryable,
  n: { id: string; event: string; deviceId: string; jobId: string | null; payload: object },
): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO notification_outbox (id, event, device_id, job_id, payload) VALUES ($1, $2, $3, $4, $5::jsonb)
     ON CONFLICT (id) DO NOTHING`,
    [n.id, n.event, n.deviceId, n.jobId, JSON.stringify(n.payload)],
  );
  return r.rowCount > 0;
}

/**
 * Route new outbox rows (one statement: a row is routed exactly when its deliveries rows are made)
 * to every enabled channel of their device and event; then mark done every routed row with nothing
 * left to deliver (including rows no channel wanted). Returns the number of rows routed.
 */
export async function routeOutbox(db: Queryable, limit = 500): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `WITH r AS (
       UPDATE notification_outbox SET routed_at = now()
        WHERE id IN (SELECT id FROM notification_outbox WHERE routed_at IS NULL ORDER BY created_at, seq LIMIT $1)
        RETURNING id, device_id, event),
     d AS (
       INSERT INTO notification_deliveries (outbox_id, channel_id)
       SELECT r.id, c.id FROM r JOIN notification_channels c
         ON c.enabled AND (c.device_id IS NULL OR c.device_id = r.device_id) AND r.event = ANY (c.events)
       ON CONFLICT DO NOTHING RETURNING 1)
     SELECT (SELECT count(*) FROM r) AS n, (SELECT count(*) FROM d) AS d`,
    [limit],
  );
  await db.query(
    `UPDATE notification_outbox o SET done_at = now()
      WHERE o.done_at IS NULL AND o.routed_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM notification_deliveries d
                         WHERE d.outbox_id = o.id AND d.delivered_at IS NULL AND d.gave_up_at IS NULL)`,
  );
  return Number(rows[0]?.n ?? 0);
}

export interface DueDelivery {
  outboxId: string;
  channel: ChannelRow;
  attempts: number;
  payload: Record<string, unknown>;
}

/**
 * Deliveries due now (not delivered, not given up, next attempt reached), oldest first (outbox
 * `created_at`, then the order written: migration 013), at most `limit`.
 */
export async function dueDeliveries(db: Queryable, limit: number): Promise<DueDelivery[]> {
  const { rows } = await db.query(
    `SELECT d.outbox_id, d.attempts, o.payload, c.*
       FROM notification_deliveries d
       JOIN notification_outbox o ON o.id = d.outbox_id
       JOIN notification_channels c ON c.id = d.channel_id
      WHERE d.delivered_at IS NULL AND d.gave_up_at IS NULL AND d.next_attempt_at <= now() AND c.enabled
      ORDER BY o.created_at, o.seq, c.id LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    outboxId: String(r.outbox_id),
    attempts: Number(r.attempts),
    payload: r.payload as Record<string, unknown>,
    channel: mapChannel(r),
  }));
}

/** Record a delivery's outcome: delivered, or failed with the next attempt after `retryInSeconds` (null = give up). */
export async function recordDelivery(
  db: Queryable,
  outboxId: string,
  channelId: number,
  outcome: { ok: true } | { ok: false; error: string; retryInSeconds: number | null },
): Promise<void> {
  if (outcome.ok) {
    await db.query(
      'UPDATE notification_deliveries SET delivered_at = now(), attempts = attempts + 1, last_error = NULL WHERE outbox_id = $1 AND channel_id = $2',
      [outboxId, channelId],
    );
    return;
  }
  await db.query(
    `UPDATE notification_deliveries SET attempts = attempts + 1, last_error = $3,
            next_attempt_at = now() + make_interval(secs => coalesce($4::int, 0)),
            gave_up_at = CASE WHEN $4::int IS NULL THEN now() END
      WHERE outbox_id = $1 AND channel_id = $2`,
    [outboxId, channelId, outcome.error.slice(0, 500), outcome.retryInSeconds],
  );
}

/** Push back a due delivery without counting an attempt (the channel's rate limit). */
export async function deferDelivery(
  db: Queryable,
  outboxId: string,
  channelId: number,
  seconds: number,
): Promise<void> {
  await db.query(
    'UPDATE notification_deliveries SET next_attempt_at = now() + make_interval(secs => $3::int) WHERE outbox_id = $1 AND channel_id = $2',
    [outboxId, channelId, seconds],
  );
}

/** Delete finished outbox rows older than `days` (bounded storage). Returns how many. */
export async function purgeOutbox(db: Queryable, days: number): Promise<number> {
  const r = await db.query(
    `DELETE FROM notification_outbox WHERE done_at IS NOT NULL AND done_at < now() - make_interval(days => $1::int)`,
    [days],
  );
  return r.rowCount;
}

/** Outbox counts: pending (not done) rows, and of those the oldest's creation time. */
export async function outboxBacklog(
  db: Queryable,
  deviceId: string | null,
): Promise<{ pending: number; oldest: string | null }> {
  const { rows } = await db.query(
    `SELECT count(*) AS n, min(created_at) AS oldest FROM notification_outbox
      WHERE done_at IS NULL AND ($1::varchar IS NULL OR device_id = $1)`,
    [deviceId],
  );
  return { pending: Number(rows[0]?.n ?? 0), oldest: toIso(rows[0]?.oldest) };
}

/**
 * Take or renew lease `name` for `owner` for `ttlSeconds` (issue 19 point 4: a row with an expiry,
 * not a session advisory lock). True when `owner` holds it now; false when another holder's lease
 * has not expired.
 */
export async function acquireLease(db: Queryable, name: string, owner: string, ttlSeconds: number): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO leases (name, owner, expires_at, renewed_at) VALUES ($1, $2, now() + make_interval(secs => $3::int), now())
     ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at, renewed_at = now()
      WHERE leases.owner = EXCLUDED.owner OR leases.expires_at < now()
     RETURNING owner`,
    [name, owner, ttlSeconds],
  );
  return rows.length === 1;
}

/** Give up lease `name` if `owner` holds it (it expires now). */
export async function releaseLease(db: Queryable, name: string, owner: string): Promise<void> {
  await db.query('UPDATE leases SET expires_at = now() WHERE name = $1 AND owner = $2', [name, owner]);
}

/** Lease `name`: its holder, expiry and the seconds since it expired (negative while valid), or null. */
export async function leaseState(
  db: Queryable,
  name: string,
): Promise<{ owner: string; expiresAt: string; expiredForSeconds: number } | null> {
  const { rows } = await db.query(
    `SELECT owner, expires_at, extract(epoch FROM now() - expires_at)::float8 AS expired FROM leases WHERE name = $1`,
    [name],
  );
  const r = rows[0];
  return r
    ? { owner: String(r.owner), expiresAt: toIso(r.expires_at) ?? '', expiredForSeconds: Number(r.expired) }
    : null;
}

/**
 * The outcome (`success`, `partial`, `failed`) of the job's last finished backup before run
 * `exceptRunId` (null = the last one), or null when it has none. Cancelled/interrupted runs skipped.
 */
export async function previousOutcome(
  db: Queryable,
  jobId: string,
  exceptRunId: number | null,
): Promise<string | null> {
  const { rows } = await db.query<{ status: string }>(
    `SELECT status FROM runs WHERE job_id = $1 AND status IN ('success', 'partial', 'failed')
        AND ($2::int IS NULL OR id <> $2) AND end_time IS NOT NULL
      ORDER BY end_time DESC, id DESC LIMIT 1`,
    [jobId, exceptRunId],
  );
  return rows[0]?.status ?? null;
}

/** An enabled schedule of a job as the fleet queries read it (watcher, dashboard): the columns the stale rule needs. */
export interface ScheduleRow {
  id: number;
  type: 'cron' | 'interval';
  cron_expression: string | null;
  interval_seconds: number | null;
  timezone: string | null;
}

export interface WatchedJob {
  jobId: string;
  jobName: string;
  deviceId: string;
  deviceName: string;
  createdAt: string;
  /** End of the last success or partial run, or null. */
  lastSuccess: string | null;
  /** Effective `stale_after_seconds` / `missed_run_grace_seconds` (device, else global), raw text or null. */
  staleAfter: string | null;
  grace: string | null;
  schedules: ScheduleRow[];
}

const effectiveSetting = (key: string, device: string) =>
  `coalesce((SELECT value FROM settings s WHERE s.key = '${key}' AND s.device_id = ${device}),
            (SELECT value FROM settings s WHERE s.key = '${key}' AND s.device_id IS NULL))`;

/** Enabled jobs with at least one enabled schedule (of `deviceId`, or the whole fleet when null). */
export async function watchedJobs(db: Queryable, deviceId: string | null): Promise<WatchedJob[]> {
  const { rows } = await db.query(
    `SELECT j.id, j.name, j.device_id, coalesce(d.name, d.id) AS device_name, j.created_at,
            (SELECT max(r.end_time) FROM runs r WHERE r.job_id = j.id AND r.status IN ('success', 'partial')) AS last_success,
            ${effectiveSetting('stale_after_seconds', 'j.device_id')} AS stale_after,
            ${effectiveSetting('missed_run_grace_seconds', 'j.device_id')} AS grace,
            (SELECT json_agg(json_build_object('id', s.id, 'type', s.schedule_type, 'cron_expression', s.cron_expression,
                     'interval_seconds', s.interval_seconds, 'timezone', s.timezone))
               FROM schedules s WHERE s.job_id = j.id AND s.enabled) AS schedules
       FROM backup_jobs j JOIN devices d ON d.id = j.device_id
      WHERE j.enabled AND coalesce(d.enabled, true) AND ($1::varchar IS NULL OR j.device_id = $1)
        AND EXISTS (SELECT 1 FROM schedules s WHERE s.job_id = j.id AND s.enabled)
      ORDER BY j.id`,
    [deviceId],
  );
  return rows.map((r) => ({
    jobId: String(r.job_id ?? r.id),
    jobName: String(r.name),
    deviceId: String(r.device_id),
    deviceName: String(r.device_name),
    createdAt: toIso(r.created_at) ?? '',
    lastSuccess: toIso(r.last_success),
    staleAfter: r.stale_after == null ? null : String(r.stale_after),
    grace: r.grace == null ? null : String(r.grace),
    schedules: (r.schedules ?? []) as WatchedJob['schedules'],
  }));
}

/**
 * Enabled devices whose `last_seen` is older than their effective `silent_after_seconds`
 * (device, else global, else `defaultSeconds`); devices never seen are not silent (never started).
 */
export async function silentDevices(
  db: Queryable,
  defaultSeconds: number,
): Promise<{ deviceId: string; deviceName: string; lastSeen: string; silentAfter: number }[]> {
  const { rows } = await db.query(
    `SELECT id, coalesce(name, id) AS name, last_seen, sa FROM (
       SELECT d.*, CASE WHEN ${effectiveSetting('silent_after_seconds', 'd.id')} ~ '^[0-9]{1,9}$'
                        THEN ${effectiveSetting('silent_after_seconds', 'd.id')}::int ELSE $1::int END AS sa
         FROM devices d WHERE coalesce(d.enabled, true) AND d.last_seen IS NOT NULL) x
      WHERE last_seen < now() - make_interval(secs => sa)
      ORDER BY id`,
    [defaultSeconds],
  );
  return rows.map((r) => ({
    deviceId: String(r.id),
    deviceName: String(r.name),
    lastSeen: toIso(r.last_seen) ?? '',
    silentAfter: Number(r.sa),
  }));
}

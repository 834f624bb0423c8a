/**
 * The known-fields model of a Relica client state file (cache_version 3, Relica client 1.0.5),
 * written from the real file in test/fixtures/relica/relica-state.sample.json. Every key that
 * file holds is listed here: fields the import uses have a strict type; fields it reads but does
 * not need are `z.unknown()` (their type never blocks an import). Any key NOT listed is reported
 * as an unknown field (see unknown-fields.ts), never dropped silently.
 * Opaque subtrees (their inner keys are not checked): `read_only.peers[*]` (empty in the sample;
 * peers are reported as not carried over as a whole).
 */
import * as z from 'zod';

const ignored = z.unknown().optional();
const uuid = z.guid();
/** Go's RFC 3339 timestamps, e.g. `2025-12-15T03:01:07.580094317Z` (nanoseconds, zone). */
const timestamp = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/, {
  message: 'expected an RFC 3339 timestamp like 2025-12-15T03:01:07Z',
});

/** `backup.schedule`: times are local "HH:MM"; days_of_week 0 = Sunday (Go time.Weekday). */
export const relicaScheduleSchema = z.object({
  days_of_month: z.array(z.int().min(1).max(31)),
  days_of_week: z.array(z.int().min(0).max(6)),
  flexible: z.boolean(),
  months_of_year: z.array(z.int().min(1).max(12)),
  scheduled: z.boolean(),
  times_of_day: z.array(
    z.string().regex(/^([01]?\d|2[0-3]):[0-5]\d$/, { message: 'expected a time "HH:MM" (00:00-23:59)' }),
  ),
});

export const relicaHookSchema = z.object({
  backup_id: ignored,
  command: z.string().min(1),
  description: z.string().optional(),
  id: ignored,
  on_error: z.enum(['stop', 'continue']),
  timing: z.enum(['start', 'end']),
});

export const relicaBackupSchema = z.object({
  account_id: uuid.optional(),
  created: ignored,
  destinations: z.array(uuid).optional(),
  exclude: z.array(z.string()).optional(),
  hooks: z.array(relicaHookSchema).optional(),
  id: uuid,
  include: z.array(z.string()),
  name: z.string().min(1),
  origin_id: uuid,
  schedule: relicaScheduleSchema,
});

export const relicaOriginSchema = z.object({
  account_id: uuid.optional(),
  auto_port_forward: ignored,
  created: ignored,
  id: uuid,
  key: ignored,
  last_connected: ignored,
  last_ip: ignored,
  name: z.string(),
  peer_port: ignored,
});

export const relicaCredentialSchema = z.object({
  cloud_account_id: ignored,
  id: ignored,
  key: z.string(),
  value: z.unknown().optional(),
});

export const relicaDestinationSchema = z.object({
  account_id: ignored,
  backups_v3: z
    .array(
      z.object({
        backup_id: uuid,
        destination_id: ignored,
        in_progress: timestamp.nullable().optional(),
      }),
    )
    .optional(),
  cloud_account: z
    .object({
      account_id: ignored,
      created: ignored,
      credentials: z.array(relicaCredentialSchema).optional(),
      enabled: ignored,
      id: ignored,
      note: ignored,
      preference: ignored,
      provider_name: z.string().optional(),
      remote_base_path: z.string().optional(),
      remote_type: z.string().optional(),
    })
    .nullable()
    .optional(),
  cloud_account_id: ignored,
  created: ignored,
  id: uuid,
  last_check: ignored,
  last_prune: ignored,
  name: z.string(),
  provisioned: ignored,
  retention_days: z.number().optional(),
  type: z.string().optional(),
});

export const relicaStateSchema = z.object({
  cache_header: z.object({ cache_version: z.number().optional(), save_time: ignored }).optional(),
  local: z
    .object({
      /** backup id -> destination id -> time of the last successful backup. */
      last_backups_done: z.record(uuid, z.record(uuid, timestamp)).optional(),
      last_software_update_check: ignored,
      pause: ignored,
      recent_tasks: z
        .array(
          z.object({
            backup_id: ignored,
            begin: ignored,
            destination_id: ignored,
            end: ignored,
            error_message: ignored,
            id: ignored,
            status: ignored,
            task: ignored,
          }),
        )
        .optional(),
      runtime: z
        .object({ arch: ignored, os: z.string().optional(), path_separator: ignored, version: ignored })
        .optional(),
    })
    .optional(),
  read_only: z.object({
    account: z
      .object({
        activated: ignored,
        api_key: ignored,
        billing_customer_id: ignored,
        billing_payment_source_id: ignored,
        confirmed: ignored,
        created: ignored,
        email: ignored,
        id: ignored,
        membership_subs_id: ignored,
        membership_subs_level: ignored,
        metadata_encryption_key: ignored,
        name: ignored,
        num_cloud_escrow: ignored,
        password: ignored,
      })
      .optional(),
    account_status: z.object({ good_standing: ignored }).optional(),
    backups: z.array(relicaBackupSchema),
    destinations: z.array(relicaDestinationSchema).optional(),
    last_update_attempt: ignored,
    last_updated: ignored,
    origins: z.array(relicaOriginSchema),
    /** Opaque: peer-to-peer destinations are not carried over; only their number is reported. */
    peers: z.array(z.unknown()).optional(),
    self: relicaOriginSchema.optional(),
  }),
});

export type RelicaState = z.infer<typeof relicaStateSchema>;
export type RelicaBackup = z.infer<typeof relicaBackupSchema>;
export type RelicaSchedule = z.infer<typeof relicaScheduleSchema>;
export type RelicaHook = z.infer<typeof relicaHookSchema>;
export type RelicaOrigin = z.infer<typeof relicaOriginSchema>;
export type RelicaDestination = z.infer<typeof relicaDestinationSchema>;

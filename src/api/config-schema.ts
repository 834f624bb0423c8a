/**
 * The body of `POST /config` (doc/api.md "POST /config"): create, update and delete this device's
 * jobs, schedules and hooks, and set or clear its device settings. Validated here (shape, ranges,
 * cron syntax, time zones) before the agent checks it against the database and applies it in one
 * transaction; the agent reuses these schemas. Secrets come back from GET /config as REDACTED and
 * sending REDACTED back means "keep the stored value" (the agent implements the keeping).
 */
import * as z from 'zod';
import type { FieldError } from '../errors.js';
import { MAX_INTERVAL_SECONDS, validateCron, validateTimeZone } from '../scheduler/next-run.js';
import { retentionSchema } from '../maintenance/retention-policy.js';

/** What GET /config shows instead of a secret; sent back, it keeps the stored secret. */
export const REDACTED = '********';

/** Job ids are UUIDs (Relica keeps its backup UUIDs as job ids, CONTRACTS §6). */
export const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const nonEmpty = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const uuid = z.string().regex(UUID_RE, 'must be a UUID');
const serialId = z.number().int().min(1).max(2_147_483_647);

export const scheduleInputSchema = z
  .strictObject({
    /** Present: update that schedule (it must belong to the job); absent: create one. */
    id: serialId.optional(),
    schedule_type: z.enum(['cron', 'interval']),
    cron_expression: text(200).nullable().optional(),
    interval_seconds: z
      .number()
      .int()
      .min(60, 'must be at least 60 seconds')
      .max(MAX_INTERVAL_SECONDS)
      .nullable()
      .optional(),
    /** IANA zone; null or absent = the device's local zone. */
    timezone: text(64).nullable().optional(),
    catch_up: z.boolean().default(true),
    enabled: z.boolean().default(true),
  })
  .superRefine((s, ctx) => {
    const zone = s.timezone ?? 'UTC';
    if (s.timezone != null) {
      const problem = validateTimeZone(s.timezone);
      if (problem) ctx.addIssue({ code: 'custom', path: ['timezone'], message: problem });
    }
    if (s.schedule_type === 'cron') {
      if (s.cron_expression == null || s.cron_expression.trim() === '') {
        ctx.addIssue({ code: 'custom', path: ['cron_expression'], message: 'required for a cron schedule' });
      } else if (s.timezone == null || !validateTimeZone(zone)) {
        const problem = validateCron(s.cron_expression, zone);
        if (problem) ctx.addIssue({ code: 'custom', path: ['cron_expression'], message: problem });
      }
    } else if (s.interval_seconds == null) {
      ctx.addIssue({ code: 'custom', path: ['interval_seconds'], message: 'required for an interval schedule' });
    }
  });

export const hookInputSchema = z.strictObject({
  id: serialId.optional(),
  command: nonEmpty(4096),
  timing: z.enum(['start', 'end']),
  on_error: z.enum(['stop', 'continue']).default('continue'),
  enabled: z.boolean().default(true),
});

const pathList = z.array(nonEmpty(4096)).max(1000, 'at most 1000 entries');

export const jobInputSchema = z
  .strictObject({
    /** Present: update that job of this device (only the given fields change); absent: create. */
    id: uuid.optional(),
    name: nonEmpty(255).optional(),
    description: text(2000).nullable().optional(),
    source_paths: pathList.min(1, 'at least one source path').optional(),
    exclude_patterns: pathList.optional(),
    /** restic splits --tag values on commas, so a tag must not contain one (CONTRACTS §4). */
    tags: z
      .array(nonEmpty(255).refine((t) => !t.includes(','), 'must not contain a comma'))
      .max(100)
      .optional(),
    restic_args: z.array(text(4096)).max(100).optional(),
    repository_id: uuid.nullable().optional(),
    enabled: z.boolean().optional(),
    /** Retention policy (issue 18): restic keep options; null = keep everything. */
    retention: retentionSchema.nullable().optional(),
    /** Upserted by `id`; schedules of the job not listed stay as they are. */
    schedules: z.array(scheduleInputSchema).max(50).optional(),
    hooks: z.array(hookInputSchema).max(50).optional(),
  })
  .superRefine((j, ctx) => {
    if (j.id !== undefined) return;
    if (j.name === undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: 'required for a new job' });
    if (j.source_paths === undefined)
      ctx.addIssue({ code: 'custom', path: ['source_paths'], message: 'required for a new job' });
  });

export const configChangeSchema = z.strictObject({
  jobs: z.array(jobInputSchema).max(200).optional(),
  delete_jobs: z.array(uuid).max(200).optional(),
  delete_schedules: z.array(serialId).max(500).optional(),
  delete_hooks: z.array(serialId).max(500).optional(),
  /** Device-specific settings: a string sets this device's value, null removes the override. */
  settings: z
    .record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'setting names are lower_snake_case'), text(4096).nullable())
    .refine((r) => Object.keys(r).length <= 100, 'at most 100 settings')
    .optional(),
});

export type ScheduleInput = z.infer<typeof scheduleInputSchema>;
export type HookInput = z.infer<typeof hookInputSchema>;
export type JobInput = z.infer<typeof jobInputSchema>;
/** The validated body of POST /config, as passed to AgentPort.postConfig. */
export type ConfigChange = z.infer<typeof configChangeSchema>;

/** Formats a zod path as the dotted/bracketed field name of FieldError: `jobs[0].schedules[1].id`. */
export function fieldPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(body)' : out;
}

/** Every zod issue as a FieldError (unknown keys are named one by one). */
export function zodFieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({ field: fieldPath([...issue.path, key], prefix), message: 'unknown field' });
    } else {
      out.push({ field: fieldPath(issue.path, prefix), message: issue.message });
    }
  }
  return out;
}

/**
 * Validates a POST /config body. Returns the parsed change (defaults filled) or every field error.
 * Pure; the agent checks references (job/schedule ids of this device) against the database.
 */
export function parseConfigChange(
  body: unknown,
): { ok: true; change: ConfigChange } | { ok: false; errors: FieldError[] } {
  const r = configChangeSchema.safeParse(body);
  if (r.success) return { ok: true, change: r.data };
  return { ok: false, errors: zodFieldErrors(r.error) };
}

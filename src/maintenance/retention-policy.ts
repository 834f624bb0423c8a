/**
 * A job's retention policy (`backup_jobs.retention`, CONTRACTS §8; issue 18): restic's keep options
 * as a JSON object. NULL = keep everything. Keys and meaning follow `restic forget` (restic doc
 * 060_forget.rst): `keep_last` N newest, `keep_hourly`/`daily`/`weekly`/`monthly`/`yearly` the
 * newest of each of the last N such periods, `keep_within` every snapshot within that duration of
 * the newest one (`1y5m7d2h`). Pure.
 */
import * as z from 'zod';
import type { KeepPolicy } from '../restic/forget.js';

/** The stored shape; at least one rule keeps something (an empty policy would remove everything). */
export interface RetentionPolicy {
  keep_last?: number;
  keep_hourly?: number;
  keep_daily?: number;
  keep_weekly?: number;
  keep_monthly?: number;
  keep_yearly?: number;
  keep_within?: string;
}

export const RETENTION_COUNT_KEYS = [
  'keep_last',
  'keep_hourly',
  'keep_daily',
  'keep_weekly',
  'keep_monthly',
  'keep_yearly',
] as const;

/** restic's duration syntax (`--keep-within`): numbers with y, m, d, h units, at least one. */
export const DURATION_RE = /^(?:\d+[ymdh])+$/;

const count = z.number().int().min(0).max(1_000_000);
export const retentionSchema = z
  .strictObject({
    keep_last: count.optional(),
    keep_hourly: count.optional(),
    keep_daily: count.optional(),
    keep_weekly: count.optional(),
    keep_monthly: count.optional(),
    keep_yearly: count.optional(),
    keep_within: z
      .string()
      .regex(DURATION_RE, 'must be a duration such as 30d or 1y6m (units y, m, d, h)')
      .refine((s) => /[1-9]/.test(s), 'must be longer than zero')
      .optional(),
  })
  .refine((p) => p.keep_within !== undefined || RETENTION_COUNT_KEYS.some((k) => (p[k] ?? 0) > 0), {
    message: 'keeps nothing: set at least one keep_* above 0 or keep_within (use null to keep everything)',
  });

/**
 * Check `value` as a retention policy: null/undefined = keep everything. Returns the policy or a
 * problem sentence naming the field (`keep_last must be ...`); never throws.
 */
export function parseRetention(
  value: unknown,
): { ok: true; policy: RetentionPolicy | null } | { ok: false; problem: string } {
  if (value === null || value === undefined) return { ok: true, policy: null };
  const r = retentionSchema.safeParse(value);
  if (r.success) {
    const policy: RetentionPolicy = {};
    for (const [k, v] of Object.entries(r.data)) if (v !== undefined) (policy as Record<string, unknown>)[k] = v;
    return { ok: true, policy };
  }
  const problem = r.error.issues
    .map((i) => {
      const at = i.path.length ? i.path.join('.') : 'retention';
      return i.code === 'unrecognized_keys' ? `unknown key ${i.keys.join(', ')}` : `${at}: ${i.message}`;
    })
    .join('; ');
  return { ok: false, problem };
}

/** The text form used by the CLI and settings: JSON, or `none`/empty = keep everything. */
export function parseRetentionText(text: string): ReturnType<typeof parseRetention> {
  const t = text.trim();
  if (t === '' || t === 'none' || t === 'null') return { ok: true, policy: null };
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch {
    return { ok: false, problem: `retention is not JSON: "${t.slice(0, 60)}"` };
  }
  return parseRetention(value);
}

/** The policy as restic's keep options (src/restic/forget.ts). */
export function keepPolicyOf(p: RetentionPolicy): KeepPolicy {
  const k: KeepPolicy = {};
  if (p.keep_last !== undefined) k.last = p.keep_last;
  if (p.keep_hourly !== undefined) k.hourly = p.keep_hourly;
  if (p.keep_daily !== undefined) k.daily = p.keep_daily;
  if (p.keep_weekly !== undefined) k.weekly = p.keep_weekly;
  if (p.keep_monthly !== undefined) k.monthly = p.keep_monthly;
  if (p.keep_yearly !== undefined) k.yearly = p.keep_yearly;
  if (p.keep_within !== undefined) k.within = p.keep_within;
  return k;
}

/** restic's keep options back as a stored policy (keep tags have no place in a policy and are dropped). */
export function retentionOfKeep(k: KeepPolicy): RetentionPolicy {
  const p: RetentionPolicy = {};
  if (k.last !== undefined) p.keep_last = k.last;
  if (k.hourly !== undefined) p.keep_hourly = k.hourly;
  if (k.daily !== undefined) p.keep_daily = k.daily;
  if (k.weekly !== undefined) p.keep_weekly = k.weekly;
  if (k.monthly !== undefined) p.keep_monthly = k.monthly;
  if (k.yearly !== undefined) p.keep_yearly = k.yearly;
  if (k.within !== undefined) p.keep_within = k.within;
  return p;
}

/** One line for people: `keep_last 2, keep_within 30d`. */
export function describeRetention(p: RetentionPolicy | null): string {
  if (!p) return 'keep everything';
  return Object.entries(p)
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');
}

/** Relica's `retention_days` of a destination (state file): > 0 becomes keep_within "<n>d"; 0 keeps everything. */
export function retentionFromRelicaDays(days: number | undefined): RetentionPolicy | null {
  if (days === undefined || !Number.isInteger(days) || days <= 0) return null;
  return { keep_within: `${days}d` };
}

/**
 * The maintenance settings of issue 18 and the per-repository columns of the same names
 * (`prune_schedule`, `check_schedule`, `check_read_data_subset`): checks and the effective value
 * for one repository. Pure.
 */
import { validateCron } from '../scheduler/next-run.js';
import { parseRetentionText } from './retention-policy.js';

/** A schedule value that turns the operation off. */
export const OFF = 'off';

/**
 * `restic check --read-data-subset` (restic doc 045_working_with_repos.rst "Checking integrity"):
 * `n/t` (a part of t), `x%` (a percentage, 0 < x <= 100) or a size such as `250M`.
 */
const SUBSET_RE = /^(?:\d+\/\d+|\d+(?:\.\d+)?%|\d+[KMGT])$/;

/** Why `value` is not a usable read-data subset, or null (empty = read no data). */
export function readDataSubsetProblem(value: string): string | null {
  const v = value.trim();
  if (v === '') return null;
  if (!SUBSET_RE.test(v)) return `check_read_data_subset "${v.slice(0, 40)}" must be like 5%, 1/10 or 500M`;
  if (v.endsWith('%')) {
    const n = Number(v.slice(0, -1));
    if (!(n > 0 && n <= 100)) return `check_read_data_subset "${v}" must be a percentage above 0 and at most 100`;
  }
  if (v.includes('/')) {
    const [n, t] = v.split('/').map(Number) as [number, number];
    if (!(t > 0 && n >= 1 && n <= t)) return `check_read_data_subset "${v}" must be n/t with 1 <= n <= t`;
  }
  return null;
}

/** Why a maintenance schedule value (cron or 'off') is unusable, or null. */
export function maintenanceScheduleProblem(key: string, value: string, zone = 'UTC'): string | null {
  const v = value.trim();
  if (v === OFF) return null;
  if (v === '') return `${key} is empty (use a cron expression or "off")`;
  const p = validateCron(v, zone);
  return p ? `${key}: ${p}` : null;
}

/**
 * The problem of a maintenance setting's value (`retention`, `prune_schedule`, `check_schedule`,
 * `check_read_data_subset`), or null; other keys are not checked here.
 */
export function maintenanceSettingProblem(key: string, value: string): string | null {
  switch (key) {
    case 'retention': {
      const r = parseRetentionText(value);
      return r.ok ? null : `setting retention: ${r.problem}`;
    }
    case 'prune_schedule':
    case 'check_schedule':
      return maintenanceScheduleProblem(key, value);
    case 'check_read_data_subset':
      return readDataSubsetProblem(value);
    default:
      return null;
  }
}

/** A repository's effective maintenance plan: its own column, else the setting. */
export interface MaintenancePlan {
  /** Cron expression, or null = off. */
  prune: string | null;
  check: string | null;
  readDataSubset: string | null;
}

/** The effective plan of a repository with these columns (null = the setting). */
export function maintenancePlan(
  repo: { pruneSchedule?: string | null; checkSchedule?: string | null; checkReadDataSubset?: string | null },
  settings: Readonly<Record<string, string>>,
): MaintenancePlan {
  const pick = (own: string | null | undefined, key: string): string | null => {
    const v = (own ?? settings[key] ?? '').trim();
    return v === '' || v === OFF ? null : v;
  };
  return {
    prune: pick(repo.pruneSchedule, 'prune_schedule'),
    check: pick(repo.checkSchedule, 'check_schedule'),
    readDataSubset: pick(repo.checkReadDataSubset, 'check_read_data_subset'),
  };
}

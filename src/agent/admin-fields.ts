/**
 * Admin-only fields of POST /config (issue 15, CONTRACTS §8, C36). Whatever makes the agent's user
 * run a program or read or write a file it chooses belongs to the admin: a job's hooks and
 * `restic_args`, and the repository settings (`repository_*`: where backups go, its cache folder;
 * a `repositories` row's password_command, env and cache_dir are not in POST /config at all). The
 * local API refuses to add, change or delete them (403 naming the field) unless the database setting
 * `allow_local_command_changes` is `true`. The settings that guard the guard
 * (`allow_local_command_changes`, `ui_password_hash`, `restore_roots`) are never set locally.
 * Sending a field back unchanged (as a full job edit does) is no change.
 */
import { REDACTED, type ConfigChange, type HookInput } from '../api/config-schema.js';
import type { Queryable } from '../db/database.js';
import { getEffectiveSettings, listDeviceHooks, listJobs } from '../db/index.js';
import { AppError, type FieldError } from '../errors.js';

export const ALLOW_SETTING = 'allow_local_command_changes';
/** Settings the local API never writes, whatever allow_local_command_changes says. */
export const NEVER_LOCAL_SETTINGS: ReadonlySet<string> = new Set([ALLOW_SETTING, 'ui_password_hash', 'restore_roots']);
const isCommandSetting = (key: string): boolean => key.startsWith('repository_');

/** What the device's jobs hold now: job id (lower case) -> restic_args and hooks by id. */
export interface StoredCommands {
  jobs: Map<
    string,
    {
      resticArgs: string[];
      hooks: Map<number, { command: string; timing: string; on_error: string; enabled: boolean }>;
    }
  >;
}

const sameHook = (
  h: HookInput,
  s: { command: string; timing: string; on_error: string; enabled: boolean } | undefined,
): boolean =>
  s !== undefined &&
  s.command === h.command &&
  s.timing === h.timing &&
  s.on_error === h.on_error &&
  s.enabled === h.enabled;

/**
 * Every admin-only field `change` adds, changes or deletes (empty = none). Pure.
 * `allowCommands` = the effective setting allow_local_command_changes is `true`.
 */
export function adminOnlyViolations(
  change: ConfigChange,
  stored: StoredCommands,
  allowCommands: boolean,
): FieldError[] {
  const out: FieldError[] = [];
  const why = `admin-only: it makes the agent run a program or use a file it chooses; the admin can allow local changes with the setting ${ALLOW_SETTING}`;
  for (const [key, value] of Object.entries(change.settings ?? {})) {
    if (value === REDACTED) continue; // sent back as shown: keeps the stored value
    if (NEVER_LOCAL_SETTINGS.has(key))
      out.push({
        field: `settings.${key}`,
        message: 'admin-only: set by the admin in the database, never through the local API',
      });
    else if (isCommandSetting(key) && !allowCommands) out.push({ field: `settings.${key}`, message: why });
  }
  if (allowCommands) return out;
  (change.delete_hooks ?? []).forEach((_, i) => out.push({ field: `delete_hooks[${i}]`, message: why }));
  (change.jobs ?? []).forEach((j, i) => {
    const current = j.id === undefined ? undefined : stored.jobs.get(j.id.toLowerCase());
    if (j.restic_args !== undefined && JSON.stringify(j.restic_args) !== JSON.stringify(current?.resticArgs ?? [])) {
      out.push({ field: `jobs[${i}].restic_args`, message: why });
    }
    (j.hooks ?? []).forEach((h, k) => {
      if (h.id === undefined || !sameHook(h, current?.hooks.get(h.id)))
        out.push({ field: `jobs[${i}].hooks[${k}]`, message: why });
    });
  });
  return out;
}

/** Loads restic_args and hooks of `deviceId`'s jobs and the effective allow setting. Throws DB errors. */
export async function loadStoredCommands(
  tx: Queryable,
  deviceId: string,
): Promise<{ stored: StoredCommands; allowCommands: boolean }> {
  const stored: StoredCommands = { jobs: new Map() };
  for (const j of await listJobs(tx, { deviceId }))
    stored.jobs.set(j.id.toLowerCase(), {
      resticArgs: Array.isArray(j.resticArgs) ? j.resticArgs.map(String) : [],
      hooks: new Map(),
    });
  for (const h of await listDeviceHooks(tx, deviceId)) {
    stored.jobs.get(h.jobId.toLowerCase())?.hooks.set(h.id, {
      command: h.command,
      timing: h.timing,
      on_error: h.onError,
      enabled: h.enabled,
    });
  }
  const settings = await getEffectiveSettings(tx, deviceId);
  return { stored, allowCommands: settings[ALLOW_SETTING]?.trim().toLowerCase() === 'true' };
}

/** The 403 for `violations` (non-empty): FORBIDDEN naming the first field, all of them in `fields`. */
export function adminOnlyRefusal(violations: FieldError[]): AppError {
  const first = violations[0] as FieldError;
  return new AppError(
    'FORBIDDEN',
    `${first.field} is admin-only and cannot be changed through the local API${violations.length > 1 ? ` (and ${violations.length - 1} more)` : ''}`,
    { fields: violations },
  );
}

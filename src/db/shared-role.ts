/**
 * The warning about a shared database role (issue 15): an agent that connects to PostgreSQL as a
 * role that is not a per-device role (migration 006 `device_roles`), e.g. the shared
 * `backup_client`, can read every device's jobs and repository passwords. It still works (older
 * fleets, servers before 15); the agent says so once at start.
 */
import type { Queryable } from './database.js';

/**
 * The warning text, or null when the connection is a per-device role or the embedded database.
 * Errors of the check itself (a schema before 006) are no warning: returns null.
 */
export async function sharedRoleWarning(db: Queryable & { kind: string }): Promise<string | null> {
  if (db.kind !== 'postgres') return null;
  try {
    const { rows } = await db.query<{ role: string; device: string | null }>(
      "SELECT current_user AS role, CASE WHEN to_regproc('rbackup2_role_device') IS NULL THEN NULL ELSE rbackup2_role_device(current_user) END AS device",
    );
    const r = rows[0];
    if (!r || r.device !== null) return null;
    return `database role ${r.role} is not a per-device role: this agent (and every device sharing the role) can read the other devices' jobs and repository passwords; give each device its own role with "rbackup2 device login <device id>" (doc/deployment.md)`;
  } catch {
    return null;
  }
}

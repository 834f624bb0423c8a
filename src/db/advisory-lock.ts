/**
 * PostgreSQL advisory locks (PGlite has them too) that coordinate agents sharing one database.
 */
import type { Queryable } from './database.js';

/**
 * Try to take the transaction-scoped advisory lock `key` (released at COMMIT/ROLLBACK); call it
 * inside a transaction. True when taken, false when another session holds it (never waits).
 */
export async function tryAdvisoryXactLock(tx: Queryable, key: number): Promise<boolean> {
  const { rows } = await tx.query('SELECT pg_try_advisory_xact_lock($1) AS ok', [key]);
  return rows[0]?.ok === true;
}

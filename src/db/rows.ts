/**
 * Converting database values to plain data, the same for pg and PGlite: pg returns BIGINT and
 * COUNT(*) as strings, PGlite as number (or BigInt beyond 2^53); both return TIMESTAMPTZ as Date.
 */

/** A BIGINT/INTEGER/NUMERIC value as a number (null stays null). Beyond 2^53 precision is lost, never the value's magnitude. */
export function toNumber(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** Like toNumber, with 0 for null. */
export function toCount(v: unknown): number {
  return toNumber(v) ?? 0;
}

/** A TIMESTAMPTZ as an ISO 8601 string (null stays null). */
export function toIso(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  const d = new Date(String(v));
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString();
}

/** A TEXT[] as string[] (null -> []). */
export function toStringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => String(x)) : [];
}

/** A JSONB object column as a plain object (anything else -> {}). */
export function toObject(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A nullable text column. */
export function toStr(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** A JSON value as a JSONB parameter (always a JSON text, so arrays are not sent as PG arrays). */
export function jsonParam(v: unknown): string {
  return JSON.stringify(v ?? null);
}

/** Is `s` shaped like a UUID (8-4-4-4-12 hex)? */
export function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}

/** What an idempotent upsert did to one row (INSERT ... ON CONFLICT DO UPDATE ... WHERE IS DISTINCT FROM). */
export type WriteOutcome = 'created' | 'updated' | 'unchanged';

/** The outcome of an upsert `RETURNING (xmax = 0) AS inserted`: no row = unchanged. */
export function upsertOutcome(rows: Array<{ inserted?: unknown }>): WriteOutcome {
  return rows.length === 0 ? 'unchanged' : rows[0]?.inserted ? 'created' : 'updated';
}

/**
 * `RBACKUP2_<SECTION>_<KEY>` environment overrides of the local config (CONTRACTS §2), e.g.
 * `RBACKUP2_DATABASE_URL` or `RBACKUP2_CLIENT_HTTP_BIND`. Values arrive as strings and are
 * converted to the type the schema expects for that key; an unknown section or key is an error.
 */
import * as z from 'zod';
import { localConfigSchema } from './local-schema.js';
import type { FieldError } from '../errors.js';

const PREFIX = 'RBACKUP2_';
/** Variables with our prefix that are not config overrides. */
const NOT_OVERRIDES: ReadonlySet<string> = new Set(['RBACKUP2_CONFIG']);

type Raw = Record<string, unknown>;

/** The zod type at the bottom of optional/default wrappers, to learn the kind of a leaf. */
function leafKind(schema: z.ZodType): string {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
    else return s.def.type;
  }
}

function sectionShape(section: string): Record<string, z.ZodType> | null {
  const field = (localConfigSchema.shape as Record<string, z.ZodType>)[section];
  if (!field) return null;
  let s: z.ZodType = field;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
  return s instanceof z.ZodObject ? (s.shape as Record<string, z.ZodType>) : null;
}

function convert(kind: string, value: string): unknown {
  if (kind === 'number') return value.trim() === '' ? Number.NaN : Number(value);
  if (kind === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(value)) return true;
    if (/^(false|0|no|off)$/i.test(value)) return false;
    return value; // let the schema name the bad value
  }
  return value;
}

/**
 * Apply every `RBACKUP2_*` variable of `env` onto `raw` (the parsed YAML object, not yet
 * validated). Returns the merged object and one FieldError per unknown variable.
 */
export function applyEnvOverrides(raw: Raw, env: NodeJS.ProcessEnv): { merged: Raw; errors: FieldError[] } {
  const merged: Raw = { ...raw };
  const errors: FieldError[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(PREFIX) || value === undefined || NOT_OVERRIDES.has(name)) continue;
    const rest = name.slice(PREFIX.length).toLowerCase();
    const cut = rest.indexOf('_');
    const section = cut > 0 ? rest.slice(0, cut) : rest;
    const key = cut > 0 ? rest.slice(cut + 1) : '';
    const shape = sectionShape(section);
    const leaf = shape?.[key];
    if (!shape || !leaf) {
      errors.push({
        field: name,
        message: 'unknown environment override (expected RBACKUP2_<SECTION>_<KEY> of a config field)',
      });
      continue;
    }
    const current = merged[section];
    const sectionObj: Raw = current && typeof current === 'object' ? { ...(current as Raw) } : {};
    sectionObj[key] = convert(leafKind(leaf), value);
    merged[section] = sectionObj;
  }
  return { merged, errors };
}

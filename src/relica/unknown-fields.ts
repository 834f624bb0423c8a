/**
 * Lists the keys of a parsed JSON document that a zod object model does not know, so the Relica
 * import can report them instead of dropping them silently (zod itself strips them).
 */
import * as z from 'zod';
import { formatJsonPath, type PathSegment } from './json-path.js';

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
  return s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Paths (formatJsonPath style, e.g. `read_only.backups[3].foo`) of every object key in `value`
 * that `schema` does not declare, in document order. Walks z.object / z.array / z.record (through
 * optional and nullable); any other schema (z.unknown, scalars) is a leaf whose inside is not
 * checked. At most `limit` paths are returned, then one `... and N more`.
 */
export function findUnknownFields(schema: z.ZodType, value: unknown, limit = 200): string[] {
  const found: string[] = [];
  let extra = 0;
  const walk = (s: z.ZodType, v: unknown, path: PathSegment[]): void => {
    const inner = unwrap(s);
    if (inner instanceof z.ZodObject && isPlainObject(v)) {
      const shape = inner.shape as Record<string, z.ZodType>;
      for (const [key, child] of Object.entries(v)) {
        const childSchema = Object.hasOwn(shape, key) ? shape[key] : undefined;
        if (childSchema === undefined) {
          if (found.length < limit) found.push(formatJsonPath([...path, key]));
          else extra++;
        } else walk(childSchema, child, [...path, key]);
      }
    } else if (inner instanceof z.ZodArray && Array.isArray(v)) {
      v.forEach((item, i) => walk(inner.element as z.ZodType, item, [...path, i]));
    } else if (inner instanceof z.ZodRecord && isPlainObject(v)) {
      for (const [key, child] of Object.entries(v)) walk(inner.valueType as z.ZodType, child, [...path, key]);
    }
  };
  walk(schema, value, []);
  if (extra > 0) found.push(`... and ${extra} more`);
  return found;
}

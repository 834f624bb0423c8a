/**
 * Reading a Relica client state file: JSON syntax, then the known-fields model (state-schema.ts),
 * then the list of fields the model does not know. Errors are AppError RELICA_INVALID with one
 * line `<file>: <json.path>: <problem>`; `fields` lists every problem found.
 */
import { readFile, stat } from 'node:fs/promises';
import { AppError, errorMessage, type FieldError } from '../errors.js';
import { formatJsonPath, locateJsonSyntaxError, type PathSegment } from './json-path.js';
import { relicaStateSchema, type RelicaState } from './state-schema.js';
import { findUnknownFields } from './unknown-fields.js';

/** A validated state file. */
export interface LoadedRelicaState {
  /** The file name as given (used in messages). */
  file: string;
  state: RelicaState;
  /** Paths of fields this importer does not know, e.g. `read_only.backups[3].foo`. */
  unknownFields: string[];
}

/** Largest state file accepted (bytes); real ones are tens of kilobytes. */
export const MAX_STATE_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Parse and validate the text of a Relica state file. `file` names it in messages. Pure.
 * Throws AppError RELICA_INVALID naming the JSON path (and line:column for syntax errors).
 */
export function parseRelicaState(text: string, file: string): LoadedRelicaState {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a BOM from Windows editors
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    // JSON.parse's own message quotes the file's text, which may hold credentials: not shown.
    const at = locateJsonSyntaxError(body);
    const where =
      at === null
        ? '$: not valid JSON'
        : `${at.path}: not valid JSON: ${at.problem} (line ${at.line}, column ${at.column})`;
    throw new AppError('RELICA_INVALID', `${file}: ${where}`, { cause: err });
  }
  const result = relicaStateSchema.safeParse(json);
  if (!result.success) {
    const fields: FieldError[] = result.error.issues.map((issue) => {
      const path = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol');
      const keys = issue.code === 'invalid_key' ? ' (a key of this map)' : '';
      return { field: formatJsonPath(path), message: `${issue.message}${keys}` };
    });
    const first = fields[0] as FieldError;
    const more = fields.length > 1 ? ` (and ${fields.length - 1} more problem${fields.length > 2 ? 's' : ''})` : '';
    throw new AppError('RELICA_INVALID', `${file}: ${first.field}: ${first.message}${more}`, { fields });
  }
  return { file, state: result.data, unknownFields: findUnknownFields(relicaStateSchema, json) };
}

/**
 * Read and validate a Relica state file from disk (UTF-8). Errors: RELICA_INVALID for a missing,
 * unreadable, oversized or malformed file (naming the file and the JSON path).
 */
export async function loadRelicaState(path: string): Promise<LoadedRelicaState> {
  let text: string;
  try {
    if ((await stat(path)).size > MAX_STATE_FILE_BYTES) {
      throw new AppError('RELICA_INVALID', `${path}: $: file is larger than ${MAX_STATE_FILE_BYTES} bytes`);
    }
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('RELICA_INVALID', `${path}: cannot read the file (${errorMessage(err)})`, { cause: err });
  }
  return parseRelicaState(text, path);
}

/**
 * Choosing the Relica origin (one computer of the Relica account) that an import is for.
 */
import { AppError } from '../errors.js';
import type { RelicaOrigin, RelicaState } from './state-schema.js';

function describe(origins: readonly RelicaOrigin[]): string {
  if (origins.length === 0) return 'the file lists no origins';
  return `available: ${origins.map((o) => `"${o.name}" (${o.id})`).join(', ')}`;
}

/**
 * The origin of `read_only.origins` whose id (UUID, any letter case) or name equals `selector`.
 * A name is matched exactly first, then ignoring letter case when that is unambiguous.
 * Throws AppError NOT_FOUND listing the available origin names and ids, or INVALID_INPUT when
 * the name is ambiguous (several origins share it: pass the id).
 */
export function selectOrigin(state: RelicaState, selector: string): RelicaOrigin {
  const origins = state.read_only.origins;
  const wanted = selector.trim();
  if (wanted === '') throw new AppError('INVALID_INPUT', `--device is empty; ${describe(origins)}`);
  const byId = origins.find((o) => o.id.toLowerCase() === wanted.toLowerCase());
  if (byId) return byId;
  let matches = origins.filter((o) => o.name === wanted);
  if (matches.length === 0) matches = origins.filter((o) => o.name.toLowerCase() === wanted.toLowerCase());
  if (matches.length === 1) return matches[0] as RelicaOrigin;
  if (matches.length > 1) {
    throw new AppError(
      'INVALID_INPUT',
      `Relica origin name "${wanted}" is ambiguous; pass one id: ${matches.map((o) => o.id).join(', ')}`,
    );
  }
  throw new AppError('NOT_FOUND', `no Relica origin named or with id "${wanted}"; ${describe(origins)}`);
}

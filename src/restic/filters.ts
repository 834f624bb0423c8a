/**
 * restic's snapshot filter options (`--tag`, `--host`, `--path`), shared by snapshots, forget, ls,
 * restore... Pure.
 */
import { AppError } from '../errors.js';

export interface SnapshotFilter {
  /**
   * Each entry becomes one `--tag` value: a snapshot matches when it has every tag of one entry
   * (restic: `--tag a,b` needs both; several `--tag` match any). A tag holding a comma is refused:
   * restic would split it (internal/restic/tag_list.go).
   */
  tags?: readonly (string | readonly string[])[];
  /** `--host` values (any of them matches). */
  hosts?: readonly string[];
  /** `--path` values (absolute; a snapshot matches when it has all of them). */
  paths?: readonly string[];
}

/** argv for `filter`; throws AppError('INVALID_INPUT') for an empty value or a tag with a comma. */
export function filterArgs(filter: SnapshotFilter): string[] {
  const args: string[] = [];
  for (const entry of filter.tags ?? []) {
    const list = typeof entry === 'string' ? [entry] : entry;
    for (const t of list) {
      if (t.trim() === '') throw new AppError('INVALID_INPUT', 'a snapshot tag filter is empty');
      if (t.includes(',')) throw new AppError('INVALID_INPUT', `the snapshot tag filter "${t}" holds a comma`);
    }
    if (list.length > 0) args.push('--tag', list.join(','));
  }
  for (const h of filter.hosts ?? []) {
    if (h.trim() === '') throw new AppError('INVALID_INPUT', 'a snapshot host filter is empty');
    args.push('--host', h);
  }
  for (const p of filter.paths ?? []) {
    if (p.trim() === '') throw new AppError('INVALID_INPUT', 'a snapshot path filter is empty');
    args.push('--path', p);
  }
  return args;
}

/**
 * Which files a restore would overwrite (issue 17): restic 0.14's `restore` has no overwrite option
 * and silently replaces existing files, so the agent refuses a restore that would write over any
 * existing file unless `overwrite` is given. Existing folders are no conflict: putting one deleted
 * file back into an otherwise full folder is the common case.
 *
 * Names restic cannot show exactly (not valid UTF-8, shown with U+FFFD by `ls --json`) are compared
 * with the target folder's names decoded the same lossy way, so such a file counts as existing when
 * any name there reads the same (never a silent overwrite; at worst a refusal to retry with
 * `overwrite`).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TreeNode } from '../restic/ls.js';
import { destinationOf } from './targets.js';

const lossy = new TextDecoder('utf-8', { fatal: false });

/** Names in `dir` decoded as restic would show them; null when `dir` cannot be read (absent). */
function lossyNames(dir: string, cache: Map<string, Set<string> | null>): Set<string> | null {
  if (cache.has(dir)) return cache.get(dir) ?? null;
  let names: Set<string> | null = null;
  try {
    names = new Set(fs.readdirSync(dir, { encoding: 'buffer' }).map((b) => lossy.decode(b)));
  } catch {
    names = null;
  }
  cache.set(dir, names);
  return names;
}

/**
 * The first destination among `nodes` (what the restore writes, from `lsTree`) that already exists
 * below `target` and would be overwritten: a file, link or other non-folder entry at a file's
 * place, or a non-folder at a folder's place. Null when nothing would be overwritten.
 */
export function firstConflict(target: string, nodes: readonly TreeNode[]): string | null {
  const cache = new Map<string, Set<string> | null>();
  for (const n of nodes) {
    const dest = destinationOf(target, n.path);
    if (!n.exactName) {
      const names = lossyNames(path.dirname(dest), cache);
      if (names?.has(n.name)) return dest;
      continue;
    }
    let st: fs.Stats;
    try {
      st = fs.lstatSync(dest);
    } catch {
      continue;
    }
    if (n.type === 'dir' && st.isDirectory()) continue;
    return dest;
  }
  return null;
}

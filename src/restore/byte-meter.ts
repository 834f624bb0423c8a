/**
 * Bytes written below a restore's destinations, measured on disk (restic 0.14 prints no restore
 * progress; issue 17): the allocated blocks of each file, since restic creates a file at its full
 * size and then writes its parts (checked on 0.14). Walks the given paths (files and folders) and sums file sizes, bounded in
 * entries per scan so a huge restore costs a bounded amount of work per tick.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Most entries visited by one scan. */
export const MAX_SCAN_ENTRIES = 200_000;

/** Sum of file sizes at and below `roots` (absent paths count 0); `files` counts regular files. */
export async function bytesBelow(
  roots: readonly string[],
  maxEntries = MAX_SCAN_ENTRIES,
): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  let seen = 0;
  const stack = [...roots];
  while (stack.length > 0 && seen < maxEntries) {
    const p = stack.pop() as string;
    seen++;
    let st: fs.Stats;
    try {
      st = await fs.promises.lstat(p);
    } catch {
      continue;
    }
    if (st.isFile()) {
      // restic sizes a file first and fills it in any order (sparse until written): count the
      // blocks on disk where the platform has them (not on Windows), else the size.
      bytes += st.blocks !== undefined && st.blocks >= 0 ? Math.min(st.size, st.blocks * 512) : st.size;
      files++;
    } else if (st.isDirectory()) {
      try {
        for (const e of await fs.promises.readdir(p)) stack.push(path.join(p, e));
      } catch {
        // unreadable folder: counts what it can
      }
    }
  }
  return { bytes, files };
}

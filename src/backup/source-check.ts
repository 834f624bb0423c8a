/**
 * Sources that lie (cases C25, C28), checked on disk just before restic starts.
 * - C25: restic saves a source that is a symbolic link as the link itself (a "successful"
 *   snapshot with no files). A link to a folder is replaced by the folder it points to
 *   (fs.realpath), with a note; the snapshot's paths are then the real folder's path.
 * - C28: an unmounted disk leaves an empty mount point; restic backs up "nothing" successfully.
 *   The folders found empty are reported so the run can be made `partial` when the job's last
 *   successful backup found files.
 */
import fs from 'node:fs/promises';

export interface SourceCheck {
  /** Paths to give restic (links to folders resolved), in order. */
  paths: string[];
  warnings: string[];
  /** Source folders that exist and hold no entry at all. */
  emptyFolders: string[];
}

/** Check each absolute source path; missing or unreadable ones are left to restic. Never throws. */
export async function checkSources(paths: readonly string[]): Promise<SourceCheck> {
  const out: SourceCheck = { paths: [], warnings: [], emptyFolders: [] };
  for (const p of paths) {
    let use = p;
    try {
      const l = await fs.lstat(p);
      if (l.isSymbolicLink()) {
        const st = await fs.stat(p).catch(() => null);
        if (st?.isDirectory()) {
          use = await fs.realpath(p);
          out.warnings.push(
            `Source ${p} is a symbolic link to the folder ${use}; that folder is backed up (restic would save only the link).`,
          );
        }
      }
      const st = await fs.stat(use);
      if (st.isDirectory() && (await fs.readdir(use)).length === 0) out.emptyFolders.push(p);
    } catch {
      // missing or unreadable: restic reports it (source_missing / unreadable_files)
    }
    if (!out.paths.includes(use)) out.paths.push(use);
  }
  return out;
}

/** The warning of C28 for `folders` when the last successful backup found `previousFiles` files. */
export function emptySourceMessage(folders: readonly string[], previousFiles: number): string {
  return `Source folder ${folders.join(', ')} is empty: is the disk mounted? The last successful backup found ${previousFiles} files; this run is not counted as a success.`;
}

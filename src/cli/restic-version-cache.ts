/**
 * restic's version for the one-shot `rbackup2 backup`, without a `restic version` process when
 * the binary has not changed: the version `discoverRestic` found is kept in
 * `<data_dir>/restic-version.json` with the binary's resolved path, size, mtime and inode, and
 * reused while all four match (a replaced or upgraded binary differs in at least one). The running
 * agent keeps calling `discoverRestic` itself at start. A missing, unreadable or stale cache, or a
 * binary not found on PATH here, falls back to `discoverRestic` (whose errors name the binary).
 */
import { accessSync, constants, readFileSync, statSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { discoverRestic, parseResticVersion, type ResticVersion } from '../restic/version.js';

const CACHE_FILE = 'restic-version.json';

interface CacheEntry {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  version: string;
}

/** The absolute file `binary` names: itself when it has a folder part, else the first on PATH. */
export function resolveBinary(
  binary: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | null {
  const exts = platform === 'win32' ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';').filter(Boolean)] : [''];
  const candidates = /[\\/]/.test(binary)
    ? exts.map((e) => path.resolve(binary + e))
    : (env.PATH ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .flatMap((dir) => exts.map((e) => path.join(dir, binary + e)));
  for (const file of candidates) {
    try {
      if (!statSync(file).isFile()) continue;
      if (platform !== 'win32') accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not there or not executable: next candidate
    }
  }
  return null;
}

function fingerprint(file: string): Omit<CacheEntry, 'version'> | null {
  try {
    const st = statSync(file);
    return { path: file, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  } catch {
    return null;
  }
}

/**
 * `{ path, version }` of the restic binary `binary` (a name on PATH or a path), from the cache in
 * `dataDir` when the file is unchanged, else from `restic version` (then cached). Throws
 * AppError RESTIC_MISSING like discoverRestic.
 */
export async function cachedResticVersion(
  binary: string,
  dataDir: string,
): Promise<{ path: string; version: ResticVersion }> {
  const file = resolveBinary(binary);
  const fp = file ? fingerprint(file) : null;
  if (!file || !fp) return discoverRestic(binary);
  const cachePath = path.join(dataDir, CACHE_FILE);
  try {
    const c = JSON.parse(readFileSync(cachePath, 'utf8')) as Partial<CacheEntry>;
    const version = typeof c.version === 'string' ? parseResticVersion(JSON.stringify({ version: c.version })) : null;
    if (version && c.path === fp.path && c.size === fp.size && c.mtimeMs === fp.mtimeMs && c.ino === fp.ino)
      return { path: file, version };
  } catch {
    // no cache yet, or unreadable: ask restic
  }
  const found = await discoverRestic(file);
  try {
    mkdirSync(dataDir, { recursive: true });
    const entry: CacheEntry = { ...fp, version: found.version.raw };
    writeFileSync(`${cachePath}.tmp`, `${JSON.stringify(entry)}\n`);
    renameSync(`${cachePath}.tmp`, cachePath);
  } catch {
    // a read-only data folder only costs the next run one `restic version`
  }
  return found;
}

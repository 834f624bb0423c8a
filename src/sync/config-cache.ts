/**
 * The last-known-good device config on disk (`<data_dir>/config-cache.json`): written atomically
 * after every successful load (temp file, fsync, rename; mode 0600 since it holds repository
 * passwords), read at start when the database is unreachable. A corrupt or truncated file is
 * reported and ignored, never fatal.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { DeviceConfig } from '../config/device-config.js';

const FILE_NAME = 'config-cache.json';
const FORMAT = 1;

interface CacheFile {
  format: number;
  savedAt: string;
  sha256: string;
  config: DeviceConfig;
}

export type CacheReadResult =
  { ok: true; config: DeviceConfig; savedAt: string } | { ok: false; reason: 'missing' | 'corrupt'; detail: string };

function digest(config: DeviceConfig): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex');
}

/** Path of the cache file in `dataDir`. */
export function configCachePath(dataDir: string): string {
  return path.join(dataDir, FILE_NAME);
}

/**
 * Write `config` atomically. A crash at any point leaves either the old or the new file whole.
 * Throws the fs error (e.g. ENOSPC, EACCES) for the caller to log; the old copy stays.
 */
export async function writeConfigCache(dataDir: string, config: DeviceConfig, now: Date): Promise<void> {
  const file = configCachePath(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  const body: CacheFile = { format: FORMAT, savedAt: now.toISOString(), sha256: digest(config), config };
  await fs.mkdir(dataDir, { recursive: true });
  try {
    const handle = await fs.open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(body));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined); // a full disk must not also keep the half file
    throw err;
  }
  // fsync the folder so the rename itself survives a power loss (not supported on Windows).
  if (process.platform !== 'win32') {
    const dir = await fs.open(dataDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/** Read the cached config; never throws. `corrupt` covers bad JSON, a wrong digest or shape. */
export async function readConfigCache(dataDir: string, expectedDeviceId: string): Promise<CacheReadResult> {
  const file = configCachePath(dataDir);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? 'missing' : 'corrupt', detail: `${file}: ${code ?? String(err)}` };
  }
  try {
    const parsed = JSON.parse(text) as Partial<CacheFile>;
    if (parsed.format !== FORMAT || !parsed.config || typeof parsed.savedAt !== 'string') {
      return { ok: false, reason: 'corrupt', detail: `${file}: unknown format` };
    }
    if (digest(parsed.config) !== parsed.sha256)
      return { ok: false, reason: 'corrupt', detail: `${file}: checksum mismatch` };
    if (parsed.config.deviceId !== expectedDeviceId) {
      return {
        ok: false,
        reason: 'corrupt',
        detail: `${file}: belongs to device ${parsed.config.deviceId}, not ${expectedDeviceId}`,
      };
    }
    return { ok: true, config: parsed.config, savedAt: parsed.savedAt };
  } catch (err) {
    return { ok: false, reason: 'corrupt', detail: `${file}: ${(err as Error).message}` };
  }
}

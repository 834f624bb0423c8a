import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readConfigCache, writeConfigCache, configCachePath } from '../../src/sync/config-cache.js';
import type { DeviceConfig } from '../../src/config/device-config.js';

const config: DeviceConfig = {
  deviceId: 'dev-1',
  deviceName: 'Dev',
  settings: { sync_interval_seconds: '300', repository_password: 'pa$$ w0rd' },
  jobs: [],
  invalidJobs: [],
  loadedAt: '2026-11-29T10:00:00.000Z',
};

describe('last-known-good config cache', () => {
  it('round-trips, with a file only the owner can read', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-cache-'));
    await writeConfigCache(dir, config, new Date('2026-11-29T10:00:01Z'));
    const read = await readConfigCache(dir, 'dev-1');
    expect(read).toEqual({ ok: true, config, savedAt: '2026-11-29T10:00:01.000Z' });
    if (process.platform !== 'win32') expect(statSync(configCachePath(dir)).mode & 0o777).toBe(0o600);
  });

  it('reports a missing file as missing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-cache-'));
    expect(await readConfigCache(dir, 'dev-1')).toMatchObject({ ok: false, reason: 'missing' });
  });

  it('reports a truncated file as corrupt, never throws', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-cache-'));
    await writeConfigCache(dir, config, new Date());
    const text = readFileSync(configCachePath(dir), 'utf8');
    for (const cut of [0, 1, 10, Math.floor(text.length / 2), text.length - 1]) {
      writeFileSync(configCachePath(dir), text.slice(0, cut));
      expect(await readConfigCache(dir, 'dev-1')).toMatchObject({ ok: false, reason: 'corrupt' });
    }
  });

  it('detects an edited body by its checksum, and a cache of another device', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-cache-'));
    await writeConfigCache(dir, config, new Date());
    const text = readFileSync(configCachePath(dir), 'utf8');
    writeFileSync(configCachePath(dir), text.replace('"300"', '"301"'));
    expect(await readConfigCache(dir, 'dev-1')).toMatchObject({
      ok: false,
      reason: 'corrupt',
      detail: expect.stringContaining('checksum'),
    });
    await writeConfigCache(dir, config, new Date());
    expect(await readConfigCache(dir, 'dev-2')).toMatchObject({
      ok: false,
      reason: 'corrupt',
      detail: expect.stringContaining('dev-1'),
    });
  });
});

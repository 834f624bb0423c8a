import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { loadLocalConfig, parseLocalConfig, resolveConfigPath } from '../../src/config/local-config.js';
import { isAppError } from '../../src/errors.js';

const root = path.resolve(import.meta.dirname, '../..');

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('local config (CONTRACTS §2)', () => {
  it('loads the original design example unchanged', () => {
    const cfg = loadLocalConfig(path.join(root, 'test/fixtures/original-design-example.yaml'), {});
    expect(cfg.device).toEqual({ id: 'workstation-001', name: 'Workstation' });
    expect(cfg.database?.host).toBe('db.example.com');
    expect(cfg.database?.port).toBe(5432);
    expect(cfg.database?.ssl_mode).toBe('require');
    expect(cfg.client.http_bind).toBe('127.0.0.1:1201');
    expect(cfg.embedded).toBe(false);
    expect(cfg.dataDir).toBe(path.join(root, 'test/fixtures/data'));
  });

  it('loads config.example.yaml as the embedded-database setup', () => {
    const cfg = loadLocalConfig(path.join(root, 'config.example.yaml'), {});
    expect(cfg.embedded).toBe(true);
    expect(cfg.database).toBeUndefined();
    expect(cfg.metrics.enabled).toBe(false);
    expect(cfg.client.shutdown_timeout_seconds).toBe(300);
  });

  it('fills defaults for a minimal file', () => {
    const cfg = parseLocalConfig('device:\n  id: x\n', '/etc/rbackup2/config.yaml', {});
    expect(cfg.client.http_bind).toBe('127.0.0.1:1201');
    expect(cfg.client.restic_binary).toBe('restic');
    expect(cfg.dataDir).toBe('/etc/rbackup2/data');
    expect(cfg.metrics.push_interval_seconds).toBe(60);
    expect(Object.isFrozen(cfg.client)).toBe(true);
  });

  it('a typo in a key is one line naming the key and the file', () => {
    const err = errorOf(() =>
      parseLocalConfig('device:\n  id: x\nclient:\n  http_bnd: "127.0.0.1:1"\n', '/c.yaml', {}),
    );
    expect(isAppError(err, 'CONFIG_INVALID')).toBe(true);
    expect(err.message).toBe('/c.yaml: unknown key "client.http_bnd"');
  });

  it('a wrong type names the field', () => {
    const err = errorOf(() =>
      parseLocalConfig('device:\n  id: x\ndatabase:\n  host: h\n  port: "five"\n', '/c.yaml', {}),
    );
    expect(err.message).toMatch(/^\/c\.yaml: database\.port: .*expected number/);
    expect(err.message).not.toContain('\n');
  });

  it('a missing device.id names it', () => {
    const err = errorOf(() => parseLocalConfig('device:\n  name: x\n', '/c.yaml', {}));
    expect(err.message).toBe('/c.yaml: device.id: is required');
  });

  it('YAML syntax errors name the file and line', () => {
    const err = errorOf(() => parseLocalConfig('device:\n  id: [x\n', '/c.yaml', {}));
    expect(err.message).toMatch(/^\/c\.yaml: line \d+, column \d+: YAML syntax error: \S/);
    expect(err.message).not.toContain('\n');
    const nested = errorOf(() => parseLocalConfig('device:\n  id: x\nclient: http_bnd: 1\n', '/c.yaml', {}));
    expect(nested.message).toMatch(/^\/c\.yaml: line 3, column \d+: YAML syntax error: /);
  });

  it('an environment override wins over the file, with type conversion', () => {
    const cfg = loadLocalConfig(path.join(root, 'test/fixtures/original-design-example.yaml'), {
      RBACKUP2_DATABASE_URL: 'postgres://other/db',
      RBACKUP2_DATABASE_PORT: '6543',
      RBACKUP2_CLIENT_HTTP_BIND: '127.0.0.1:9999',
      RBACKUP2_METRICS_ENABLED: 'true',
      RBACKUP2_DEVICE_ID: 'from-env',
    });
    expect(cfg.database?.url).toBe('postgres://other/db');
    expect(cfg.database?.port).toBe(6543);
    expect(cfg.client.http_bind).toBe('127.0.0.1:9999');
    expect(cfg.metrics.enabled).toBe(true);
    expect(cfg.device.id).toBe('from-env');
  });

  it('an override can add the database section (joining a fleet without editing the file)', () => {
    const cfg = parseLocalConfig('device:\n  id: x\n', '/c.yaml', { RBACKUP2_DATABASE_URL: 'postgres://h/db' });
    expect(cfg.embedded).toBe(false);
  });

  it('an unknown override variable is an error naming it', () => {
    const err = errorOf(() => parseLocalConfig('device:\n  id: x\n', '/c.yaml', { RBACKUP2_CLIENT_HTTP_BINDD: 'x' }));
    expect(err.message).toContain('RBACKUP2_CLIENT_HTTP_BINDD');
  });

  it('a database section without url or host is refused', () => {
    const err = errorOf(() => parseLocalConfig('device:\n  id: x\ndatabase:\n  user: u\n', '/c.yaml', {}));
    expect(err.message).toContain('database: needs url, or host');
  });

  it('resolves ./config.yaml, then ./config.example.yaml', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-cfg-'));
    expect(() => resolveConfigPath(undefined, dir)).toThrow(/no config file/);
    writeFileSync(path.join(dir, 'config.example.yaml'), 'device:\n  id: a\n');
    expect(resolveConfigPath(undefined, dir)).toBe(path.join(dir, 'config.example.yaml'));
    writeFileSync(path.join(dir, 'config.yaml'), 'device:\n  id: b\n');
    expect(resolveConfigPath(undefined, dir)).toBe(path.join(dir, 'config.yaml'));
    expect(() => resolveConfigPath('nope.yaml', dir)).toThrow(/nope\.yaml does not exist/);
  });
});

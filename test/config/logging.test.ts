import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, redactUrl } from '../../src/logging.js';

describe('logging', () => {
  it('writes JSON lines to the file, redacts secret fields, and rotates by size keeping a bounded number of files', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-log-'));
    const file = path.join(dir, 'rbackup2.log');
    const { logger, close } = await createLogger({ level: 'info', file, maxBytes: 64 * 1024, keepFiles: 2, stderr: false });
    logger.info({ password: 'pa$$ w0rd', repository: { password: 'nested-secret', url: '/srv/repo' } }, 'hello');
    const filler = 'x'.repeat(1000);
    // Written in bursts as an agent logs (pino-roll rolls once the stream drains after the limit).
    for (let i = 0; i < 600; i++) {
      logger.info({ i, filler }, 'filler line');
      if (i % 25 === 24) await new Promise((r) => setTimeout(r, 20));
    }
    await close();
    const files = readdirSync(dir).filter((f) => f.startsWith('rbackup2'));
    // current.log is a symlink to the file being written: the highest-numbered one
    const newest = files.map((f) => Number(/\.(\d+)\.log$/.exec(f)?.[1] ?? -1)).sort((a, b) => b - a)[0];
    expect(readlinkSync(path.join(dir, 'current.log'))).toMatch(new RegExp(`rbackup2\\.${newest}\\.log$`));
    // about 600 KB written at 64 KiB per file: rotation happened, and at most keepFiles + 1 remain
    expect(files.length).toBeGreaterThan(1);
    expect(files.length).toBeLessThanOrEqual(3);
    const all = files.map((f) => readFileSync(path.join(dir, f), 'utf8')).join('');
    expect(all).not.toContain('pa$$ w0rd');
    expect(all).not.toContain('nested-secret');
    const last = all.trim().split('\n').at(-1)!;
    expect(JSON.parse(last)).toMatchObject({ msg: 'filler line', i: 599 });
  });

  it('redacts the password of a database URL', () => {
    expect(redactUrl('postgres://backup_client:s3cret@db.example.com:5432/backup_control?sslmode=require')).toBe('postgres://backup_client:***@db.example.com:5432/backup_control?sslmode=require');
    expect(redactUrl('postgres://db/x')).toBe('postgres://db/x');
  });
});

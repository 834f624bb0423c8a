import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { createLogger, redactUrl } from '../../src/logging.js';

describe('logging', () => {
  it('writes JSON lines to the file, redacts secret fields, and rotates by size keeping a bounded number of files', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-log-'));
    const file = path.join(dir, 'rbackup2.log');
    const { logger, close } = await createLogger({
      level: 'info',
      file,
      maxBytes: 64 * 1024,
      keepFiles: 2,
      stderr: false,
    });
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
    expect(redactUrl('postgres://backup_client:s3cret@db.example.com:5432/backup_control?sslmode=require')).toBe(
      'postgres://backup_client:***@db.example.com:5432/backup_control?sslmode=require',
    );
    expect(redactUrl('postgres://db/x')).toBe('postgres://db/x');
  });

  // Issue 13: a person at a terminal reads time, level and message; the file (and a pipe, a
  // service's journal) keeps JSON. The logger of the built agent, in a real process; `script`
  // (util-linux) gives it a real terminal.
  it('stderr is readable on a terminal (time, level, message) and JSON in a pipe; the file is JSON; secrets redacted in both', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rb2-log-tty-'));
    const logging = pathToFileURL(path.resolve(import.meta.dirname, '../../dist/logging.js')).href;
    const script = path.join(dir, 'log.mjs');
    writeFileSync(
      script,
      `const m = await import(${JSON.stringify(logging)});
const { logger, close } = await m.createLogger({ level: 'info', file: process.env.LOG_FILE, maxBytes: 1e6, keepFiles: 1, stderr: true });
logger.info({ password: 'pa$$ w0rd', job: 'photos' }, 'backup finished');
await close();
`,
    );
    const run = (file: string, tty: boolean) => {
      const env = { ...process.env, LOG_FILE: path.join(dir, file) };
      const r = tty
        ? spawnSync('script', ['-qec', `${process.execPath} ${script}`, '/dev/null'], {
            env,
            encoding: 'utf8',
            timeout: 30_000,
          })
        : spawnSync(process.execPath, [script], { env, encoding: 'utf8', timeout: 30_000 });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      return {
        // eslint-disable-next-line no-control-regex
        screen: (tty ? r.stdout : r.stderr).replace(/\x1b\[[0-9;]*m/g, ''),
        file: readdirSync(dir)
          .filter((f) => f.startsWith(file.replace('.log', '')))
          .map((f) => readFileSync(path.join(dir, f), 'utf8'))
          .join(''),
      };
    };
    const tty = run('tty.log', true);
    expect(tty.screen).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] INFO: backup finished\r?\n/m);
    expect(tty.screen).toMatch(/job: "photos"/);
    expect(() => JSON.parse(tty.screen.trim().split('\n')[0]!)).toThrow();
    expect(JSON.parse(tty.file.trim())).toMatchObject({ msg: 'backup finished', job: 'photos', level: 30 });
    const piped = run('pipe.log', false);
    expect(JSON.parse(piped.screen.trim())).toMatchObject({ msg: 'backup finished', job: 'photos' });
    for (const text of [tty.screen, tty.file, piped.screen, piped.file]) expect(text).not.toContain('pa$$ w0rd');
  });
});

/**
 * Shared parts of the config-sync tests: a temp workspace with a real restic repository, a local
 * config for an in-process agent (PostgreSQL URL or embedded PGlite), seeding a device with one
 * job, a logger whose lines the test can read, and polling.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { parseLocalConfig, type LocalConfig } from '../../src/config/local-config.js';
import {
  addJob,
  addRepository,
  addSchedule,
  migrate,
  openDatabase,
  setSetting,
  upsertDevice,
  type Database,
} from '../../src/db/index.js';

export const PASSWORD = 'sync test pa$$word';

export interface Workspace {
  dir: string;
  repoDir: string;
  sourceDir: string;
  cleanup(): void;
}

/** A temp folder with `repo/` (restic init when `restic` is true) and `source/` holding a few files. */
export function makeWorkspace(restic = false): Workspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-sync-'));
  const repoDir = path.join(dir, 'repo');
  const sourceDir = path.join(dir, 'source');
  fs.mkdirSync(sourceDir);
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(sourceDir, `f${i}.txt`), `file ${i}\n`.repeat(100));
  if (restic)
    execFileSync('restic', ['init', '--repo', repoDir], {
      env: { ...process.env, RESTIC_PASSWORD: PASSWORD },
      stdio: 'pipe',
    });
  return { dir, repoDir, sourceDir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Local config of device `device` with data in `<dir>/data-<device>`; `url` null = embedded PGlite. */
export function localConfig(
  dir: string,
  device: string,
  url: string | null,
  dataDir = path.join(dir, `data-${device}`),
): LocalConfig {
  const db = url ? `database:\n  url: "${url}"\n` : '';
  const yaml = `device:\n  id: ${device}\n  name: ${device}\n${db}client:\n  http_bind: "127.0.0.1:0"\n  data_dir: "${dataDir}"\n  shutdown_timeout_seconds: 5\n`;
  return parseLocalConfig(yaml, path.join(dir, 'config.yaml'), {});
}

export interface SeedOptions {
  device: string;
  repoDir: string;
  sourceDir: string;
  jobName?: string;
  /** An interval schedule (seconds); default a cron far from now (never due during a test). */
  intervalSeconds?: number;
  /** Device setting sync_interval_seconds. */
  syncIntervalSeconds?: number;
}

/** Migrate, register the device, add repository + job + schedule; returns the job id. */
export async function seed(db: Database, o: SeedOptions): Promise<string> {
  await migrate(db);
  await upsertDevice(db, { id: o.device, name: o.device });
  const repo = await addRepository(db, { name: `repo-${o.device}`, url: o.repoDir, password: PASSWORD });
  const job = await addJob(db, {
    deviceId: o.device,
    name: o.jobName ?? `Job of ${o.device}`,
    sourcePaths: [o.sourceDir],
    repositoryId: repo.id,
  });
  if (o.intervalSeconds) await addSchedule(db, { jobId: job.id, type: 'interval', intervalSeconds: o.intervalSeconds });
  else await addSchedule(db, { jobId: job.id, type: 'cron', cronExpression: '0 3 1 1 *', timezone: 'UTC' });
  if (o.syncIntervalSeconds)
    await setSetting(db, { deviceId: o.device, key: 'sync_interval_seconds', value: String(o.syncIntervalSeconds) });
  return job.id;
}

/** Open the database of `local` (as the agent would), seed it, close it. */
export async function seedFor(local: LocalConfig, o: SeedOptions): Promise<string> {
  const db = await openDatabase({ database: local.database, dataDir: local.dataDir });
  try {
    return await seed(db, o);
  } finally {
    await db.close();
  }
}

export interface CapturedLog {
  logger: Logger;
  /** Parsed JSON lines so far (bounded to 20 000). */
  lines: Array<Record<string, unknown> & { msg?: string; level?: number }>;
  /** Lines whose msg contains `text`. */
  find(text: string): Array<Record<string, unknown>>;
}

/** A pino logger at debug level writing into memory. */
export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n'))
        if (l && lines.length < 20_000) lines.push(JSON.parse(l) as CapturedLog['lines'][number]);
      cb();
    },
  });
  return {
    logger: pino({ level: 'debug' }, sink),
    lines,
    find: (text) => lines.filter((l) => typeof l.msg === 'string' && l.msg.includes(text)),
  };
}

/** Poll `fn` every 25 ms until truthy; throws `what` after `ms`. */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, ms = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

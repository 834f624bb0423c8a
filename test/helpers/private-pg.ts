/**
 * A private PostgreSQL 15 server for outage tests: its own data folder (initdb, trust auth) in a
 * temp dir owned by the `postgres` user, on a free loopback port, that a test can stop (fast or
 * immediate, like a crash) and start again at will without touching the shared server on 5432.
 * Needs root (runuser) and Debian's /usr/lib/postgresql/15/bin.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const PG_BIN = process.env.RBACKUP2_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Is a private server possible here (binaries present, running as root)? */
export function privatePgAvailable(): boolean {
  return fs.existsSync(path.join(PG_BIN, 'pg_ctl')) && process.getuid?.() === 0;
}

import { freePort } from './wait.js';

export { freePort };

export interface PrivatePg {
  port: number;
  dataDir: string;
  /** `postgres://postgres@127.0.0.1:<port>/<db>?sslmode=disable`. */
  url(db?: string): string;
  start(): Promise<void>;
  /** `fast` closes sessions cleanly; `immediate` is a crash (recovery at next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stop (immediate) and delete the data folder. */
  destroy(): Promise<void>;
}

async function pgctl(dataDir: string, args: string[]): Promise<void> {
  await run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, 'pg_ctl'), '-D', dataDir, ...args], {
    timeout: 60_000,
  });
}

/**
 * initdb a new cluster and start it. `settings` are extra `-c name=value` server options
 * (e.g. { max_connections: '700' }). Throws when initdb or the start fails.
 */
export async function startPrivatePg(settings: Record<string, string> = {}): Promise<PrivatePg> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-privpg-'));
  const dataDir = path.join(root, 'data');
  fs.mkdirSync(dataDir, { mode: 0o700 });
  await run('chown', ['-R', 'postgres:postgres', root]);
  await run(
    'runuser',
    [
      '-u',
      'postgres',
      '--',
      path.join(PG_BIN, 'initdb'),
      '-D',
      dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-sync',
    ],
    { timeout: 120_000 },
  );
  const port = await freePort();
  const extra = Object.entries(settings)
    .map(([k, v]) => ` -c ${k}=${v}`)
    .join('');
  const opts = `-p ${port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off${extra}`;
  const logFile = path.join(root, 'server.log');
  const pg: PrivatePg = {
    port,
    dataDir,
    url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}?sslmode=disable`,
    start: () => pgctl(dataDir, ['-o', opts, '-l', logFile, '-w', 'start']),
    stop: (mode = 'fast') => pgctl(dataDir, ['stop', '-m', mode, '-w']),
    async destroy() {
      await pgctl(dataDir, ['stop', '-m', 'immediate', '-w']).catch(() => undefined);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}

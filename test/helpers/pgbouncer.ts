/**
 * A real PgBouncer (Debian's `pgbouncer` package) for tests and the fleet bench: its own ini in a
 * temp folder with PgBouncer's default settings plus `pool_mode` (and, for the bench only, a larger
 * `max_client_conn`), listening on a free loopback port, in front of a PostgreSQL server given by
 * host/port. Trust auth (the test servers trust loopback). Stop and start it to make an outage.
 * PgBouncer refuses to run as root: as root it is started with `-u postgres`.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './wait.js';
import net from 'node:net';

export const PGBOUNCER_BIN = process.env.RBACKUP2_PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer';

/** Is PgBouncer installed here? */
export function pgbouncerAvailable(): boolean {
  return fs.existsSync(PGBOUNCER_BIN);
}

export interface PgBouncer {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/<db>?sslmode=disable`. */
  url(db: string): string;
  /** pid of the running pgbouncer (null while stopped). */
  pid(): number | null;
  start(): Promise<void>;
  /** SIGINT: "safe shutdown" would wait for clients; SIGTERM closes everything at once (default). */
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export interface PgBouncerOptions {
  poolMode: 'session' | 'transaction';
  /** PostgreSQL server behind it (default 127.0.0.1:5432). */
  serverHost?: string;
  serverPort?: number;
  /** Extra `[pgbouncer]` settings (the bench: max_client_conn). Tests pass none. */
  settings?: Record<string, string | number>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Write the ini and start PgBouncer; throws (with its log) when it does not listen within 15 s. */
export async function startPgBouncer(opts: PgBouncerOptions): Promise<PgBouncer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-pgbouncer-'));
  const port = await freePort();
  const ini = path.join(root, 'pgbouncer.ini');
  const log = path.join(root, 'pgbouncer.log');
  const users = path.join(root, 'userlist.txt');
  fs.writeFileSync(users, '"postgres" ""\n');
  const extra = Object.entries(opts.settings ?? {})
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n');
  fs.writeFileSync(
    ini,
    `[databases]
* = host=${opts.serverHost ?? '127.0.0.1'} port=${opts.serverPort ?? 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${users}
logfile = ${log}
pool_mode = ${opts.poolMode}
${extra}
`,
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('chown', ['-R', 'postgres', root]);
  let child: ChildProcess | null = null;
  const bouncer: PgBouncer = {
    port,
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}?sslmode=disable`,
    pid: () => child?.pid ?? null,
    async start() {
      if (child) return;
      const c = spawn(PGBOUNCER_BIN, [...(asRoot ? ['-u', 'postgres'] : []), ini], { stdio: 'ignore' });
      child = c;
      c.once('exit', () => {
        if (child === c) child = null;
      });
      try {
        await waitFor('pgbouncer listening', async () => child !== null && (await portOpen(port)), 15_000, 50);
      } catch (err) {
        const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : '(no log)';
        throw new Error(`${String(err)}\n${text}`);
      }
    },
    async stop() {
      const c = child;
      if (!c) return;
      child = null;
      const gone = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await gone;
      }
      await waitFor('pgbouncer port closed', async () => !(await portOpen(port)), 5000, 50);
    },
    async destroy() {
      await bouncer.stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  await bouncer.start();
  return bouncer;
}

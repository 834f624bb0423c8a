/* global process, setTimeout */
// Servers for the fleet bench (bench/fleet.mjs): a private PostgreSQL (initdb in a temp folder,
// trust auth, free loopback port, extra -c settings) and a PgBouncer in front of it (Debian's
// package; PgBouncer's default settings plus pool_mode and, for the bench only, max_client_conn
// and the file-descriptor limit its 10,000 clients need). As root both run as user postgres.
// The tests have their own TypeScript helpers (test/helpers/private-pg.ts, pgbouncer.ts).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const PG_BIN = process.env.RBACKUP2_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;
const asPostgres = (cmd, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function waitPort(port, ms) {
  const end = Date.now() + ms;
  while (!(await portOpen(port))) {
    if (Date.now() > end) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** initdb + start; returns { port, url(db), stop() }. */
export async function startPrivatePg(settings = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-bench-pg-'));
  const data = path.join(root, 'data');
  fs.mkdirSync(data, { mode: 0o700 });
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', root]);
  execFileSync(
    ...asPostgres(path.join(PG_BIN, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]),
    { stdio: 'ignore' },
  );
  const port = await freePort();
  const extra = Object.entries(settings)
    .map(([k, v]) => ` -c ${k}=${v}`)
    .join('');
  const pgctl = (args) =>
    execFileSync(...asPostgres(path.join(PG_BIN, 'pg_ctl'), ['-D', data, ...args]), { stdio: 'ignore' });
  pgctl([
    '-o',
    `-p ${port} -k /tmp -c listen_addresses=127.0.0.1${extra}`,
    '-l',
    path.join(root, 'server.log'),
    '-w',
    'start',
  ]);
  return {
    port,
    url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}?sslmode=disable`,
    stop() {
      try {
        pgctl(['stop', '-m', 'immediate', '-w']);
      } catch {
        /* already stopped */
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Start PgBouncer before 127.0.0.1:serverPort; returns { port, pid, url(db), stop() }. */
export async function startPgBouncer({ serverPort, poolMode, settings = {}, nofile = 20000 }) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rbackup2-bench-pgb-'));
  const port = await freePort();
  const ini = path.join(root, 'pgbouncer.ini');
  fs.writeFileSync(path.join(root, 'userlist.txt'), '"postgres" ""\n');
  const extra = Object.entries(settings)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n');
  fs.writeFileSync(
    ini,
    `[databases]\n* = host=127.0.0.1 port=${serverPort}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${port}\nunix_socket_dir =\nauth_type = trust\nauth_file = ${path.join(root, 'userlist.txt')}\nlogfile = ${path.join(root, 'pgbouncer.log')}\npool_mode = ${poolMode}\n${extra}\n`,
  );
  if (asRoot) execFileSync('chown', ['-R', 'postgres', root]);
  // The shell raises the file-descriptor limit for PgBouncer alone, then becomes it (exec).
  const child = spawn(
    'sh',
    ['-c', `ulimit -n ${nofile} && exec /usr/sbin/pgbouncer ${asRoot ? '-u postgres ' : ''}"$0"`, ini],
    { stdio: 'ignore' },
  );
  await waitPort(port, 15_000);
  return {
    port,
    pid: child.pid,
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}?sslmode=disable`,
    async stop() {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

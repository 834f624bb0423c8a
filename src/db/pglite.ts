/**
 * The Database over an embedded PGlite (PostgreSQL compiled to WASM) in the agent's data folder.
 * Single process (case C18): the folder is locked (pglite-lock.ts) before it is opened; a folder
 * that fails to open is moved aside to `<dir>.broken-<timestamp>` and reported, never deleted,
 * and a fresh database is started. PGlite runs one statement at a time: it queues queries itself,
 * and a query issued outside a running transaction waits until the transaction ends, so inside
 * `transaction(fn)` use only the `tx` given to fn (using the outer Database there would wait forever).
 */
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { PGlite, type Results, type Transaction } from '@electric-sql/pglite';
import { AppError, errorMessage } from '../errors.js';
import type { Database, Queryable, QueryResult } from './database.js';
import { wrapQueryError } from './db-errors.js';
import { initdbInChild, isInitialised } from './pglite-initdb.js';
import { acquirePgliteLock } from './pglite-lock.js';
import type { DbLogger } from './pg-options.js';

/**
 * PGlite 0.5's default start parameters (PostgreSQL 18 in single-user mode) without `-F`;
 * `fsync`, `synchronous_commit`, `full_page_writes` and `wal_level` keep their defaults, so every
 * commit writes its WAL to the file (pwrite) before it returns: a killed agent (SIGKILL, crash)
 * loses no committed run (test/faults). Note: on Node, PGlite's file system (Emscripten NODEFS)
 * has no fsync, so PostgreSQL's fsync calls do not reach the disk (strace: no fsync/fdatasync
 * at all, 0.5.17): a power cut or kernel crash can lose the last commits, whatever is set here.
 *
 * Only memory sized for a multi-user server is cut, since PGlite allocates and zeroes it in its
 * WebAssembly heap at every start: shared_buffers 128MB -> 1MB (the agent's queries touch a few
 * hundred kB; the files stay in the OS page cache), max_connections 100 -> 4 (one backend; sizes
 * the lock and process tables), no WAL senders or replication slots (nothing can connect to
 * replicate). Together ~20 MB less RSS than shared_buffers=16MB (bench/README.md, footprint.mjs).
 */
export const PGLITE_START_PARAMS: readonly string[] = Object.freeze([
  '--single',
  '-O',
  '-j',
  '-c',
  'search_path=public',
  '-c',
  'exit_on_error=false',
  '-c',
  'log_checkpoints=false',
  '-c',
  'max_worker_processes=0',
  '-c',
  'max_parallel_workers=0',
  '-c',
  'max_parallel_workers_per_gather=0',
  '-c',
  'io_method=sync',
  '-c',
  'max_parallel_maintenance_workers=0',
  '-c',
  'shared_buffers=1MB',
  '-c',
  'work_mem=2MB',
  '-c',
  'maintenance_work_mem=8MB',
  '-c',
  'temp_buffers=2MB',
  '-c',
  'max_connections=4',
  '-c',
  'superuser_reserved_connections=0',
  '-c',
  'max_wal_senders=0',
  '-c',
  'max_replication_slots=0',
]);

/**
 * V8 flags set before PGlite's WebAssembly module is compiled: run PostgreSQL's code with V8's
 * baseline compiler (Liftoff) only, never re-compiled by the optimizing one (TurboFan). The agent
 * issues a few small queries a minute; TurboFan re-compiling the hot PostgreSQL functions in the
 * background cost ~60 MB RSS and ~0.5 s CPU per start on Node 20/22, and up to ~500 MB peak RSS and
 * ~3 s CPU on Node 24 (bench/README.md, footprint.mjs). Both flags are needed: without dynamic
 * tiering V8 otherwise tiers up eagerly; `--liftoff-only` set at run time has no effect on Node 24.
 * Process-wide (V8 flags are): the only other WebAssembly in the agent is the HTTP parser of
 * Node's `fetch`, which is not on a hot path here.
 */
export const PGLITE_V8_FLAGS = '--no-wasm-tier-up --no-wasm-dynamic-tiering';

export interface PgliteOptions {
  logger?: DbLogger;
  /** Wall clock for the `.broken-<timestamp>` name and the lock (default: system time). */
  now?: () => Date;
}

type Runner = Pick<Transaction, 'query' | 'exec'>;

/** One statement with parameters goes through `query`; without, `exec` (several statements allowed, as on pg). */
async function run<T>(runner: Runner, sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
  try {
    let res: Results<T>;
    if (params && params.length > 0) res = await runner.query<T>(sql, params as unknown[]);
    else {
      const all = await runner.exec(sql);
      res = (all[all.length - 1] ?? { rows: [], fields: [] }) as Results<T>;
    }
    // PGlite reports affectedRows 0 for a SELECT: count the returned rows then, as pg does.
    return { rows: res.rows, rowCount: res.affectedRows || res.rows.length };
  } catch (err) {
    throw wrapQueryError(err, sql);
  }
}

function wrap(pg: PGlite, onClose: () => void): Database {
  let closed = false;
  return {
    kind: 'pglite',
    query: (sql, params) => run(pg, sql, params),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      pg.transaction((tx) => fn({ query: (sql, params) => run(tx, sql, params) })),
    async listen(channel, onNotify) {
      try {
        const unlisten = await pg.listen(channel, onNotify);
        return async () => {
          if (!pg.closed) await unlisten();
        };
      } catch (err) {
        throw wrapQueryError(err, 'LISTEN');
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        if (!pg.closed) await pg.close();
      } finally {
        onClose();
      }
    },
  };
}

/** Start PGlite on `dataDir` (undefined: in memory); a folder not initialised yet is created in a child process first. */
async function start(dataDir: string | undefined): Promise<PGlite> {
  if (dataDir && !isInitialised(dataDir)) await initdbInChild(dataDir, PGLITE_START_PARAMS, PGLITE_V8_FLAGS);
  v8.setFlagsFromString(PGLITE_V8_FLAGS);
  const pg = await PGlite.create({ ...(dataDir ? { dataDir } : {}), startParams: [...PGLITE_START_PARAMS] });
  try {
    await pg.query('SELECT count(*) FROM pg_catalog.pg_class');
  } catch (err) {
    await pg.close().catch(() => undefined);
    throw err;
  }
  return pg;
}

function hasContent(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/**
 * Open (creating when needed) the embedded database in `dataDir`, exclusively for this process.
 * Throws AppError DB_LOCKED when another live process (or this one) has it open; AppError
 * DB_CONNECT when even a fresh folder cannot be started. A folder that exists but fails to open is
 * renamed to `<dataDir>.broken-<UTC timestamp>` (reported with logger.warn) and a new one created.
 */
export async function openPglite(dataDir: string, opts: PgliteOptions = {}): Promise<Database> {
  const dir = path.resolve(dataDir);
  const now = opts.now ?? (() => new Date());
  const release = acquirePgliteLock(dir, now);
  try {
    fs.mkdirSync(dir, { recursive: true });
    let pg: PGlite;
    try {
      pg = await start(dir);
    } catch (err) {
      if (!hasContent(dir)) throw err;
      const aside = `${dir}.broken-${now().toISOString().replace(/[:.]/g, '-')}`;
      fs.renameSync(dir, aside);
      opts.logger?.warn(
        { dataDir: dir, movedTo: aside, err: errorMessage(err) },
        'embedded database failed to open; moved aside (kept, not deleted) and starting a fresh one',
      );
      fs.mkdirSync(dir, { recursive: true });
      pg = await start(dir);
    }
    return wrap(pg, release);
  } catch (err) {
    release();
    if (err instanceof AppError) throw err;
    throw new AppError('DB_CONNECT', `embedded database ${dir} cannot be opened: ${errorMessage(err)}`, { cause: err });
  }
}

/** An in-memory PGlite (nothing on disk, no lock), for tests and dry runs. */
export async function openPgliteMemory(): Promise<Database> {
  return wrap(await start(undefined), () => undefined);
}

/**
 * Creating a new embedded database folder (PostgreSQL's initdb) in a short-lived child process.
 * PGlite runs initdb inside the calling process: that peaks near 800 MB RSS and leaves ~85 MB of
 * C heap (malloc arenas) that the process never gives back, so an agent that created its folder at
 * its first start idled at ~220 MB instead of ~135 MB until it was restarted (bench/README.md).
 * The child creates the folder and exits; the caller then opens the finished folder as usual.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The child: set the V8 flags, create (initdb) and start once with the given parameters, close. */
const CHILD = `
const v8 = require('node:v8');
const [pglite, dir, flags, params] = process.argv.slice(1);
v8.setFlagsFromString(flags);
(async () => {
  const { PGlite } = require(pglite);
  const pg = await PGlite.create({ dataDir: dir, startParams: JSON.parse(params) });
  await pg.close();
})().catch((err) => { process.stderr.write(String(err && err.stack || err) + '\\n'); process.exit(1); });
`;

/** Does `dir` hold an initialised PostgreSQL data folder (its PG_VERSION file)? */
export function isInitialised(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'PG_VERSION'));
}

/**
 * Create the PostgreSQL data folder `dir` (absolute; must not hold one yet) in a child Node
 * process with the same start parameters and V8 flags as the caller will use. Resolves once the
 * child exited 0; rejects with an Error carrying the child's last stderr lines (at most 2 000
 * characters) when it fails or takes longer than `timeoutMs` (default 300 000: initdb on a busy
 * 2-core machine took 47 s).
 */
export function initdbInChild(
  dir: string,
  startParams: readonly string[],
  v8Flags: string,
  timeoutMs = 300_000,
): Promise<void> {
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', CHILD, pglite, dir, v8Flags, JSON.stringify(startParams)],
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        const tail = String(stderr).trim().slice(-2000);
        reject(
          new Error(
            `creating the embedded database ${dir} failed (${err.killed ? `no result within ${timeoutMs / 1000} s` : `exit ${String(err.code)}`})${tail ? `: ${tail}` : ''}`,
          ),
        );
      },
    );
  });
}

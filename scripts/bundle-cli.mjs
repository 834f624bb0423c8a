#!/usr/bin/env node
/* global console */
/**
 * Bundles the command line with esbuild after `tsc` has written dist/: dist/main.js becomes the
 * small entry (compile cache, then `import()` of the CLI) and dist/chunks/ holds the CLI and one
 * chunk per lazily loaded part (each command's work, the agent, the database layer), so Node
 * resolves a handful of files instead of hundreds. The rest of dist/ stays tsc's output (the
 * benches import dist/db, dist/app.js, ...).
 *
 * Left outside the bundle, loaded from node_modules as usual:
 * - @electric-sql/pglite: finds its WASM and data files through import.meta.url;
 * - pino, pino-roll, pino-pretty, thread-stream: transports run in worker threads that load these
 *   packages by name from disk;
 * - pg-native: optional, required by pg only when asked for.
 * Files read at run time (package.json, migrations/, src/ui/static/, doc/) are found through
 * src/package-root.ts, wherever the chunk asking sits.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
rmSync(path.join(root, 'dist/chunks'), { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/main.ts' },
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
  external: ['@electric-sql/pglite', '@electric-sql/pglite/*', 'pino', 'pino-roll', 'pino-pretty', 'thread-stream', 'pg-native'],
  // CommonJS dependencies (pg, fastify's) call require() for Node's own modules: give ESM a require.
  banner: { js: "import { createRequire as __rb2CreateRequire } from 'node:module';\nconst require = __rb2CreateRequire(import.meta.url);" },
});
const outputs = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.js'));
const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
const entry = outputs.find(([f]) => f === 'dist/main.js');
console.log(`bundle: dist/main.js ${entry ? kb(entry[1].bytes) : '?'} + ${outputs.length - 1} chunks (${kb(outputs.reduce((n, [, o]) => n + o.bytes, 0))} in all)`);

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
 * - pino-pretty: loaded only for a terminal (src/logging.ts), so it costs nothing otherwise;
 * pino and pino-roll are bundled: the agent never starts a pino transport (a worker thread that
 * would load packages by name from disk); it writes its log as streams in its own thread
 * (src/logging.ts). Loaded from node_modules, pino's ~35 CommonJS files cost ~33 ms per process on
 * Node 20, bundled ~14 ms. pino-roll's date-fns is cut down to the five functions it uses
 * (scripts/bundle-shims/date-fns-for-pino-roll.mjs).
 * - pg-native: optional, required by pg only when asked for.
 * Files read at run time (package.json, migrations/, src/ui/static/, doc/) are found through
 * src/package-root.ts, wherever the chunk asking sits.
 */
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** pino-roll's `require('date-fns')` -> scripts/bundle-shims/date-fns-for-pino-roll.mjs (see there). */
const pinoRollDateFns = {
  name: 'pino-roll-date-fns',
  setup(b) {
    b.onResolve({ filter: /^date-fns$/ }, (args) =>
      /[\\/]node_modules[\\/]pino-roll[\\/]/.test(args.importer)
        ? { path: path.join(root, 'scripts/bundle-shims/date-fns-for-pino-roll.mjs') }
        : undefined,
    );
  },
};
/**
 * pg's lib/stream.js asks "are we in a Cloudflare Worker?" when it loads: without a global
 * `navigator` (Node 20) it builds a `Response`, and that first touch of fetch's globals loads
 * Node's bundled undici, 35-55 ms of CPU in every process that opens PostgreSQL (measured with
 * --cpu-prof on Node 20.20). This bundle only ever runs on Node, where the answer is always no,
 * so the probe is cut from the bundled copy. The build fails if pg's code changes shape.
 */
const pgNodeOnly = {
  name: 'pg-node-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const probe = 'function getStreamFuncs() {\n  if (isCloudflareRuntime()) {';
      if (!text.includes(probe)) throw new Error(`pg-node-only: ${args.path} no longer has the expected probe`);
      return { contents: text.replace(probe, 'function getStreamFuncs() {\n  if (false) {'), loader: 'js' };
    });
  },
};
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
  external: ['@electric-sql/pglite', '@electric-sql/pglite/*', 'pino-pretty', 'pg-native'],
  plugins: [pinoRollDateFns, pgNodeOnly],
  // CommonJS dependencies (pg, fastify's) call require() for Node's own modules: give ESM a require.
  banner: {
    js: "import { createRequire as __rb2CreateRequire } from 'node:module';\nconst require = __rb2CreateRequire(import.meta.url);",
  },
});
const outputs = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.js'));
const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
const entry = outputs.find(([f]) => f === 'dist/main.js');
console.log(
  `bundle: dist/main.js ${entry ? kb(entry[1].bytes) : '?'} + ${outputs.length - 1} chunks (${kb(outputs.reduce((n, [, o]) => n + o.bytes, 0))} in all)`,
);

// What every command loads before it runs: main.js, the CLI chunk it imports (dynamically, after
// the compile cache is on), and every chunk those import statically. test/cli/startup-graph.test.ts
// keeps large packages (zod, yaml, pg, nodemailer, croner) out of it, so `rbackup2 --version`
// stays close to `node -e 0` (issue 13).
// The agent's start is measured the same way from the chunk of src/app.ts: it must not load a
// database driver it does not use (pg, PGlite: each is loaded by open.ts when opened).
const outs = result.metafile.outputs;
/** The output files `roots` load before running: themselves and their static imports, transitively. */
function staticClosure(roots) {
  const seen = new Set();
  const queue = [...roots];
  while (queue.length) {
    const f = queue.shift();
    if (seen.has(f) || !outs[f]) continue;
    seen.add(f);
    for (const i of outs[f].imports) if (i.kind === 'import-statement') queue.push(i.path);
  }
  return [...seen];
}
const inputsOf = (files) => files.flatMap((f) => Object.keys(outs[f].inputs));
const cli = staticClosure([
  'dist/main.js',
  ...outs['dist/main.js'].imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path),
]);
const agent = staticClosure(Object.keys(outs).filter((f) => Object.keys(outs[f].inputs).includes('src/app.ts')));
writeFileSync(
  path.join(root, 'dist/startup-graph.json'),
  JSON.stringify({ chunks: cli, inputs: inputsOf(cli), agent: { chunks: agent, inputs: inputsOf(agent) } }, null, 1),
);

/**
 * The web UI's files (src/ui/static: index.html, styles.css, *.js ES modules): read once when the
 * server is created (they are small and fixed), served from memory. `GET /` is the page; other
 * files are under `/ui/{file}` with names limited to [a-z0-9-]+.(js|css|svg).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { packageRoot } from '../package-root.js';
import * as z from 'zod';
import { AppError } from '../errors.js';
import { defineRoute, type RouteDef } from './route-table.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
const FILE_RE = /^[a-z0-9-]+\.(js|css|svg)$/;

/**
 * The UI folder: `src/ui/static` beside this module when run from source, or from `dist/api`
 * (the package ships src/ui/static). Returns null when none exists.
 */
export function defaultStaticDir(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = packageRoot();
  for (const c of [
    ...(root ? [path.join(root, 'src/ui/static')] : []),
    path.resolve(here, '../ui/static'),
    path.resolve(here, '../../src/ui/static'),
  ]) {
    if (existsSync(path.join(c, 'index.html'))) return c;
  }
  return null;
}

/**
 * Third-party browser files from npm packages, served as /ui/{name}: uPlot (the history chart,
 * a small dependency-free chart library, https://github.com/leeoniya/uPlot). Resolved through
 * node's module resolution, so they come from the installed package, not a copy in the tree.
 */
const VENDOR_FILES: ReadonlyArray<[string, string]> = [
  ['uplot.js', 'uplot/dist/uPlot.esm.js'],
  ['uplot.css', 'uplot/dist/uPlot.min.css'],
];

function loadVendorFiles(files: Map<string, { type: string; body: Buffer }>): void {
  const require = createRequire(import.meta.url);
  for (const [name, spec] of VENDOR_FILES) {
    try {
      const pkgDir = path.dirname(require.resolve(`${spec.split('/')[0]}/package.json`));
      const body = readFileSync(path.join(pkgDir, spec.split('/').slice(1).join('/')));
      files.set(name, { type: TYPES[path.extname(name)] ?? 'application/octet-stream', body });
    } catch {
      // not installed: the page shows the history table without the chart
    }
  }
}

/** Loads the UI files of `dir` (index.html and FILE_RE names; at most 50 files of 1 MiB) and the vendor files. */
export function loadUiFiles(dir: string | null): Map<string, { type: string; body: Buffer }> {
  const files = new Map<string, { type: string; body: Buffer }>();
  if (!dir || !existsSync(dir)) return files;
  loadVendorFiles(files);
  for (const name of readdirSync(dir).slice(0, 200)) {
    if (name !== 'index.html' && !FILE_RE.test(name)) continue;
    const body = readFileSync(path.join(dir, name));
    if (body.length > 1024 * 1024 || files.size >= 50) continue;
    files.set(name, { type: TYPES[path.extname(name)] ?? 'application/octet-stream', body });
  }
  return files;
}

/**
 * Routes serving the UI (public: the page is also the login page). `loginLink` handles
 * `GET /?token=CODE` (true = a session was started: redirect to `/` so the code leaves the URL).
 */
export function uiRoutes(
  files: Map<string, { type: string; body: Buffer }>,
  loginLink?: (req: FastifyRequest, reply: FastifyReply) => boolean,
): RouteDef[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/',
      summary: 'The web UI and its login page; ?token= is a one-time login link (or the API token)',
      public: true,
      query: z.object({ token: z.string().max(512).optional() }),
      responses: {
        200: { description: 'index.html', contentType: 'text/html' },
        303: { description: 'signed in by the link: go to /' },
        404: { description: 'UI files not installed' },
      },
      handler: async ({ req, reply }) => {
        if (loginLink?.(req, reply)) return reply.code(303).header('location', '/').send();
        const f = files.get('index.html');
        if (!f) throw new AppError('NOT_FOUND', 'the web UI files are not installed');
        return reply.type(f.type).header('cache-control', 'no-cache').send(f.body);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/ui/:file',
      summary: 'Scripts and styles of the web UI',
      public: true,
      params: z.strictObject({ file: z.string().max(64) }),
      responses: {
        200: { description: 'the file', contentType: 'text/javascript' },
        404: { description: 'no such file' },
      },
      handler: async ({ params, reply }) => {
        const f = FILE_RE.test(params.file) ? files.get(params.file) : undefined;
        if (!f) throw new AppError('NOT_FOUND', `no UI file ${JSON.stringify(params.file)}`);
        return reply.type(f.type).header('cache-control', 'no-cache').send(f.body);
      },
    }),
  ];
}

/**
 * The folder of rbackup2's package.json, found by walking up from this module: the same answer
 * from src/ (tests), from dist/ (tsc output) and from the esbuild bundle's chunks (dist/chunks/),
 * so files shipped beside the code (package.json, migrations/, src/ui/static/, doc/) are found
 * wherever the module that asks ended up. Null when no such package.json is above (never in an
 * installed package; the callers then fall back or report the missing file).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: { root: string | null; version: string | null } | undefined;

function find(): { root: string | null; version: string | null } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'rbackup2')
          return { root: dir, version: typeof pkg.version === 'string' ? pkg.version : null };
      } catch {
        // not readable JSON: keep walking up
      }
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return { root: null, version: null };
}

/** Absolute path of the package folder (holding package.json named rbackup2), or null. */
export function packageRoot(): string | null {
  cached ??= find();
  return cached.root;
}

/** The package.json version, or null when the package folder is not found. */
export function packageVersion(): string | null {
  cached ??= find();
  return cached.version;
}

/** `rel` (e.g. 'migrations') inside the package folder; falls back to `fallback` when not found. */
export function packagePath(rel: string, fallback: string): string {
  const root = packageRoot();
  return root ? path.join(root, rel) : fallback;
}

/**
 * The benches' data set: `files` small text files (~60 bytes each, random content) under `src`,
 * 100 per folder (d000/f0.txt ...), as overhead.mjs, cli.mjs and footprint.mjs back up. One
 * definition, so their figures are about the same data.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Create the tree below `src` (created if missing). */
export function makeSourceTree(src, files) {
  for (let d = 0; d < Math.ceil(files / 100); d++) {
    const dir = path.join(src, `d${String(d).padStart(3, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = d * 100; f < Math.min(files, (d + 1) * 100); f++) fs.writeFileSync(path.join(dir, `f${f}.txt`), `file ${f} ${randomBytes(24).toString('hex')}\n`);
  }
}

/**
 * Issue 13 point 3: what every command loads before it runs. scripts/bundle-cli.mjs writes
 * dist/startup-graph.json (main.js, the CLI chunk and their static imports, from esbuild's
 * metafile); large packages belong to the commands that use them, loaded when those run. Session 4
 * found zod, nodemailer and croner back on this path (through `notify` and `setting`), which had
 * made `rbackup2 --version` 2.16x `node -e 0` again (target <= 2x); without them it is 1.5x.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/agent-process.js';

const graph = JSON.parse(fs.readFileSync(path.join(repoRoot, 'dist/startup-graph.json'), 'utf8')) as {
  chunks: string[];
  inputs: string[];
  agent: { chunks: string[]; inputs: string[] };
};

describe('issue 13: the CLI start-up path', () => {
  it('reaches the CLI (commander) and none of the large packages the commands use', () => {
    const packages = new Set(graph.inputs.filter((i) => i.startsWith('node_modules/')).map((i) => i.split('/')[1]));
    expect(graph.inputs).toContain('src/cli/run-cli.ts');
    expect([...packages]).toEqual(['commander']);
    for (const heavy of ['src/notify/channel-config.ts', 'src/config/settings-registry.ts', 'src/db/index.ts'])
      expect(graph.inputs).not.toContain(heavy);
  });

  it('the agent starts without the database driver it does not use: pg and PGlite load when opened (issue 21)', () => {
    expect(graph.agent.inputs).toContain('src/app.ts');
    expect(graph.agent.inputs).toContain('src/db/open.ts');
    for (const driver of ['src/db/postgres.ts', 'src/db/pg-listener.ts', 'src/db/pglite.ts'])
      expect(graph.agent.inputs).not.toContain(driver);
    expect(graph.agent.inputs.filter((i) => /^node_modules\/(pg|pg-[a-z]+|@electric-sql)\//.test(i))).toEqual([]);
    // fastify and the routes load while the database opens (app.ts), not before it
    expect(graph.agent.inputs).not.toContain('src/api/server.ts');
    // prom-client too (54-83 ms of the main thread when loaded up front)
    expect(graph.agent.inputs.filter((i) => i.startsWith('node_modules/prom-client/'))).toEqual([]);
  });

  it('node:http loads only when a command asks the running agent (not on the path every command takes)', () => {
    for (const chunk of graph.chunks)
      expect(fs.readFileSync(path.join(repoRoot, chunk), 'utf8'), chunk).not.toMatch(/from "(node:)?http"/);
  });

  it("the bundle's pg has no Cloudflare probe (it loads undici on Node 20) and pino is bundled, not loaded from node_modules", () => {
    const chunks = fs.readdirSync(path.join(repoRoot, 'dist/chunks')).filter((f) => f.endsWith('.js'));
    const text = chunks.map((f) => fs.readFileSync(path.join(repoRoot, 'dist/chunks', f), 'utf8'));
    const pgChunk = text.find((t) => t.includes('node_modules/pg/lib/stream.js'));
    expect(pgChunk, 'a chunk holds pg').toBeDefined();
    expect(pgChunk).toContain('function getStreamFuncs()');
    expect(pgChunk).not.toMatch(/getStreamFuncs\(\) \{\s*if \(isCloudflareRuntime\(\)\)/);
    for (const t of text) expect(t).not.toMatch(/from "pino"|require\("pino"\)/);
    expect(text.some((t) => t.includes('node_modules/pino/pino.js'))).toBe(true);
  });

  it('every command still registers: `rbackup2 --help` lists notify and setting, and `notify add` checks its kind', () => {
    const help = spawnSync(process.execPath, [path.join(repoRoot, 'dist/main.js'), '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^ {2}notify\b/m);
    expect(help.stdout).toMatch(/^ {2}setting\b/m);
    const bad = spawnSync(
      process.execPath,
      [path.join(repoRoot, 'dist/main.js'), '--config', '/nonexistent/config.yaml', 'notify', 'add', 'x', 'pager'],
      { encoding: 'utf8' },
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('rbackup2: notify add x: kind "pager" is not one of webhook, ntfy, email, healthchecks\n');
  });
});

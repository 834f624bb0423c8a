#!/usr/bin/env -S node --max-semi-space-size=2
/**
 * rbackup2's command line (CONTRACTS §1). This entry only turns on V8's compile cache where the
 * Node line has it (module.enableCompileCache, Node >= 22.1; the cache lives in the OS temp
 * folder, NODE_DISABLE_COMPILE_CACHE=1 turns it off), then loads the CLI (src/cli/run-cli.ts),
 * so that the CLI's code is compiled once and read from the cache on later starts.
 *
 * The shebang caps V8's young generation at 2 MiB semi-spaces: the idle agent then holds about
 * 25 MB less memory for a negligible GC cost (bench/scheduler.mjs). `node dist/main.js` works the
 * same without it; the service files pass the flag too.
 */
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import('./cli/run-cli.js');

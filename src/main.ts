#!/usr/bin/env -S node --max-semi-space-size=2
/**
 * rbackup2's command line (CONTRACTS §1). Parsing only: each command lives in src/cli/commands/.
 * Every user error ends as one line on stderr and exit code 1; unexpected errors print the stack.
 *
 * The shebang caps V8's young generation at 2 MiB semi-spaces: the idle agent then holds about
 * 25 MB less memory for a negligible GC cost (bench/scheduler.mjs). `node dist/main.js` works the
 * same without it; the service files pass the flag too.
 */
import { buildProgram } from './cli/program.js';
import { AppError } from './errors.js';

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof AppError && err.isUserError) {
      process.stderr.write(`rbackup2: ${err.message}\n`);
    } else if (err && typeof err === 'object' && 'code' in err && String((err as { code: unknown }).code).startsWith('commander.')) {
      // commander already printed its message (unknown option, missing argument, --help).
      const exit = (err as { exitCode?: number }).exitCode;
      return typeof exit === 'number' ? exit : 1;
    } else {
      process.stderr.write(`rbackup2: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    return 1;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
  // Everything opened is closed by its command; this only guards against a stray handle
  // (a library timer) keeping a finished command alive.
  setTimeout(() => process.exit(code), 3000).unref();
});

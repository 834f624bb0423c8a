/**
 * Runs the command line (CONTRACTS §1) on `process.argv` and exits with its code. Parsing only:
 * each command lives in src/cli/commands/ and loads what it needs when it runs. Every user error
 * ends as one line on stderr and exit code 1; unexpected errors print the stack.
 */
import { buildProgram } from './program.js';
import { AppError } from '../errors.js';
import { systemClock } from '../clock.js';

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof AppError && err.isUserError) {
      process.stderr.write(`rbackup2: ${err.message}\n`);
    } else if (
      err &&
      typeof err === 'object' &&
      'code' in err &&
      String((err as { code: unknown }).code).startsWith('commander.')
    ) {
      // commander already printed its message (unknown option, missing argument, --help).
      const exit = (err as { exitCode?: number }).exitCode;
      return typeof exit === 'number' ? exit : 1;
    } else {
      process.stderr.write(
        `rbackup2: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
    }
    return 1;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
  // Everything opened is closed by its command; this only guards against a stray handle
  // (a library timer) keeping a finished command alive.
  systemClock.setTimer(() => process.exit(code), 3000, { unref: true });
});

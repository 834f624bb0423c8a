/** `rbackup2 import-relica FILE --device NAME_OR_ID [--dry-run]` (CONTRACTS §6). Being written. */
import type { Command } from 'commander';

/** Register `import-relica` on `program`. */
export function registerImportRelicaCommand(program: Command): void {
  program.command('import-relica <file>').description('import a Relica state file').requiredOption('--device <name-or-id>', 'Relica origin').option('--dry-run', 'print the plan only');
}

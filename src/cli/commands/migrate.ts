/** `rbackup2 migrate`: apply pending database migrations and exit (CONTRACTS §1). */
import type { Command } from 'commander';
import { dbApi, loadAdminConfig, type GlobalOptions } from '../context.js';

/** Register `migrate` on `program`. */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply database migrations and exit')
    .action(async () => {
      const local = await loadAdminConfig(program.opts<GlobalOptions>());
      const { openDatabase, migrate } = await dbApi();
      const db = await openDatabase({ database: local.database, dataDir: local.dataDir });
      try {
        const result = await migrate(db);
        console.log(result.applied.length > 0 ? `applied: ${result.applied.join(', ')}` : 'database is up to date');
        if (result.unknown.length > 0)
          console.log(`note: the database has migrations this version does not know: ${result.unknown.join(', ')}`);
      } finally {
        await db.close();
      }
    });
}

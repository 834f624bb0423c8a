/** `rbackup2 repo add|list|init|remove`: manage restic `repositories` rows without SQL; `init` creates the restic repository. */
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { repositoryValueProblems } from '../../config/input-check.js';
import { formatTable } from '../output.js';
import { loadAdminConfig, withDatabase, type GlobalOptions } from '../context.js';
import { readSecretFromStdin } from '../read-secret.js';

interface RepoAddOptions {
  url: string;
  passwordFile?: string;
  passwordCommand?: string;
  passwordStdin?: boolean;
  cacheDir?: string;
}

/** Register the `repo` command group on `program`. */
export function registerRepoCommands(program: Command): void {
  const repo = program.command('repo').description('manage restic repositories');
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();

  repo
    .command('add <name>')
    .description('add a repository; the password never goes on the command line')
    .requiredOption('--url <url>', 'restic repository (path, sftp:..., s3:..., rest:...)')
    .option('--password-file <file>', 'file holding the repository password (RESTIC_PASSWORD_FILE)')
    .option('--password-command <command>', 'command printing the password (RESTIC_PASSWORD_COMMAND)')
    .option('--password-stdin', 'read the password from standard input and store it in the database')
    .option('--cache-dir <dir>', 'restic cache folder for this repository')
    .action(async (name: string, o: RepoAddOptions) => {
      const sources = [o.passwordFile, o.passwordCommand, o.passwordStdin].filter(Boolean).length;
      if (sources !== 1)
        throw new AppError(
          'INVALID_INPUT',
          'repo add: give exactly one of --password-file, --password-command, --password-stdin',
        );
      const problems = repositoryValueProblems({ url: o.url, passwordFile: o.passwordFile, cacheDir: o.cacheDir });
      if (problems.length > 0) throw new AppError('INVALID_INPUT', `repo add ${name}: ${problems.join('; ')}`);
      const password = o.passwordStdin ? await readSecretFromStdin('repository password') : null;
      const r = await withDatabase(await loadAdminConfig(globals()), (db, q) =>
        q.addRepository(db, {
          name,
          url: o.url,
          password,
          passwordFile: o.passwordFile ?? null,
          passwordCommand: o.passwordCommand ?? null,
          cacheDir: o.cacheDir ?? null,
        }),
      );
      console.log(`repository ${r.name} (${r.id}) added`);
    });

  repo
    .command('list')
    .description('list repositories (passwords are not shown)')
    .action(async () => {
      const rows = await withDatabase(await loadAdminConfig(globals()), (db, q) => q.listRepositories(db));
      console.log(
        formatTable(
          rows.map((r) => ({
            id: r.id,
            name: r.name,
            url: r.url,
            password: r.password
              ? 'stored'
              : r.passwordFile
                ? `file ${r.passwordFile}`
                : r.passwordCommand
                  ? 'command'
                  : 'none',
          })),
          [
            { key: 'id', header: 'ID' },
            { key: 'name', header: 'NAME' },
            { key: 'url', header: 'URL' },
            { key: 'password', header: 'PASSWORD' },
          ],
        ),
      );
    });

  repo
    .command('init <name-or-id>')
    .description('create the restic repository of a repository row (restic init)')
    .action(async (ref: string) => {
      const r = await (await import('./restic-ops.js')).initRepository(await loadAdminConfig(globals()), ref);
      console.log(`created restic repository ${r.id ?? ''} at ${r.url}`.replace('  ', ' '));
    });

  repo
    .command('remove <name-or-id>')
    .description('remove a repository (refused while jobs use it)')
    .action(async (ref: string) => {
      const removed = await withDatabase(await loadAdminConfig(globals()), (db, q) => q.removeRepository(db, ref));
      if (!removed) throw new AppError('NOT_FOUND', `repository "${ref}" not found`);
      console.log(`repository ${ref} removed`);
    });
}

/**
 * `rbackup2 import-relica FILE --device NAME_OR_ID [--dry-run] [--repository-url URL]
 * [--password-file F | --password-command C]` (CONTRACTS §1, §6; user guide doc/relica-migration.md).
 *
 * The device written is the Relica origin chosen with --device (its UUID becomes devices.id), not
 * the config's device.id: the config only names the database. So an admin can import every
 * origin of one Relica account into a central PostgreSQL by running the command once per origin.
 * The password is never an argument: a file, a command, or the terminal prompt.
 */
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import type { ApplyCounts, ApplyResult, PasswordSource, PlanOptions } from '../../relica/index.js';
import { loadConfig, withDatabase, type GlobalOptions } from '../context.js';
import { promptSecret } from '../read-secret.js';

interface ImportOptions {
  device: string;
  dryRun?: boolean;
  repositoryUrl?: string;
  passwordFile?: string;
  passwordCommand?: string;
}

const TABLES: readonly (keyof ApplyCounts)[] = ['devices', 'repositories', 'jobs', 'schedules', 'hooks'];

/**
 * Where the repository password comes from. A password file is stored as an absolute path (the
 * agent's working folder differs from the admin's). Without a file or command, the terminal is
 * asked (echo off) — except in a dry run, which never asks and shows "entered at the prompt".
 * Throws INVALID_INPUT for both sources at once, or a source without --repository-url.
 */
async function passwordSource(o: ImportOptions, notes: string[]): Promise<PasswordSource | undefined> {
  if (o.passwordFile !== undefined && o.passwordCommand !== undefined) {
    throw new AppError('INVALID_INPUT', 'give --password-file or --password-command, not both');
  }
  if (o.repositoryUrl === undefined) {
    if (o.passwordFile !== undefined || o.passwordCommand !== undefined) {
      throw new AppError('INVALID_INPUT', '--password-file and --password-command need --repository-url');
    }
    return undefined;
  }
  if (o.passwordFile !== undefined) {
    const file = path.resolve(o.passwordFile);
    try {
      await access(file, constants.R_OK);
    } catch {
      notes.push(`password file ${file} cannot be read here; the agent that runs the jobs must be able to read it`);
    }
    return { kind: 'file', path: file };
  }
  if (o.passwordCommand !== undefined) {
    if (o.passwordCommand.trim() === '') throw new AppError('INVALID_INPUT', '--password-command is empty');
    return { kind: 'command', command: o.passwordCommand };
  }
  if (o.dryRun) return { kind: 'value', password: '' };
  if (!process.stdin.isTTY) {
    throw new AppError(
      'INVALID_INPUT',
      '--repository-url needs the repository password: give --password-file or --password-command, or run in a terminal to be asked',
    );
  }
  return { kind: 'value', password: await promptSecret('restic repository password (the one Relica used)') };
}

/** `  jobs          4 created, 0 updated, 0 deleted, 0 unchanged` per table, then a verdict line. */
function formatResult(r: ApplyResult): string {
  const lines = ['', 'Written to the database (one transaction):'];
  for (const t of TABLES) {
    lines.push(
      `  ${t.padEnd(14)}${r.created[t]} created, ${r.updated[t]} updated, ${r.deleted[t]} deleted, ${r.unchanged[t]} unchanged`,
    );
  }
  const changed = TABLES.reduce((n, t) => n + r.created[t] + r.updated[t] + r.deleted[t], 0);
  const same = TABLES.reduce((n, t) => n + r.unchanged[t], 0);
  lines.push(
    changed === 0
      ? `Nothing changed: all ${same} row(s) were already up to date.`
      : `${changed} row(s) written, ${same} unchanged.`,
  );
  return `${lines.join('\n')}\n`;
}

/** Run the import (or the dry run); output on stdout, errors thrown as AppError. */
async function importRelica(program: Command, file: string, o: ImportOptions): Promise<void> {
  const notes: string[] = [];
  const password = await passwordSource(o, notes);
  const { applyImportPlan, formatPlan, loadRelicaState, planImport } = await import('../../relica/index.js');
  const loaded = await loadRelicaState(file);
  const options: PlanOptions = {};
  if (o.repositoryUrl !== undefined) options.repositoryUrl = o.repositoryUrl;
  if (password !== undefined) options.password = password;
  const plan = planImport(loaded, o.device, options);
  plan.warnings.push(...notes);
  process.stdout.write(formatPlan(plan));
  if (o.dryRun) {
    process.stdout.write('\nDry run: nothing was written. Run the same command without --dry-run to import.\n');
    return;
  }
  const local = await loadConfig(program.opts<GlobalOptions>());
  const result = await withDatabase(local, (db) => applyImportPlan(db, plan));
  process.stdout.write(formatResult(result));
  if (local.device.id.toLowerCase() !== plan.device.id) {
    process.stdout.write(
      `\nNote: the config's device.id is "${local.device.id}". The agent that should run these jobs needs ` +
        `device.id "${plan.device.id}" in its config.yaml.\n`,
    );
  }
}

/** Register `import-relica` on `program`. */
export function registerImportRelicaCommand(program: Command): void {
  program
    .command('import-relica <file>')
    .description(
      "import a Relica state file: the chosen origin's backups become jobs (same UUIDs, so the snapshot history continues)",
    )
    .requiredOption('--device <name-or-id>', 'the Relica origin to import (name or UUID); it becomes the device')
    .option('--dry-run', 'print the plan and write nothing (no database is opened)')
    .option(
      '--repository-url <url>',
      'restic repository of the Relica destination (else the one configured in rbackup2)',
    )
    .option('--password-file <file>', 'file holding the repository password (with --repository-url)')
    .option('--password-command <command>', 'command printing the repository password (with --repository-url)')
    .action(async (file: string, o: ImportOptions) => importRelica(program, file, o));
}

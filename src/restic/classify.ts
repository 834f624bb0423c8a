/**
 * What a failed restic command means, from its exit code and its stderr (the one classifier every
 * command module and the backup outcome use). Pure.
 *
 * Exit codes from restic's docs (doc/075_scripting.rst, "Exit codes"): 0 success, 1 failure,
 * 2 Go runtime error, 3 backup could not read some source data / forget could not remove some
 * snapshots, 10 repository does not exist (0.17.0+), 11 failed to lock (0.17.0+), 12 wrong
 * password (0.17.1+), 130 cancelled. restic 0.14-0.16 exit 1 for all of 10-12 and say why on
 * stderr (fixtures 04, 08, 09, 27, 30, 39, 40 of test/fixtures/restic-0.14); 0.18+ also print a
 * final `{"message_type":"exit_error","code":N,"message":"..."}` on stderr with --json.
 */
import { describeLockHolder, parseLockMessage } from './lock-message.js';

/** Why a restic command failed. */
export type ResticFailureKind =
  | 'repository_missing'
  | 'repository_exists'
  | 'locked'
  | 'wrong_password'
  | 'password_missing'
  | 'source_missing'
  | 'invalid_arguments'
  | 'restic_missing'
  | 'cancelled'
  | 'timed_out'
  | 'bad_output'
  | 'unknown';

/** The kind an exit code alone tells (restic 0.17+), or null. */
export function failureKindFromExitCode(exitCode: number | null): ResticFailureKind | null {
  switch (exitCode) {
    case 10:
      return 'repository_missing';
    case 11:
      return 'locked';
    case 12:
      return 'wrong_password';
    case 130:
      return 'cancelled';
    default:
      return null;
  }
}

/** Recognise a failure from stderr text (0.14-0.16) or an exit_error message (0.18+); null if unknown. */
export function failureKindFromText(text: string): ResticFailureKind | null {
  if (/repository is already locked|unable to create lock in backend|failed to lock repository/i.test(text))
    return 'locked';
  if (/wrong password or no key found/i.test(text)) return 'wrong_password';
  if (
    /empty password is not a password|reading repository password from stdin|Please specify repository password/i.test(
      text,
    )
  )
    return 'password_missing';
  if (/config file already exists|repository master key and config already initialized/i.test(text))
    return 'repository_exists';
  if (
    /Is there a repository at the following location\?|repository does not exist|unable to open config file/i.test(text)
  )
    return 'repository_missing';
  if (/all (?:target|source) directories\/files do not exist/i.test(text)) return 'source_missing';
  if (/unknown flag:|unknown shorthand flag|invalid argument .* for .* flag|unknown command/i.test(text))
    return 'invalid_arguments';
  return null;
}

/** The text after restic's `Fatal: ` prefix on the first line that has one, or null. */
export function fatalLine(lines: readonly string[]): string | null {
  const fatal = lines.find((l) => l.startsWith('Fatal: '));
  return fatal ? fatal.slice('Fatal: '.length).trim() : null;
}

/** Listing of a few items: `a, b, c and 4 more`. */
export function listItems(items: readonly string[], total: number, max = 3): string {
  const shown = items.slice(0, max).join(', ');
  const more = total - Math.min(items.length, max);
  return more > 0 ? `${shown} and ${more} more` : shown;
}

/**
 * One human sentence for a failure of `kind`. `lines` is restic's stderr (cleaned), `detail` the
 * most telling line (exit_error message, Fatal line), `what` what did not happen ("the backup",
 * "restic forget").
 */
export function failureMessage(
  kind: ResticFailureKind,
  lines: readonly string[],
  detail: string | null,
  what = 'the backup',
): string {
  const text = lines.join('\n');
  switch (kind) {
    case 'locked': {
      const lock = parseLockMessage(text);
      return lock
        ? `The repository is locked by ${describeLockHolder(lock)}; ${what} did not run.`
        : `The repository is locked by another restic process; ${what} did not run.`;
    }
    case 'wrong_password':
      return 'The repository password is wrong (restic found no key for it).';
    case 'password_missing':
      return 'No repository password reached restic; set the repository password, password file or password command.';
    case 'repository_exists':
      return `A restic repository already exists there${detail ? ` (${detail})` : ''}.`;
    case 'repository_missing': {
      const loc = lines[lines.findIndex((l) => l.startsWith('Is there a repository at the following location?')) + 1];
      return `There is no restic repository at ${loc && !loc.startsWith('Is there') ? loc.trim() : 'the configured location'}; initialise it with "restic init" or fix the repository URL.`;
    }
    case 'source_missing': {
      // restic 0.14+ prints "<path> does not exist, skipping" for each before the fatal line.
      const missing = lines.map((l) => /^(.*) does not exist, skipping$/.exec(l)?.[1]).filter((p): p is string => !!p);
      return missing.length > 0
        ? `None of the source paths exist (${listItems(missing, missing.length)}), so nothing was backed up.`
        : 'None of the source paths exist, so nothing was backed up.';
    }
    case 'invalid_arguments': {
      const flag = /unknown (?:shorthand )?flag: '?([^\s']+)'?/.exec(text)?.[1];
      return flag
        ? `restic does not know the option ${flag}; remove it from the job's restic_args.`
        : `restic rejected its arguments: ${detail ?? 'see the output'}.`;
    }
    default:
      return detail ? `restic failed: ${detail}` : 'restic failed; see the output for details.';
  }
}

/** End a message with a full stop unless it already ends with punctuation. */
export function sentence(s: string): string {
  const t = s.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/**
 * The allow-list of `restic_args` (case C30). restic_args may add backup options, never change
 * what rbackup2 controls: repository, password, tags, paths, parent, cache, JSON mode, or whether
 * a snapshot is written. Arguments are read with restic's flag grammar (spf13/pflag): `--name`,
 * `--name=value`, `--name value`, `-x`, combined short flags `-xvH value` / `-xHvalue` /
 * `-H=value`, `--` (everything after it is a path), and bare words (paths). Pure.
 *
 * Source of the flag list: `restic backup --help` of 0.14 .. 0.18 (backup and global flags).
 */

/** An option restic_args may carry; `value` = takes a value, `file` = that value is a path. */
interface AllowedFlag {
  long: string;
  short?: string;
  value: boolean;
  file?: boolean;
}

const ALLOWED: readonly AllowedFlag[] = [
  { long: 'exclude', short: 'e', value: true },
  { long: 'iexclude', value: true },
  { long: 'exclude-file', value: true, file: true },
  { long: 'iexclude-file', value: true, file: true },
  { long: 'exclude-caches', value: false },
  { long: 'exclude-if-present', value: true },
  { long: 'exclude-larger-than', value: true },
  { long: 'exclude-cloud-files', value: false },
  { long: 'one-file-system', short: 'x', value: false },
  { long: 'ignore-ctime', value: false },
  { long: 'ignore-inode', value: false },
  { long: 'with-atime', value: false },
  { long: 'use-fs-snapshot', value: false },
  { long: 'no-scan', value: false },
  { long: 'read-concurrency', value: true },
  { long: 'host', short: 'H', value: true },
  { long: 'force', short: 'f', value: false },
  { long: 'skip-if-unchanged', value: false },
  { long: 'limit-upload', value: true },
  { long: 'limit-download', value: true },
  { long: 'compression', value: true },
  { long: 'pack-size', value: true },
  { long: 'verbose', short: 'v', value: false },
  { long: 'quiet', short: 'q', value: false },
  { long: 'cleanup-cache', value: false },
  { long: 'insecure-tls', value: false },
  { long: 'cacert', value: true, file: true },
  { long: 'tls-client-cert', value: true, file: true },
  { long: 'option', short: 'o', value: true },
  { long: 'retry-lock', value: true },
  { long: 'stuck-request-timeout', value: true },
  { long: 'http-user-agent', value: true },
];

/** Options refused with the reason (the rest of the unknown ones: "not on the allow-list"). */
const REFUSED: Readonly<Record<string, string>> = {
  repo: 'the repository is set by rbackup2',
  r: 'the repository is set by rbackup2',
  'repository-file': 'the repository is set by rbackup2',
  'password-file': 'the password is set by rbackup2',
  p: 'the password is set by rbackup2',
  'password-command': 'the password is set by rbackup2',
  password: 'the password is set by rbackup2',
  'insecure-no-password': 'the password is set by rbackup2',
  'key-hint': 'the password is set by rbackup2',
  tag: 'the tags are set by rbackup2',
  'files-from': 'the paths are set by rbackup2',
  'files-from-verbatim': 'the paths are set by rbackup2',
  'files-from-raw': 'the paths are set by rbackup2',
  stdin: 'the paths are set by rbackup2',
  'stdin-filename': 'the paths are set by rbackup2',
  'stdin-from-command': 'the paths are set by rbackup2',
  parent: 'the parent snapshot is chosen by rbackup2',
  'group-by': 'the parent snapshot is chosen by rbackup2',
  'cache-dir': 'the cache is set by rbackup2',
  'no-cache': 'the cache is set by rbackup2',
  'dry-run': 'a backup always writes a snapshot',
  n: 'a backup always writes a snapshot',
  json: 'the JSON mode is set by rbackup2',
  time: 'the snapshot time is set by restic',
};

/** `-o key=value` keys refused: they replace the ssh command rbackup2 builds (C27, C35). */
const REFUSED_OPTION_KEYS: ReadonlySet<string> = new Set(['sftp.command', 'sftp.args']);

const BY_LONG = new Map(ALLOWED.map((f) => [f.long, f]));
const BY_SHORT = new Map(ALLOWED.filter((f) => f.short).map((f) => [f.short as string, f]));

/** One option as parsed: its argv tokens, long name, value (or null). */
export interface ParsedOption {
  tokens: string[];
  name: string;
  value: string | null;
}

export interface ResticArgsCheck {
  /** The allowed options in order. */
  options: ParsedOption[];
  /** One sentence per refused argument, naming it. */
  problems: string[];
}

function fileProblem(flag: AllowedFlag, value: string): string | null {
  if (!flag.file || value.startsWith('/') || /^[A-Za-z]:[\\/]/.test(value) || value.startsWith('\\\\')) return null;
  return `restic_args --${flag.long} "${value}" is a relative path (it would depend on the agent's working folder); give an absolute path`;
}

function valueProblem(flag: AllowedFlag, value: string, shown: string): string | null {
  if (flag.long === 'option') {
    const key = value.split('=')[0]?.trim().toLowerCase() ?? '';
    if (REFUSED_OPTION_KEYS.has(key))
      return `restic_args ${shown} is not allowed: ${key} is set by rbackup2 (ssh with time-outs)`;
  }
  return fileProblem(flag, value);
}

function refusal(name: string, shown: string): string {
  const why = REFUSED[name];
  return why
    ? `restic_args ${shown} is not allowed: ${why}`
    : `restic_args ${shown} is not an allowed backup option (see the restic_args allow-list)`;
}

/**
 * Parse `args` with restic's grammar and split them into allowed options and problems (each
 * naming the argument). Never throws.
 */
export function checkResticArgs(args: readonly string[]): ResticArgsCheck {
  const out: ResticArgsCheck = { options: [], problems: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      out.problems.push(
        `restic_args "--" is not allowed: everything after it would be backed up as a path${
          args.length > i + 1
            ? ` (${args
                .slice(i + 1)
                .map((a) => `"${a}"`)
                .join(', ')})`
            : ''
        }`,
      );
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.problems.push(
        `restic_args "${arg}" is not allowed: a bare argument is a path, and the paths are set by rbackup2`,
      );
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq > 0 ? eq : undefined);
      const flag = BY_LONG.get(name);
      let value: string | null = eq > 0 ? arg.slice(eq + 1) : null;
      const tokens = [arg];
      if (flag?.value && value === null) {
        if (i + 1 >= args.length) {
          out.problems.push(`restic_args ${arg} needs a value`);
          continue;
        }
        value = args[++i] ?? '';
        tokens.push(value);
      } else if (
        !flag &&
        REFUSED[name] &&
        value === null &&
        !['dry-run', 'no-cache', 'stdin', 'json', 'insecure-no-password'].includes(name)
      ) {
        if (i + 1 < args.length) tokens.push(args[++i] ?? ''); // its value goes with it
      }
      if (!flag) {
        out.problems.push(refusal(name, `"${tokens.join(' ')}"`));
        continue;
      }
      const p = value !== null && flag.value ? valueProblem(flag, value, `"${tokens.join(' ')}"`) : null;
      if (p) {
        out.problems.push(p);
        continue;
      }
      out.options.push({ tokens, name: flag.long, value });
      continue;
    }
    // Short flags, possibly combined: each is a bool until one takes the rest (or the next arg) as value.
    const tokens = [arg];
    let bad: string | null = null;
    let valueFlag: AllowedFlag | null = null;
    let value: string | null = null;
    for (let k = 1; k < arg.length; k++) {
      const c = arg[k] as string;
      const flag = BY_SHORT.get(c);
      const takesValue = flag ? flag.value : !['n'].includes(c);
      if (!flag) bad ??= c;
      if (takesValue) {
        let rest = arg.slice(k + 1);
        if (rest.startsWith('=')) rest = rest.slice(1);
        if (rest === '' && arg.slice(k + 1) === '') {
          if (i + 1 < args.length) {
            rest = args[++i] ?? '';
            tokens.push(rest);
          } else if (flag) {
            out.problems.push(`restic_args -${c} needs a value`);
            bad = '\0';
            break;
          }
        }
        if (flag) {
          valueFlag = flag;
          value = rest;
        }
        break;
      }
    }
    if (bad === '\0') continue;
    if (bad !== null) {
      out.problems.push(refusal(bad, `"${tokens.join(' ')}" (-${bad})`));
      continue;
    }
    const p = valueFlag && value !== null ? valueProblem(valueFlag, value, `"${tokens.join(' ')}"`) : null;
    if (p) {
      out.problems.push(p);
      continue;
    }
    out.options.push({ tokens, name: valueFlag?.long ?? BY_SHORT.get(arg[1] as string)?.long ?? '', value });
  }
  return out;
}

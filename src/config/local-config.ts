/**
 * Loading the local bootstrap config (CONTRACTS §2): find the file, parse the YAML, apply the
 * `RBACKUP2_*` environment overrides, validate with the one schema, fill defaults, resolve paths.
 * The result is frozen: options are checked and defaulted once, where they enter.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type * as z from 'zod';
import { AppError, type FieldError } from '../errors.js';
import { deviceSchema, localConfigSchema, type LocalConfigInput } from './local-schema.js';
import { applyEnvOverrides } from './env-overrides.js';

export interface LocalConfig extends LocalConfigInput {
  /** Absolute path of the file this came from. */
  sourceFile: string;
  /** client.data_dir and client.log_file made absolute (relative to the config file's folder). */
  dataDir: string;
  logFile: string;
  /** True when no `database` section is given: the embedded PGlite under data_dir is used. */
  embedded: boolean;
}

/**
 * The config of an admin command (migrate, device, repo, job, schedule, setting): the same file,
 * but `device` may be left out, since an admin's machine need not be a device of the fleet.
 * `device.id` is null then; commands that need a device take `--device`.
 */
export interface AdminLocalConfig extends Omit<LocalConfig, 'device'> {
  device: { id: string | null; name?: string };
}

const adminConfigSchema = localConfigSchema.extend({ device: deviceSchema.partial({ id: true }).optional() });

/**
 * Which config file to use: the `--config` value if given, else `./config.yaml`, falling back to
 * `./config.example.yaml` (CONTRACTS §1). Throws CONFIG_NOT_FOUND naming what was tried.
 */
export function resolveConfigPath(explicit: string | undefined, cwd: string): string {
  if (explicit) {
    const p = path.resolve(cwd, explicit);
    if (!existsSync(p)) throw new AppError('CONFIG_NOT_FOUND', `config file ${p} does not exist`);
    return p;
  }
  for (const name of ['config.yaml', 'config.example.yaml']) {
    const p = path.resolve(cwd, name);
    if (existsSync(p)) return p;
  }
  throw new AppError(
    'CONFIG_NOT_FOUND',
    `no config file: neither ${path.resolve(cwd, 'config.yaml')} nor config.example.yaml exists (use --config FILE)`,
  );
}

function issueToFieldErrors(issue: z.core.$ZodIssue): FieldError[] {
  const base = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => ({ field: base ? `${base}.${k}` : k, message: 'unknown key' }));
  }
  const message =
    issue.code === 'invalid_type' && /received undefined$/.test(issue.message) ? 'is required' : issue.message;
  return [{ field: base || '(top level)', message }];
}

/** One line listing every problem, each naming its field and the file. */
export function formatConfigErrors(file: string, errors: FieldError[]): string {
  return (
    `${file}: ` +
    errors
      .map((e) => (e.message === 'unknown key' ? `unknown key "${e.field}"` : `${e.field}: ${e.message}`))
      .join('; ')
  );
}

/**
 * Parse and validate config text. `env` supplies the overrides (pass `{}` for none).
 * Throws AppError CONFIG_INVALID with `fields` set and a one-line message naming the file.
 */
export function parseLocalConfig(text: string, file: string, env: NodeJS.ProcessEnv): LocalConfig {
  return parseConfig(text, file, env, false) as LocalConfig;
}

/** As parseLocalConfig, with `device` (or `device.id`) optional: see AdminLocalConfig. */
export function parseAdminConfig(text: string, file: string, env: NodeJS.ProcessEnv): AdminLocalConfig {
  return parseConfig(text, file, env, true);
}

function parseConfig(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv,
  admin: boolean,
): LocalConfig | AdminLocalConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}: ` : '';
    const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new AppError('CONFIG_INVALID', `${file}: ${where}YAML syntax error: ${what}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AppError(
      'CONFIG_INVALID',
      `${file}: the top level must be a mapping with device, database, client, metrics`,
    );
  }
  const { merged, errors: envErrors } = applyEnvOverrides(raw as Record<string, unknown>, env);
  const parsed = (admin ? adminConfigSchema : localConfigSchema).safeParse(merged);
  const errors = [...envErrors, ...(parsed.success ? [] : parsed.error.issues.flatMap(issueToFieldErrors))];
  if (errors.length > 0 || !parsed.success) {
    throw new AppError('CONFIG_INVALID', formatConfigErrors(file, errors), { fields: errors });
  }
  const cfg = parsed.data;
  const dbProblems = checkDatabaseSection(cfg.database);
  if (dbProblems.length > 0)
    throw new AppError('CONFIG_INVALID', formatConfigErrors(file, dbProblems), { fields: dbProblems });
  const dir = path.dirname(file);
  const result: LocalConfig | AdminLocalConfig = {
    ...cfg,
    device: { ...cfg.device, id: cfg.device?.id ?? null },
    sourceFile: file,
    dataDir: path.resolve(dir, cfg.client.data_dir),
    logFile: path.resolve(dir, cfg.client.log_file),
    embedded: cfg.database === undefined,
  };
  return deepFreeze(result);
}

/** A database section needs either a url or at least a host. */
function checkDatabaseSection(db: LocalConfigInput['database']): FieldError[] {
  if (!db) return [];
  if (!db.url && !db.host)
    return [
      {
        field: 'database',
        message: 'needs url, or host (with user, password, dbname); omit the section for the embedded database',
      },
    ];
  return [];
}

/** Read, parse and validate the config file at `file` (absolute). */
export function loadLocalConfig(file: string, env: NodeJS.ProcessEnv): LocalConfig {
  return parseLocalConfig(readConfigText(file), file, env);
}

/** Read, parse and validate the config file of an admin command (device optional). */
export function loadAdminConfig(file: string, env: NodeJS.ProcessEnv): AdminLocalConfig {
  return parseAdminConfig(readConfigText(file), file, env);
}

function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new AppError(
      'CONFIG_NOT_FOUND',
      `config file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

function deepFreeze<T>(obj: T): T {
  if (obj && typeof obj === 'object') {
    for (const v of Object.values(obj)) deepFreeze(v);
    Object.freeze(obj);
  }
  return obj;
}

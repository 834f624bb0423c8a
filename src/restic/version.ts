/**
 * restic version discovery and feature gates. Facts from restic's changelog and docs:
 * `--retry-lock` appeared in 0.16.0, `--skip-if-unchanged` and exit codes 10/11/12 in 0.17.0,
 * `version --json` (`{"message_type":"version","version":"0.17.0","go_version":..,"go_os":..,
 * "go_arch":..}`) in 0.17.0; older versions ignore `--json` there and print
 * `restic 0.14.0 compiled with go1.19.8 on linux/amd64` (fixtures 01, 02).
 */
import { spawn as nodeSpawn } from 'node:child_process';
import { AppError } from '../errors.js';

export interface ResticVersion {
  major: number;
  minor: number;
  patch: number;
  /** The version text as restic printed it, e.g. `0.14.0` or `0.17.3-dev`. */
  raw: string;
}

/** Features whose presence depends on the restic version. */
export type ResticFeature =
  'retry-lock' | 'skip-if-unchanged' | 'exit-codes-10-12' | 'version-json' | 'error-message-object' | 'no-scan';

const FEATURE_SINCE: Readonly<Record<ResticFeature, readonly [number, number]>> = Object.freeze({
  'no-scan': [0, 15],
  'retry-lock': [0, 16],
  'skip-if-unchanged': [0, 17],
  'exit-codes-10-12': [0, 17],
  'version-json': [0, 17],
  'error-message-object': [0, 17],
});

/** True when `version` is at least major.minor. */
export function atLeast(version: ResticVersion, major: number, minor: number, patch = 0): boolean {
  if (version.major !== major) return version.major > major;
  if (version.minor !== minor) return version.minor > minor;
  return version.patch >= patch;
}

/** Whether this restic version has the feature (see FEATURE_SINCE; facts from restic's changelog). */
export function supports(version: ResticVersion, feature: ResticFeature): boolean {
  const [maj, min] = FEATURE_SINCE[feature];
  return atLeast(version, maj, min);
}

const TEXT_RE = /restic\s+v?(\d+)\.(\d+)\.(\d+)([0-9A-Za-z.+-]*)/;

/**
 * Parse the output of `restic version` or `restic version --json` (text of 0.14..0.16, JSON of
 * 0.17+). Returns null when the text is neither form.
 */
export function parseResticVersion(output: string): ResticVersion | null {
  const text = output.trim();
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith('{')) continue;
    try {
      const obj = JSON.parse(line) as { message_type?: unknown; version?: unknown };
      if (typeof obj.version === 'string') {
        const v = parseNumbers(obj.version);
        if (v) return v;
      }
    } catch {
      // not JSON: fall through to the text form
    }
  }
  const m = TEXT_RE.exec(text);
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), raw: `${m[1]}.${m[2]}.${m[3]}${m[4] ?? ''}` };
}

function parseNumbers(raw: string): ResticVersion | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(raw.trim());
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), raw: raw.trim() };
}

/** Format as `0.14.0`. */
export function formatVersion(v: ResticVersion): string {
  return v.raw || `${v.major}.${v.minor}.${v.patch}`;
}

/** The subset of child_process.spawn that discovery needs (injected in tests). */
export type SpawnFn = typeof nodeSpawn;

const DISCOVERY_TIMEOUT_MS = 15_000;
const MAX_OUTPUT = 64 * 1024;

/**
 * Run `<binary> version --json` once (no shell) and parse it. `binary` is a name on PATH or a path.
 * Returns the binary as given and its version. Throws AppError('RESTIC_MISSING') when the binary
 * is absent, not executable, times out (15 s), exits non-zero or prints no version.
 */
export function discoverRestic(
  binary: string,
  spawnFn: SpawnFn = nodeSpawn,
): Promise<{ path: string; version: ResticVersion }> {
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown) =>
      reject(
        new AppError(
          'RESTIC_MISSING',
          `restic binary "${binary}" ${why}; install restic or set client.restic_binary to its full path`,
          cause === undefined ? undefined : { cause },
        ),
      );
    let child;
    try {
      child = spawnFn(binary, ['version', '--json'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        shell: false,
        windowsHide: true,
      });
    } catch (err) {
      fail('could not be started', err);
      return;
    }
    let out = '';
    let errText = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, DISCOVERY_TIMEOUT_MS);
    child.stdout?.on('data', (d: Buffer) => {
      if (out.length < MAX_OUTPUT) out += d.toString('utf8');
    });
    child.stderr?.on('data', (d: Buffer) => {
      if (errText.length < MAX_OUTPUT) errText += d.toString('utf8');
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(
        err.code === 'ENOENT' ? 'was not found' : err.code === 'EACCES' ? 'is not executable' : 'could not be started',
        err,
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const detail = errText.trim().split(/\r?\n/)[0] ?? '';
        fail(
          signal
            ? `was killed (${signal}) while printing its version`
            : `exited with code ${code}${detail ? `: ${detail}` : ''}`,
        );
        return;
      }
      const version = parseResticVersion(out);
      if (!version) {
        fail(`printed no restic version (got "${out.trim().slice(0, 80)}")`);
        return;
      }
      resolve({ path: binary, version });
    });
  });
}

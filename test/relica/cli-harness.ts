/**
 * Running the real CLI (`node dist/main.js`, built by test/global-setup.ts) for the Relica import
 * tests, with a temp config.yaml pointing at a fresh PostgreSQL database or a PGlite data folder.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './fixture.js';

export const MAIN_JS = path.resolve(repoRoot, 'dist/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `node dist/main.js ...args` (stdin closed, so no prompt can wait; no RBACKUP2_* from the runner); resolves on exit. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 90_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // RBACKUP2_* variables of the test runner (e.g. RBACKUP2_SKIP_BUILD) would be read as config overrides.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RBACKUP2_')));
    const child = spawn(process.execPath, [MAIN_JS, ...args], {
      cwd: repoRoot,
      env: { ...inherited, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rbackup2 ${args.join(' ')} did not exit in ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Write `<dataDir>/config.yaml` for device `deviceId`: PostgreSQL at `pgUrl`, or (no URL) the
 * embedded PGlite under `<dataDir>/db`. Returns the file's path.
 */
export function writeConfig(dataDir: string, deviceId: string, pgUrl?: string): string {
  const lines = [
    'device:',
    `  id: "${deviceId}"`,
    ...(pgUrl ? ['database:', `  url: "${pgUrl}"`] : []),
    'client:',
    '  http_bind: "127.0.0.1:0"',
    `  data_dir: "${dataDir}"`,
    `  log_file: "${path.join(dataDir, 'rbackup2.log')}"`,
    '  restic_binary: "restic"',
  ];
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'config.yaml');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

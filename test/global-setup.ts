/**
 * Builds dist/ once before the suite: tests that spawn `node dist/main.js` (the real CLI, as a user
 * or a service manager runs it) need the compiled agent. `npm test` builds too; this keeps
 * `npx vitest run <file>` working on its own.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export default function setup(): void {
  if (process.env.RB2_TEST_SKIP_BUILD === '1') return;
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: path.resolve(import.meta.dirname, '..'), stdio: 'inherit' });
}

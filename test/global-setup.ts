/**
 * Builds dist/ once before the suite (`npm run build`: tsc, then the esbuild bundle of the CLI):
 * tests that spawn `node dist/main.js` (the real CLI, as a user or a service manager runs it) need
 * the built agent, bundled as it ships. `npm test` builds too; this keeps `npx vitest run <file>`
 * working on its own.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export default function setup(): void {
  if (process.env.RB2_TEST_SKIP_BUILD === '1') return;
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: path.resolve(import.meta.dirname, '..'), stdio: 'inherit' });
}

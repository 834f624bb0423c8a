import { defineConfig } from 'vitest/config';

// Tests use real restic, PostgreSQL and PGlite; they are slower than pure unit tests, so time-outs
// are generous and files run in parallel only up to the machine's two cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    pool: 'forks',
    // expect.poll gives up after 1 s by default: too short for a browser step or an agent's answer
    // while the other worker runs restic or PGlite on a 2-core machine.
    expect: { poll: { timeout: 15_000 } },
    reporters: ['default'],
  },
});

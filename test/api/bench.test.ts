import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { startHarness, type Harness } from './harness.js';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('bench/api.mjs', () => {
  it('loads GET /status for a short run and reports requests/s and p99', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        path.join(repoRoot, 'bench/api.mjs'),
        h.url,
        '--duration',
        '2',
        '--rate',
        '200',
        '--workers',
        '4',
        '--token',
        h.token,
      ],
      { timeout: 30_000 },
    );
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.errors).toBe(0);
    // What the bench does, not how fast this machine is (speed is the bench's figure, printed):
    // it sent requests for the whole run and its rate cap (--rate 200) held.
    expect(result.requests).toBeGreaterThan(20);
    expect(result.requestsPerSecond).toBeGreaterThan(10);
    expect(result.requestsPerSecond).toBeLessThan(260);
    expect(result.latencyMs.p99).toBeGreaterThan(0);
    expect(stdout).toMatch(/requests\/s: [\d.]+ {2}p99: [\d.]+ ms/);
  });
});
